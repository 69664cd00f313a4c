/**
 * The tool loop on /v1/messages (docs/behaviour/tools.md#what-the-model-sees, docs/behaviour/tools.md#the-loop): tools
 * in Anthropic shape (`{name, description, input_schema}`), the purpose block prepended to `system`, `tool_use` blocks
 * with `stop_reason: "tool_use"`, and `tool_result` blocks in a user turn. Streamed rounds read as one message: one
 * `message_start`, content block indexes continuing across rounds, and a round's `message_delta`/`message_stop` held
 * back until the loop ends (the last `message_delta` then carries the summed usage).
 */
import type {
  AnthropicBlock,
  AnthropicEvent,
  AnthropicMessage,
  AnthropicRequest,
  AnthropicTool,
  NormalizedUsage,
} from "../../../core/wire/index";
import { TOOL_ERROR_PREFIX } from "../../../tools/types";
import { endsInToolCalls, type LoopProtocol, type StreamLoopState, sumUsageObjects } from "./protocol";
import { parseArguments, type ToolCall, type ToolResult } from "./runner";

/**
 * Where the purpose block goes on messages (docs/behaviour/tools.md#what-the-model-sees): prepended to `system`
 * (string: `<block>\n\n<existing>`; list: a leading text block).
 */
export function withPurposeSystem(
  system: AnthropicRequest["system"],
  block: string,
): NonNullable<AnthropicRequest["system"]> {
  if (Array.isArray(system)) return [{ type: "text", text: block }, ...system];
  return system ? `${block}\n\n${system}` : block;
}

function resultTurn(results: readonly ToolResult[]): AnthropicRequest["messages"][number] {
  return {
    role: "user",
    content: results.map((r) => ({
      type: "tool_result",
      tool_use_id: r.call.id,
      content: r.output,
      ...(r.output.startsWith(TOOL_ERROR_PREFIX) ? { is_error: true } : {}),
    })),
  };
}

const toolUses = (content: readonly AnthropicBlock[]): ToolCall[] =>
  content
    .filter((b) => b.type === "tool_use")
    .map((b) => ({ id: b.id ?? "", name: b.name ?? "", arguments: JSON.stringify(b.input ?? {}) }));

/** A content block being streamed: its start block plus the deltas so far. */
interface Building {
  block: AnthropicBlock;
  text: string;
  json: string;
  thinking: string;
  signature: string;
}

function built(b: Building): AnthropicBlock {
  switch (b.block.type) {
    case "text":
      return { type: "text", text: (b.block.text ?? "") + b.text };
    case "thinking":
      return {
        type: "thinking",
        thinking: (b.block.thinking ?? "") + b.thinking,
        signature: b.signature || (b.block.signature ?? ""),
      };
    case "tool_use":
      return {
        type: "tool_use",
        id: b.block.id,
        name: b.block.name,
        input: b.json ? parseArguments(b.json) : (b.block.input ?? {}),
      };
    default:
      return b.block;
  }
}

const numberOf = (v: unknown): number | null => (typeof v === "number" ? v : null);

/** The summed usage in Anthropic's terms (input excludes the cache counts the normalised prompt includes). */
function anthropicUsage(u: NormalizedUsage): Record<string, number> {
  const cacheRead = u.cacheReadTokens ?? 0;
  const cacheWrite = u.cacheWriteTokens ?? 0;
  const out: Record<string, number> = {
    input_tokens: Math.max((u.promptTokens ?? 0) - cacheRead - cacheWrite, 0),
    output_tokens: u.completionTokens ?? 0,
  };
  if (u.cacheReadTokens !== null) out.cache_read_input_tokens = cacheRead;
  if (u.cacheWriteTokens !== null) out.cache_creation_input_tokens = cacheWrite;
  return out;
}

