import { describe, expect, test } from "bun:test";
import type { ProviderFailure } from "../_shared/errors.ts";
import type { MockServer } from "../_mocks/index.ts";
import type { Capable } from "../capabilities.ts";
import type { ProviderSettings } from "../types.ts";
import { type ContractTarget, chatReq, drain, expectMapped, gatewayError, targetSettings } from "./harness.ts";

/**
 * Chat failures: the status mapping of docs/behaviour/errors.md#provider-failures before the first byte (JSON and
 * stream), mid-stream failures, timeouts, cancel.
 */
export function failureContract(t: ContractTarget, p: Capable<"chat" | "stream">, mock: () => MockServer): void {
  // the transport's timing scenarios run on the target named by timingCoveredBy, not again here
  const timed = (name: string, fn: () => void) => {
    if (!t.timingCoveredBy) describe(name, fn);
  };
  const settingsFor = (m: MockServer, over: Partial<ProviderSettings> = {}) => targetSettings(t, m, over);
  const hinted = t.retryHint ?? true;

  describe("upstream error statuses", () => {
    for (const status of t.errorStatuses) {
      test(`${status}, JSON and stream open alike`, async () => {
        const m = mock();
        // thunks: a second promise created up front would reject unobserved while the first is awaited
        for (const call of [
          () => p.chat(chatReq(`error-${status}`), settingsFor(m)),
          () => p.chatStream(chatReq(`error-${status}`), settingsFor(m)),
        ]) {
          expectMapped(await gatewayError(call()), status, "inference", hinted);
        }
      });
    }

    test("400 shows the provider's message with secrets redacted", async () => {
      const err = await gatewayError(p.chat(chatReq("error-400"), settingsFor(mock())));
      expect(err.message).toContain("[REDACTED]");
      expect(err.message).not.toMatch(/sk-(proj|ant)/);
      expect(err.message).not.toContain("abc.def.ghi");
    });

    test("429 with a sub-second-precision hint (retry-after-ms or the wire's own) -> whole seconds, rounded up", async () => {
      const err = await gatewayError(p.chat(chatReq("error-429-ms"), settingsFor(mock())));
      expect(err.headers["Retry-After"]).toBe(hinted ? "2" : undefined);
    });
  });

  describe("broken upstreams", () => {
    test("malformed JSON body -> 502 LLM provider error", async () => {
      const err = await gatewayError(p.chat(chatReq("malformed"), settingsFor(mock())));
      expect([err.status, err.message]).toEqual([502, "LLM provider error"]);
    });

    test("malformed stream data after the first event -> iteration throws 502", async () => {
      const stream = await p.chatStream(chatReq("malformed"), settingsFor(mock()));
      const err = await gatewayError(drain(stream));
      expect([err.status, err.message]).toEqual([502, "LLM provider error"]);
    });

    test("connection refused -> 502 LLM provider error", async () => {
      const closed = Bun.serve({ port: 0, fetch: () => new Response("") });
      const base = `http://127.0.0.1:${closed.port}`;
      await closed.stop(true);
      const s = { ...settingsFor(mock()), apiBase: base };
      for (const call of [() => p.chat(chatReq("x"), s), () => p.chatStream(chatReq("x"), s)]) {
        const err = await gatewayError(call());
        expect([err.status, err.message]).toEqual([502, "LLM provider error"]);
      }
    });

    test("connection reset mid-stream -> iteration throws 502 after content", async () => {
      const stream = await p.chatStream(chatReq("break-stream+chunks-5"), settingsFor(mock()));
      const err = await gatewayError(drain(stream));
      expect([err.status, err.message]).toEqual([502, "LLM provider error"]);
    });

    test("a body that ends cleanly before the wire's end marker -> iteration throws 502 (a cut, not an end)", async () => {
      const stream = await p.chatStream(chatReq("cut-stream+chunks-5"), settingsFor(mock()));
      const err = await gatewayError(drain(stream));
      expect([err.status, err.message]).toEqual([502, "LLM provider error"]);
      expect((err.cause as ProviderFailure).message).toStartWith("stream cut:");
    });

    test("a 2xx JSON body answering a stream request -> the stream opens and its iteration throws 502", async () => {
      const stream = await p.chatStream(chatReq("json-stream"), settingsFor(mock()));
      const err = await gatewayError(drain(stream));
      expect([err.status, err.message]).toEqual([502, "LLM provider error"]);
      expect((err.cause as ProviderFailure).message).toContain("non-stream body");
    });

    test("error event mid-stream -> iteration throws a mapped error", async () => {
      const stream = await p.chatStream(chatReq("stream-error+chunks-5"), settingsFor(mock()));
      const err = await gatewayError(drain(stream));
      expect(err.status).toBe(502);
    });

    test("error event as the first event -> the open itself fails (no 200 sent)", async () => {
      const err = await gatewayError(p.chatStream(chatReq("error-first"), settingsFor(mock())));
      expect(err.status).toBe(502);
    });
  });

  timed("timeouts and cancellation", () => {
    test("non-stream hang -> 504 LLM provider timeout", async () => {
      const err = await gatewayError(p.chat(chatReq("hang"), settingsFor(mock(), { timeoutMs: 150 })));
      expect([err.status, err.message]).toEqual([504, "LLM provider timeout"]);
    });

    test("stream without a first event in time -> 504 before any byte", async () => {
      const s = settingsFor(mock(), { firstByteTimeoutMs: 150 });
      for (const model of ["hang", "slow-first-byte-1000"]) {
        const err = await gatewayError(p.chatStream(chatReq(model), s));
        expect([err.status, err.message]).toEqual([504, "LLM provider timeout"]);
      }
    });

    test("silence after the first event longer than timeoutMs -> iteration throws 504", async () => {
      const stream = await p.chatStream(chatReq("silent-stream"), settingsFor(mock(), { timeoutMs: 150 }));
      const err = await gatewayError(drain(stream));
      expect([err.status, err.message]).toEqual([504, "LLM provider timeout"]);
    });

    test("cancel() ends iteration quietly and promptly", async () => {
      const stream = await p.chatStream(chatReq("chunks-50+interval-20"), settingsFor(mock()));
      let seen = 0;
      const started = performance.now();
      for await (const _ of stream) {
        seen++;
        if (seen === 3) await stream.cancel();
      }
      expect(seen).toBeLessThan(6);
      expect(performance.now() - started).toBeLessThan(500);
    });

    test("a caller abort rejects with the caller's reason, not a provider error", async () => {
      const controller = new AbortController();
      const reason = new Error("client went away");
      setTimeout(() => controller.abort(reason), 50);
      const call = p.chat(chatReq("hang"), settingsFor(mock()), { signal: controller.signal });
      await expect(call).rejects.toBe(reason);
    });
  });
}
