import { type ChatChunk, type ChunkChoice, hasUsage, mergeUsage, toOpenAIUsage } from "../../../core/wire/index.ts";
import { cutStreamError, malformedBodyError } from "../errors.ts";
import type { SseEvent } from "../sse.ts";
import type { StreamState } from "../stream.ts";
import { googleHttpError } from "./errors.ts";
import { blockedPromptError, finishReasonFromGemini, fromGeminiUsage, mintId, toolCallOf } from "./response.ts";
import { geminiResponseSchema } from "./schema.ts";

/**
 * streamGenerateContent?alt=sse -> canonical chunks (docs/behaviour/providers.md#gemini): every `data:` line is a whole
 * GenerateContentResponse with incremental parts; usageMetadata rides on the chunks (the last has the totals);
 * there is no [DONE]: the end of the body ends the stream (https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent),
 * once a candidate has its finishReason; a body that ends before any was cut.
 */
export function decodeGeminiChunks(requestedModel: string) {
  return async function* decode(events: AsyncIterable<SseEvent>, state: StreamState): AsyncGenerator<ChatChunk> {
    let id = "";
    let model = requestedModel;
    const created = Math.floor(Date.now() / 1000);
    const started = new Set<number>();
    const toolIndex = new Map<number, number>();
    const chunk = (choices: ChunkChoice[]): ChatChunk => ({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices,
    });
    let finished = false;

    for await (const sse of events) {
      const data = sse.data.trim();
      if (!data) continue;
      let json: unknown;
      try {
        json = JSON.parse(data);
      } catch (err) {
        throw malformedBodyError("inference", `gemini stream data is not JSON (${data.slice(0, 80)})`, err);
      }
      // an error after the 200: same body shape as an HTTP error, its `code` being the HTTP status
      const error = (json as { error?: { code?: unknown } } | null)?.error;
      if (error && typeof error === "object") {
        const status = typeof error.code === "number" ? error.code : 500;
        throw googleHttpError({ status, bodyText: data, headers: new Headers(), route: "inference" });
      }
      const parsed = geminiResponseSchema.safeParse(json);
      if (!parsed.success) throw malformedBodyError("inference", parsed.error.message.slice(0, 300));
      const res = parsed.data;
      const blocked = blockedPromptError(res);
      if (blocked) throw blocked;
      id ||= res.responseId ?? mintId("chatcmpl-");
      model = res.modelVersion ?? model;
      if (res.usageMetadata) state.usage = mergeUsage(state.usage, fromGeminiUsage(res.usageMetadata));

      for (const [i, c] of (res.candidates ?? []).entries()) {
        const index = c.index ?? i;
        if (!started.has(index)) {
          started.add(index);
          yield chunk([{ index, delta: { role: "assistant", content: "" }, finish_reason: null }]);
        }
        for (const part of c.content?.parts ?? []) {
          const call = toolCallOf(part);
          if (call) {
            const tool = toolIndex.get(index) ?? 0;
            toolIndex.set(index, tool + 1);
            state.contentSeen = true;
            yield chunk([{ index, delta: { tool_calls: [{ index: tool, ...call }] }, finish_reason: null }]);
          } else if (part.text) {
            state.contentSeen = true;
            const delta = part.thought ? { reasoning: { content: part.text } } : { content: part.text };
            yield chunk([{ index, delta, finish_reason: null }]);
          }
        }
        const finish = finishReasonFromGemini(c.finishReason, (toolIndex.get(index) ?? 0) > 0);
        if (finish) {
          finished = true;
          yield chunk([{ index, delta: {}, finish_reason: finish }]);
        }
      }
    }
    if (started.size > 0 && !finished) throw cutStreamError("a candidate's finishReason");
    if (hasUsage(state.usage)) yield { ...chunk([]), usage: toOpenAIUsage(state.usage) };
  };
}
