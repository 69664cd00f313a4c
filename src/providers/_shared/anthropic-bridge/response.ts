import {
  type AnthropicBlock,
  type AnthropicMessage,
  type AnthropicUsage,
  type ChatCompletion,
  type NormalizedUsage,
  stopReasonFromOpenAI,
} from "../../../core/wire/index.ts";

/** Canonical results -> Anthropic shapes, for /v1/messages on OpenAI-format providers. */

/**
 * Anthropic counts input without the cached part; canonical prompt includes it
 * (docs/behaviour/providers.md#canonical-form-and-usage). The cache counts are always present, null when the provider
 * did not say: Anthropic's Usage marks them required (nullable).
 */
export function toAnthropicUsage(u: NormalizedUsage): AnthropicUsage {
  const cacheRead = u.cacheReadTokens ?? 0;
  const cacheWrite = u.cacheWriteTokens ?? 0;
  return {
    input_tokens: Math.max(0, (u.promptTokens ?? 0) - cacheRead - cacheWrite),
    output_tokens: u.completionTokens ?? 0,
    cache_creation_input_tokens: u.cacheWriteTokens,
    cache_read_input_tokens: u.cacheReadTokens,
  };
}

/** Tool arguments are a JSON string that models sometimes get wrong; Anthropic needs an object. */
export function parseToolInput(args: string): unknown {
  if (!args.trim()) return {};
  try {
    const v: unknown = JSON.parse(args);
    return v && typeof v === "object" && !Array.isArray(v) ? v : { value: v };
  } catch {
    return { _raw_arguments: args };
  }
}

export const newMessageId = (): string => `msg_${crypto.randomUUID().replaceAll("-", "")}`;

export function toAnthropicMessage(body: ChatCompletion, usage: NormalizedUsage): AnthropicMessage {
  const choice = body.choices[0];
  const content: AnthropicBlock[] = [];
  const text = choice?.message.content;
  if (text) content.push({ type: "text", text });
  for (const call of choice?.message.tool_calls ?? [])
    content.push({
      type: "tool_use",
      id: call.id,
      name: call.function.name,
      input: parseToolInput(call.function.arguments),
    });
  return {
    id: body.id || newMessageId(),
    type: "message",
    role: "assistant",
    content,
    model: body.model,
    stop_reason: stopReasonFromOpenAI(choice?.finish_reason),
    stop_sequence: null,
    usage: toAnthropicUsage(usage),
  };
}
