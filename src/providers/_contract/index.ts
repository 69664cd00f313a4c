import { afterAll, beforeAll, describe } from "bun:test";
import type { MockServer } from "../_mocks/index.ts";
import { failureContract } from "./failures.ts";
import type { ContractTarget } from "./harness.ts";
import { successContract } from "./success.ts";

/**
 * The ONE provider conformance suite (ARCHITECTURE "_contract"): every adapter runs it against its own mock.
 * Call it at the top level of a `*.test.ts` file: `runProviderContract({ label, provider, startMock, ... })`.
 */
export function runProviderContract(target: ContractTarget): void {
  describe(`provider contract: ${target.label}`, () => {
    let server: MockServer | null = null;
    const mock = () => {
      if (!server) throw new Error("mock not started");
      return server;
    };
    beforeAll(() => {
      server = target.startMock();
    });
    afterAll(async () => {
      await server?.stop();
    });
    successContract(target, mock);
    failureContract(target, mock);
  });
}

export type { ContractTarget } from "./harness.ts";
export { API_KEY, chatReq, drain, gatewayError, settingsFor } from "./harness.ts";