function streamState(): StreamLoopState<AnthropicRequest, AnthropicEvent> {
  let round = 1;
  /** Content blocks sent by earlier rounds: this round's indexes continue after them. */
  let offset = 0;
  let blocks = new Map<number, Building>();
  let stop: string | null = null;
  let held: AnthropicEvent[] = [];
  const shifted = (event: AnthropicEvent, index: number): AnthropicEvent => ({ ...event, index: index + offset });
  const ordered = () => [...blocks.entries()].sort(([a], [b]) => a - b).map(([, b]) => built(b));
  return {
    begin(n) {
      round = n;
      blocks = new Map();
      stop = null;
      held = [];
    },
    push(event) {
      const index = numberOf(event.index);
      switch (event.type) {
        case "message_start":
          return round === 1 ? [event] : [];
        case "content_block_start": {
          if (index === null) return [event];
          const block = (event.content_block ?? { type: "text" }) as AnthropicBlock;
          blocks.set(index, { block, text: "", json: "", thinking: "", signature: "" });
          return [shifted(event, index)];
        }
        case "content_block_delta": {
          if (index === null) return [event];
          const b = blocks.get(index);
          const delta = (event.delta ?? {}) as Record<string, unknown>;
          if (b) {
            if (typeof delta.text === "string") b.text += delta.text;
            if (typeof delta.partial_json === "string") b.json += delta.partial_json;
            if (typeof delta.thinking === "string") b.thinking += delta.thinking;
            if (typeof delta.signature === "string") b.signature += delta.signature;
          }
          return [shifted(event, index)];
        }
        case "content_block_stop":
          return index === null ? [event] : [shifted(event, index)];
        case "message_delta": {
          const reason = (event.delta as { stop_reason?: unknown } | undefined)?.stop_reason;
          if (typeof reason === "string" && !(stop === "tool_use" && reason !== "tool_use")) stop = reason;
          held.push(event);
          return [];
        }
        case "message_stop":
          held.push(event);
          return [];
        default:
          return [event];
      }
    },
    calls() {
      return stop === "tool_use" ? toolUses(ordered()) : [];
    },
    release(usage) {
      return held.map((e) =>
        e.type === "message_delta"
          ? { ...e, usage: { ...((e.usage as object | undefined) ?? {}), ...anthropicUsage(usage) } }
          : e,
      );
    },
    next(req, results) {
      const content = ordered();
      offset += blocks.size;
      return { ...req, messages: [...req.messages, { role: "assistant", content }, resultTurn(results)] };
    },
  };
}

export const messagesLoop: LoopProtocol<AnthropicRequest, AnthropicMessage, AnthropicEvent> = {
  prepare(req, offer) {
    const injected: AnthropicTool[] = offer.definitions.map((d) => ({
      name: d.name,
      description: d.description,
      input_schema: d.parameters,
    }));
    const user = (req.tools ?? []).filter((t) => !offer.taken.has(t));
    const system = offer.purposeBlock === null ? req.system : withPurposeSystem(req.system, offer.purposeBlock);
    // No tools left (an MCP server whose tools were all filtered out): the key is dropped, as for the built-ins.
    const { tools: _taken, ...rest } = req;
    const tools = [...user, ...injected];
    return tools.length ? { ...rest, tools, system } : { ...rest, system };
  },
  calls(body) {
    const calls = toolUses(body.content);
    return body.stop_reason === "tool_use" && endsInToolCalls("tool_calls", calls.length) ? calls : [];
  },
  next(req, body, results) {
    return { ...req, messages: [...req.messages, { role: "assistant", content: body.content }, resultTurn(results)] };
  },
  handBack(body, owns) {
    return { ...body, content: body.content.filter((b) => !(b.type === "tool_use" && owns(b.name ?? ""))) };
  },
  finalize(body, turns) {
    const usage = sumUsageObjects(turns.map((t) => t.usage));
    return usage ? { ...body, usage } : body;
  },
  streamState,
  promptParts: (req) => [req.messages, req.system, req.tools],
};
