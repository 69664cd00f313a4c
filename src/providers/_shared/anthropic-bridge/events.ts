import {
  type AnthropicEvent,
  type ChatChunk,
  emptyUsage,
  type NormalizedUsage,
  stopReasonFromOpenAI,
} from "../../../core/wire/index.ts";
import { newMessageId, toAnthropicUsage } from "./response.ts";

/**
 * Canonical chunks -> the Anthropic event sequence: message_start, then per block content_block_start /
 * content_block_delta... / content_block_stop, then message_delta (stop_reason, usage) and message_stop.
 * Anthropic blocks are strictly sequential, so a new text run or tool call closes the open block.
 */
export interface AnthropicEventEncoder {
  push(chunk: ChatChunk): AnthropicEvent[];
  /** Closes the message; `usage` is the stream's merged usage. */
  finish(usage: NormalizedUsage): AnthropicEvent[];
}

export function createAnthropicEventEncoder(): AnthropicEventEncoder {
  let started = false;
  let nextIndex = 0;
  let open: { kind: "text" | "tool"; index: number } | null = null;
  const toolBlocks = new Map<number, number>();
  let finish: string | null = null;

  function start(chunk: ChatChunk | null, out: AnthropicEvent[]): void {
    if (started) return;
    started = true;
    out.push({
      type: "message_start",
      message: {
        id: chunk?.id || newMessageId(),
        type: "message",
        role: "assistant",
        content: [],
        model: chunk?.model ?? "",
        stop_reason: null,
        stop_sequence: null,
        // chat providers report usage at the end; the real counts go out with message_delta
        usage: toAnthropicUsage(emptyUsage()),
      },
    });
  }

  function close(out: AnthropicEvent[]): void {
    if (open) out.push({ type: "content_block_stop", index: open.index });
    open = null;
  }

  function openBlock(kind: "text" | "tool", block: Record<string, unknown>, out: AnthropicEvent[]): number {
    close(out);
    const index = nextIndex++;
    open = { kind, index };
    out.push({ type: "content_block_start", index, content_block: block });
    return index;
  }

  return {
    push(chunk) {
      const out: AnthropicEvent[] = [];
      start(chunk, out);
      const choice = chunk.choices.find((c) => c.index === 0);
      if (!choice) return out;
      const { content, tool_calls: calls } = choice.delta;
      if (content) {
        const index = open?.kind === "text" ? open.index : openBlock("text", { type: "text", text: "" }, out);
        out.push({ type: "content_block_delta", index, delta: { type: "text_delta", text: content } });
      }
      for (const call of calls ?? []) {
        let index = toolBlocks.get(call.index);
        if (index === undefined) {
          const block = {
            type: "tool_use",
            id: call.id || `toolu_${crypto.randomUUID().slice(0, 8)}`,
            name: call.function?.name ?? "",
            input: {},
          };
          index = openBlock("tool", block, out);
          toolBlocks.set(call.index, index);
        }
        const args = call.function?.arguments;
        if (args)
          out.push({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: args } });
      }
      if (choice.finish_reason) finish = choice.finish_reason;
      return out;
    },
    finish(usage) {
      const out: AnthropicEvent[] = [];
      start(null, out);
      close(out);
      out.push({
        type: "message_delta",
        delta: { stop_reason: stopReasonFromOpenAI(finish), stop_sequence: null },
        usage: toAnthropicUsage(usage),
      });
      out.push({ type: "message_stop" });
      return out;
    },
  };
}
