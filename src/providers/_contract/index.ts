import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { MockServer } from "../_mocks/index.ts";
import { CAPABILITIES, CAPABILITY_MEMBERS, type Capability, requireCapability, supports } from "../capabilities.ts";
import type { ProviderSettings } from "../types.ts";
import { batchesContract } from "./batches.ts";
import {
  embeddingsContract,
  imagesContract,
  modelsContract,
  moderationsContract,
  rerankContract,
  speechContract,
  transcriptionContract,
  responsesContract,
} from "./endpoints.ts";
import { failureContract } from "./failures.ts";
import { type ContractTarget, targetSettings } from "./harness.ts";
import { successContract } from "./success.ts";

/**
 * The ONE provider conformance suite (ARCHITECTURE "_contract"): every adapter runs it against its own mock. Each
 * capability's scenarios run when the adapter has its methods; otherwise a test checks that the gateway refuses it with
 * its 400. The target must state expectations for exactly the capabilities the adapter has. Every registered adapter has a
 * target in targets.ts, run by contract.test.ts.
 */
export function runProviderContract(t: ContractTarget): void {
  describe(`provider contract: ${t.label}`, () => {
    let server: MockServer | null = null;
    const mock = () => {
      if (!server) throw new Error("mock not started");
      return server;
    };
    beforeAll(() => {
      server = t.startMock();
    });
    afterAll(async () => {
      await server?.stop();
    });
    const settingsFor = (m: MockServer, over: Partial<ProviderSettings> = {}) => targetSettings(t, m, over);
    const p = t.provider;

    describe("capabilities", () => {
      test("each capability's members are all present or all absent", () => {
        for (const c of CAPABILITIES) {
          const members = [...CAPABILITY_MEMBERS[c]];
          const present = members.filter((m) => typeof p[m] === "function");
          expect({ capability: c, present }).toEqual({ capability: c, present: present.length > 0 ? members : [] });
        }
      });

      test("the target states expectations for exactly the capabilities the adapter has", () => {
        const stated: Record<Capability, unknown> = {
          chat: t.chat,
          stream: t.chat,
          embeddings: t.embeddings,
          moderations: t.moderations,
          responses: t.responses,
          models: t.models,
          batches: t.batches,
          rerank: t.rerank,
          images: t.images,
          speech: t.speech,
          transcription: t.transcription,
        };
        for (const c of CAPABILITIES)
          expect({ capability: c, stated: stated[c] !== undefined }).toEqual({ capability: c, stated: supports(p, c) });
      });
    });

    // What the adapter does not offer is still checked: the gateway refuses it with its 400 before any upstream call.
    const refused = (what: string, ...capabilities: Capability[]) =>
      test(`${what}: not offered, refused with a 400 naming it`, () => {
        const missing = capabilities.filter((c) => !supports(p, c));
        expect(missing.length).toBeGreaterThan(0);
        for (const c of missing) {
          const error = (() => {
            try {
              requireCapability(p, c, "contract");
            } catch (err) {
              return err;
            }
          })();
          expect(error).toMatchObject({ status: 400, message: expect.stringContaining("'contract' does not support") });
        }
      });
    if (supports(p, "chat") && supports(p, "stream") && t.chat) {
      successContract(t, t.chat, p, mock);
      failureContract(t, p, mock);
    } else refused("chat, chat stream and /v1/messages", "chat", "stream");
    if (supports(p, "embeddings") && t.embeddings) embeddingsContract(t, t.embeddings, p, mock, settingsFor);
    else refused("embeddings", "embeddings");
    if (supports(p, "moderations") && t.moderations) moderationsContract(t, t.moderations, p, mock, settingsFor);
    else refused("moderations", "moderations");
    if (supports(p, "responses") && t.responses) responsesContract(t, t.responses, p, mock, settingsFor);
    else refused("Responses API", "responses");
    if (supports(p, "models") && t.models) modelsContract(t, t.models, p, mock, settingsFor);
    else refused("model listing", "models");
    if (supports(p, "batches") && t.batches) batchesContract(t, t.batches, p, mock, settingsFor);
    else refused("batches", "batches");
    if (supports(p, "rerank") && t.rerank) rerankContract(t, t.rerank, p, mock, settingsFor);
    else refused("rerank", "rerank");
    if (supports(p, "images") && t.images) imagesContract(t, t.images, p, mock, settingsFor);
    else refused("image generation", "images");
    if (supports(p, "speech") && t.speech) speechContract(t, t.speech, p, mock, settingsFor);
    else refused("speech", "speech");
    if (supports(p, "transcription") && t.transcription)
      transcriptionContract(t, t.transcription, p, mock, settingsFor);
    else refused("transcription", "transcription");
  });
}

export type { ContractTarget } from "./harness.ts";
export { API_KEY, chatReq, drain, gatewayError, settingsFor } from "./harness.ts";
