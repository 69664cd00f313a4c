import { z } from "zod";
import {
  type ChatChoice,
  type ChatCompletion,
  type ChatMessage,
  type ChatRequest,
  type NormalizedUsage,
  toOpenAIUsage,
  withTotal,
} from "../../core/wire/index.ts";
import type { JsonObject } from "../_shared/openai-chat.ts";

/** Canonical chat <-> Cohere v2 chat (docs/behaviour/providers.md#cohere; https://docs.cohere.com/reference/chat). */

const THINKING_BUDGET: Record<string, number> = { low: 1024, medium: 4096, high: 16384 };

function content(c: ChatMessage["content"]): string | JsonObject[] {
  if (typeof c === "string" || c == null) return c ?? "";
  // v2 takes text and image_url parts (https://docs.cohere.com/docs/image-inputs)
  return c
    .filter((p) => (p.type === "text" && p.text) || (p.type === "image_url" && p.image_url))
    .map((p) =>
      p.type === "text" ? { type: "text", text: p.text } : { type: "image_url", image_url: { url: p.image_url!.url } },
    );
}

function textOf(c: ChatMessage["content"]): string {
  if (typeof c === "string") return c;
  return (c ?? []).map((p) => (p.type === "text" ? (p.text ?? "") : "")).join("");
}

function toMessage(m: ChatMessage): JsonObject {
  if (m.role === "system" || m.role === "developer") return { role: "system", content: textOf(m.content) };
  if (m.role === "tool") return { role: "tool", tool_call_id: m.tool_call_id ?? "", content: textOf(m.content) };
  if (m.role === "assistant") {
    const out: JsonObject = { role: "assistant" };
    const text = textOf(m.content);
    if (text) out["content"] = text;
    if (m.tool_calls?.length)
      out["tool_calls"] = m.tool_calls.map((c) => ({
        id: c.id,
        type: "function",
        function: { name: c.function.name, arguments: c.function.arguments },
      }));
    return out;
  }
  return { role: "user", content: content(m.content) };
}

export function toCohereBody(req: ChatRequest, stream: boolean): JsonObject {
  const body: JsonObject = { model: req.model, messages: req.messages.map(toMessage), stream };
  const max = req.max_completion_tokens ?? req.max_tokens;
  if (max != null) body["max_tokens"] = max;
  if (req.temperature != null) body["temperature"] = req.temperature;
  if (req.top_p != null) body["p"] = req.top_p;
  if (typeof req["top_k"] === "number") body["k"] = req["top_k"];
  if (req.stop != null) body["stop_sequences"] = typeof req.stop === "string" ? [req.stop] : req.stop;
  if (req.seed != null) body["seed"] = req.seed;
  for (const key of ["frequency_penalty", "presence_penalty"]) if (typeof req[key] === "number") body[key] = req[key];
  let tools = (req.tools ?? []).filter((t) => t.type === "function" && t.function);
  const choice = req.tool_choice;
  // v2 tool_choice is REQUIRED or NONE (https://docs.cohere.com/reference/chat#request.body.tool_choice); a named
  // function is REQUIRED over that one tool
  if (choice === "required") body["tool_choice"] = "REQUIRED";
  else if (choice === "none") body["tool_choice"] = "NONE";
  else if (choice && typeof choice === "object" && choice.function?.name) {
    const name = choice.function.name;
    tools = tools.filter((t) => t.function?.name === name);
    body["tool_choice"] = "REQUIRED";
  }
  if (tools.length > 0) body["tools"] = tools.map((t) => ({ type: "function", function: t.function }));
  const format = req.response_format;
  if (format?.type === "json_object") body["response_format"] = { type: "json_object" };
  if (format?.type === "json_schema")
    body["response_format"] = { type: "json_object", json_schema: format.json_schema?.schema ?? { type: "object" } };
  const effort = req.reasoning_effort;
  if (effort === "none") body["thinking"] = { type: "disabled" };
  else if (effort && THINKING_BUDGET[effort])
    body["thinking"] = { type: "enabled", token_budget: THINKING_BUDGET[effort] };
  return body;
}

const countsSchema = z.object({ input_tokens: z.number().nullish(), output_tokens: z.number().nullish() }).loose();
export const cohereUsageSchema = z
  .object({ billed_units: countsSchema.nullish(), tokens: countsSchema.nullish(), cached_tokens: z.number().nullish() })
  .loose();
export type CohereUsage = z.infer<typeof cohereUsageSchema>;

const toolCallSchema = z
  .object({
    id: z.string().nullish(),
    type: z.string().nullish(),
    function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).loose().nullish(),
  })
  .loose();

export const cohereResponseSchema = z
  .object({
    id: z.string().default(""),
    finish_reason: z.string().nullish(),
    message: z
      .object({
        content: z
          .array(z.object({ type: z.string(), text: z.string().nullish(), thinking: z.string().nullish() }).loose())
          .nullish(),
        tool_calls: z.array(toolCallSchema).nullish(),
        tool_plan: z.string().nullish(),
      })
      .loose(),
    usage: cohereUsageSchema.nullish(),
  })
  .loose();
export type CohereResponse = z.infer<typeof cohereResponseSchema>;

/**
 * COMPLETE/STOP_SEQUENCE -> stop, MAX_TOKENS -> length, TOOL_CALL -> tool_calls, ERROR/TIMEOUT -> stop
 * (docs/behaviour/providers.md#cohere).
 */
export function finishReasonFromCohere(reason: string | null | undefined): string {
  if (reason === "MAX_TOKENS") return "length";
  if (reason === "TOOL_CALL") return "tool_calls";
  return "stop";
}

/** `usage.tokens` (what the model processed), falling back to `billed_units`; cached_tokens are part of input. */
export function fromCohereUsage(u: CohereUsage | null | undefined): NormalizedUsage {
  const counts = u?.tokens ?? u?.billed_units;
  const num = (v: number | null | undefined) => (typeof v === "number" ? v : null);
  return withTotal({
    promptTokens: num(counts?.input_tokens),
    completionTokens: num(counts?.output_tokens),
    totalTokens: null,
    cacheReadTokens: num(u?.cached_tokens),
    cacheWriteTokens: null,
    reasoningTokens: null,
  });
}

export function fromCohereResponse(
  res: CohereResponse,
  model: string,
): { body: ChatCompletion; usage: NormalizedUsage } {
  let text = "";
  let thinking = "";
  for (const part of res.message.content ?? []) {
    if (part.type === "text") text += part.text ?? "";
    else if (part.type === "thinking") thinking += part.thinking ?? "";
  }
  const toolCalls = (res.message.tool_calls ?? []).map((c, i) => ({
    id: c.id ?? `call_${i}`,
    type: "function",
    function: { name: c.function?.name ?? "", arguments: c.function?.arguments ?? "{}" },
  }));
  const message: ChatChoice["message"] = {
    role: "assistant",
    content: text || (toolCalls.length > 0 ? null : ""),
    refusal: null,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  // tool_plan is the model's stated reasoning before calling tools
  const reasoning = thinking || res.message.tool_plan || "";
  if (reasoning) message.reasoning = { content: reasoning };
  const usage = fromCohereUsage(res.usage);
  return {
    body: {
      id: res.id,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ index: 0, message, finish_reason: finishReasonFromCohere(res.finish_reason), logprobs: null }],
      usage: toOpenAIUsage(usage),
    },
    usage,
  };
}
