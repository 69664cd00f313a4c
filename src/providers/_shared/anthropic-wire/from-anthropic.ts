import {
  type AnthropicMessage,
  type AnthropicUsage,
  type ChatCompletion,
  type NormalizedUsage,
  type ToolCall,
  finishReasonFromAnthropic,
  toOpenAIUsage,
  withTotal,
} from "../../../core/wire/index.ts";

/** Anthropic Messages response -> canonical chat completion (docs/behaviour/providers.md#anthropic-messages). */

const n = (v: number | null | undefined): number | null => (typeof v === "number" ? v : null);

/** prompt = input + cache_creation + cache_read; Anthropic never sends a total. */
export function fromAnthropicUsage(u: AnthropicUsage | null | undefined): NormalizedUsage {
  const input = n(u?.input_tokens);
  const write = n(u?.cache_creation_input_tokens);
  const read = n(u?.cache_read_input_tokens);
  const prompt = input === null && write === null && read === null ? null : (input ?? 0) + (write ?? 0) + (read ?? 0);
  return withTotal({
    promptTokens: prompt,
    completionTokens: n(u?.output_tokens),
    totalTokens: null,
    cacheReadTokens: read,
    cacheWriteTokens: write,
    reasoningTokens: null,
  });
}

export function fromAnthropicMessage(
  msg: AnthropicMessage,
  jsonTool: string | null,
): { body: ChatCompletion; usage: NormalizedUsage } {
  let text = "";
  let reasoning = "";
  let jsonAnswer: string | null = null;
  const toolCalls: ToolCall[] = [];
  for (const block of msg.content) {
    if (block.type === "text") text += block.text ?? "";
    else if (block.type === "thinking") reasoning += block.thinking ?? "";
    else if (block.type === "tool_use" && jsonTool !== null && block.name === jsonTool)
      jsonAnswer = JSON.stringify(block.input ?? {});
    else if (block.type === "tool_use")
      toolCalls.push({
        id: block.id ?? "",
        type: "function",
        function: { name: block.name ?? "", arguments: JSON.stringify(block.input ?? {}) },
      });
  }
  const usage = fromAnthropicUsage(msg.usage);
  let finish = finishReasonFromAnthropic(msg.stop_reason);
  if (jsonAnswer !== null && toolCalls.length === 0 && finish === "tool_calls") finish = "stop";
  const message: ChatCompletion["choices"][number]["message"] = {
    role: "assistant",
    content: jsonAnswer ?? (text || (toolCalls.length > 0 ? null : "")),
    refusal: null,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (reasoning) message.reasoning = { content: reasoning };
  return {
    body: {
      id: msg.id,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: msg.model,
      choices: [{ index: 0, message, finish_reason: finish, logprobs: null }],
      usage: toOpenAIUsage(usage),
    },
    usage,
  };
}
