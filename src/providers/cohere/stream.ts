import { z } from "zod";
import { type ChatChunk, type ChunkChoice, hasUsage, mergeUsage, toOpenAIUsage } from "../../core/wire/index.ts";
import { ProviderFailure, cutStreamError, malformedBodyError } from "../_shared/errors.ts";
import type { SseEvent } from "../_shared/sse.ts";
import type { StreamState } from "../_shared/stream.ts";
import { GatewayError } from "../../core/errors.ts";
import { cohereUsageSchema, finishReasonFromCohere, fromCohereUsage } from "./chat.ts";

/**
 * Cohere v2 chat stream -> canonical chunks (docs/behaviour/providers.md#cohere;
 * https://docs.cohere.com/reference/chat-stream, https://docs.cohere.com/docs/streaming). Each `data:` JSON has a
 * `type`: message-start, content-start, content-delta (`delta.message.content.text`, or `.thinking` on reasoning
 * models), content-end, tool-plan-delta, tool-call-start / tool-call-delta / tool-call-end (`index` = the call's
 * index), citation-start/end, message-end (`delta.finish_reason`, `delta.usage`). A body that ends after events but
 * before message-end was cut.
 */

/** message-start carries the full message's empty arrays where deltas carry single objects: arrays read as absent. */
const single = <S extends z.ZodType>(schema: S) => z.preprocess((v) => (Array.isArray(v) ? null : v), schema.nullish());

const eventSchema = z
  .object({
    type: z.string(),
    id: z.string().nullish(),
    index: z.number().nullish(),
    delta: z
      .object({
        finish_reason: z.string().nullish(),
        usage: cohereUsageSchema.nullish(),
        message: z
          .object({
            content: single(z.object({ text: z.string().nullish(), thinking: z.string().nullish() }).loose()),
            tool_plan: z.string().nullish(),
            tool_calls: single(
              z
                .object({
                  id: z.string().nullish(),
                  function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).loose().nullish(),
                })
                .loose(),
            ),
          })
          .loose()
          .nullish(),
      })
      .loose()
      .nullish(),
  })
  .loose();

function streamError(json: unknown): GatewayError {
  return new GatewayError(502, "LLM provider error", {
    code: "provider_error",
    cause: new ProviderFailure(`error event in stream: ${JSON.stringify(json).slice(0, 1000)}`, null),
  });
}

export function decodeCohereChunks(model: string) {
  return async function* decode(events: AsyncIterable<SseEvent>, state: StreamState): AsyncGenerator<ChatChunk> {
    let id = "";
    const created = Math.floor(Date.now() / 1000);
    const chunk = (delta: ChunkChoice["delta"], finish: string | null = null): ChatChunk => ({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    let started = false;
    for await (const sse of events) {
      const data = sse.data.trim();
      if (!data || data === "[DONE]") continue;
      started = true;
      let json: unknown;
      try {
        json = JSON.parse(data);
      } catch (err) {
        throw malformedBodyError("inference", `cohere stream data is not JSON (${data.slice(0, 80)})`, err);
      }
      const parsed = eventSchema.safeParse(json);
      // an error object instead of an event (`{"message": ...}` without a type, or type "error")
      if (!parsed.success || parsed.data.type === "error") {
        if (json && typeof json === "object" && ("message" in json || "error" in json)) throw streamError(json);
        throw malformedBodyError(
          "inference",
          parsed.success ? "cohere error event" : parsed.error.message.slice(0, 300),
        );
      }
      const ev = parsed.data;
      const msg = ev.delta?.message;
      switch (ev.type) {
        case "message-start":
          id = ev.id ?? id;
          yield chunk({ role: "assistant", content: "" });
          break;
        case "content-delta":
          if (msg?.content?.text) {
            state.contentSeen = true;
            yield chunk({ content: msg.content.text });
          } else if (msg?.content?.thinking) {
            state.contentSeen = true;
            yield chunk({ reasoning: { content: msg.content.thinking } });
          }
          break;
        case "tool-plan-delta":
          if (msg?.tool_plan) {
            state.contentSeen = true;
            yield chunk({ reasoning: { content: msg.tool_plan } });
          }
          break;
        case "tool-call-start": {
          const call = msg?.tool_calls;
          state.contentSeen = true;
          yield chunk({
            tool_calls: [
              {
                index: ev.index ?? 0,
                id: call?.id ?? `call_${ev.index ?? 0}`,
                type: "function",
                function: { name: call?.function?.name ?? "", arguments: call?.function?.arguments ?? "" },
              },
            ],
          });
          break;
        }
        case "tool-call-delta": {
          const args = msg?.tool_calls?.function?.arguments;
          if (args) yield chunk({ tool_calls: [{ index: ev.index ?? 0, function: { arguments: args } }] });
          break;
        }
        case "message-end":
          state.usage = mergeUsage(state.usage, fromCohereUsage(ev.delta?.usage));
          yield chunk({}, finishReasonFromCohere(ev.delta?.finish_reason));
          if (hasUsage(state.usage)) yield { ...chunk({}), choices: [], usage: toOpenAIUsage(state.usage) };
          return;
        default:
          break; // content-start/end, tool-call-end, citation-*, debug
      }
    }
    if (started) throw cutStreamError("message-end");
  };
}
