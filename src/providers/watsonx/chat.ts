import { z } from "zod";
import { type GatewayError, badRequest } from "../../core/errors.ts";
import {
  type ChatChunk,
  type ChatCompletion,
  type ChatRequest,
  chatChunkSchema,
  chatCompletionSchema,
  fromOpenAIUsage,
  mergeUsage,
} from "../../core/wire/index.ts";
import { cutStreamError, malformedBodyError, upstreamHttpError } from "../_shared/errors.ts";
import { type JsonObject, normalizeChunk, normalizeCompletion } from "../_shared/openai-chat.ts";
import type { SseEvent } from "../_shared/sse.ts";
import { type StreamState, sseJson } from "../_shared/stream.ts";

/**
 * watsonx.ai chat (https://cloud.ibm.com/apidocs/watsonx-ai#text-chat): OpenAI's messages, tools and sampling
 * fields, with the model as `model_id`, a string tool choice as `tool_choice_option`, and no `stream` flag (the
 * stream is its own path). Answers are OpenAI-shaped with `model_id` for `model` and `reasoning_content` on
 * reasoning models; the stream's SSE events (`event: message`) carry chunks, the last with its finish_reason and
 * the usage, and no `[DONE]`. Errors, in the body or as a stream event, are `{errors: [{code, message}], trace,
 * status_code}`. Usage reports no cached tokens.
 */

/** OpenAI chat fields watsonx takes under the same name. */
const SAME_NAME = [
  "messages",
  "tools",
  "temperature",
  "top_p",
  "stop",
  "seed",
  "n",
  "presence_penalty",
  "frequency_penalty",
  "logit_bias",
  "logprobs",
  "top_logprobs",
  "response_format",
  "reasoning_effort",
] as const;

export function toWatsonxChatBody(req: ChatRequest, scope: Record<string, string>): JsonObject {
  const body: JsonObject = { model_id: req.model, ...scope };
  for (const key of SAME_NAME) if (req[key] !== undefined && req[key] !== null) body[key] = req[key];
  const maxTokens = req.max_completion_tokens ?? req.max_tokens;
  if (maxTokens !== undefined && maxTokens !== null) body["max_tokens"] = maxTokens;
  const choice = req.tool_choice;
  if (typeof choice === "string") body["tool_choice_option"] = choice;
  else if (choice && typeof choice === "object") body["tool_choice"] = choice;
  return body;
}

/** The watsonx answer as a canonical completion: `model_id` is the model, the object type named. */
export function fromWatsonxCompletion(raw: unknown, model: string): ChatCompletion {
  const parsed = chatCompletionSchema.safeParse(raw);
  if (!parsed.success) throw malformedBodyError("inference", parsed.error.message.slice(0, 300));
  const modelId = (raw as JsonObject)["model_id"];
  const body = normalizeCompletion(parsed.data);
  body.object = "chat.completion";
  body.model = typeof modelId === "string" && modelId ? modelId : model;
  delete body["model_id"];
  return body;
}

const errorEventSchema = z.object({ errors: z.array(z.unknown()), status_code: z.number().int().optional() }).loose();

/** An error event or body: mapped as the status it names (a 500 when it names none). */
export function watsonxEventError(json: unknown, text: string): GatewayError | null {
  const parsed = errorEventSchema.safeParse(json);
  if (!parsed.success) return null;
  return upstreamHttpError({
    status: parsed.data.status_code ?? 500,
    bodyText: text,
    headers: new Headers(),
    route: "inference",
  });
}

/** chat_stream SSE -> canonical chunks; the body ending before a finish_reason was cut. */
export function decodeWatsonxChunks(model: string) {
  return async function* decode(events: AsyncIterable<SseEvent>, state: StreamState): AsyncGenerator<ChatChunk> {
    let started = false;
    let finished = false;
    for await (const { json, text } of sseJson(events, "watsonx stream")) {
      const failure = watsonxEventError(json, text);
      if (failure) throw failure;
      const parsed = chatChunkSchema.safeParse(json);
      if (!parsed.success) throw malformedBodyError("inference", parsed.error.message.slice(0, 300));
      const chunk = normalizeChunk(parsed.data);
      const modelId = chunk["model_id"];
      chunk.object = "chat.completion.chunk";
      chunk.model = typeof modelId === "string" && modelId ? modelId : model;
      delete chunk["model_id"];
      if (chunk.usage) state.usage = mergeUsage(state.usage, fromOpenAIUsage(chunk.usage));
      if (!state.contentSeen)
        state.contentSeen = chunk.choices.some(
          (c) => !!c.delta.content || (c.delta.tool_calls?.length ?? 0) > 0 || !!c.delta.reasoning,
        );
      started = true;
      if (!finished) finished = chunk.choices.some((c) => c.finish_reason);
      yield chunk;
    }
    if (started && !finished) throw cutStreamError("a finish_reason");
  };
}

/** watsonx embeds text only: token-id inputs are refused before any call. */
export function embeddingTexts(input: unknown): string[] {
  const list: unknown[] = Array.isArray(input) ? input : [input];
  const texts = list.filter((v): v is string => typeof v === "string");
  if (texts.length !== list.length) throw badRequest("Provider 'watsonx' embeds text input only", "invalid_request");
  return texts;
}
