/**
 * The tool loop on /v1/chat/completions (docs/behaviour/tools.md#what-the-model-sees,
 * docs/behaviour/tools.md#the-loop): function tools in OpenAI shape, the purpose block in the system message,
 * `tool_calls` on the assistant message and `role: "tool"` results. Streamed rounds read as one completion: one chunk
 * id, tool-call indexes continuing across rounds, and the `finish_reason` chunk of a round that ends in the gateway's
 * own calls held back and dropped.
 */
import type {
  ChatChunk,
  ChatCompletion,
  ChatMessage,
  ChatRequest,
  ChatTool,
  NormalizedUsage,
} from "../../../core/wire/index";
import { endsInToolCalls, type LoopProtocol, type StreamLoopState, sumUsageObjects } from "./protocol";
import type { ToolCall, ToolResult } from "./runner";

/**
 * Where the purpose block goes on chat (docs/behaviour/tools.md#what-the-model-sees): appended (after a blank line) to
 * a leading system message, else a new first one.
 */
export function withPurposeBlock(messages: ChatMessage[], block: string): ChatMessage[] {
  const [first, ...rest] = messages;
  if (first?.role !== "system") return [{ role: "system", content: block }, ...messages];
  const content = first.content;
  if (Array.isArray(content)) return [{ ...first, content: [...content, { type: "text", text: block }] }, ...rest];
  return [{ ...first, content: content ? `${content}\n\n${block}` : block }, ...rest];
}

function assistantTurn(content: string | null, calls: readonly ToolCall[]): ChatMessage {
  return {
    role: "assistant",
    content,
    tool_calls: calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } })),
  };
}

const toolMessages = (results: readonly ToolResult[]): ChatMessage[] =>
  results.map((r) => ({ role: "tool", tool_call_id: r.call.id, content: r.output }));

interface Slot {
  id: string;
  name: string;
  arguments: string;
}

function streamState(): StreamLoopState<ChatRequest, ChatChunk> {
  let id: string | null = null;
  /** Tool calls forwarded by earlier rounds: this round's indexes continue after them. */
  let offset = 0;
  let slots = new Map<number, Slot>();
  let content = "";
  let finish: string | null = null;
  let held: ChatChunk[] = [];
  return {
    begin() {
      slots = new Map();
      content = "";
      finish = null;
      held = [];
    },
    push(chunk) {
      id ??= chunk.id || null;
      const out: ChatChunk = { ...chunk, id: id ?? chunk.id };
      if (chunk.choices.length === 0) return [out];
      let terminal = false;
      out.choices = chunk.choices.map((choice) => {
        const d = choice.delta;
        if (choice.index === 0 && typeof d.content === "string") content += d.content;
        const toolCalls = d.tool_calls?.map((tc) => {
          if (choice.index === 0) {
            const slot = slots.get(tc.index) ?? { id: "", name: "", arguments: "" };
            if (tc.id) slot.id = tc.id;
            if (tc.function?.name) slot.name += tc.function.name;
            if (tc.function?.arguments) slot.arguments += tc.function.arguments;
            slots.set(tc.index, slot);
          }
          return { ...tc, index: tc.index + offset };
        });
        if (choice.finish_reason) {
          terminal = true;
          // A late non-tool finish after `tool_calls` in the same round does not override it
          // (docs/behaviour/tools.md#the-loop).
          if (choice.index === 0 && !(finish === "tool_calls" && choice.finish_reason !== "tool_calls"))
            finish = choice.finish_reason;
        }
        return toolCalls ? { ...choice, delta: { ...d, tool_calls: toolCalls } } : choice;
      });
      if (!terminal) return [out];
      // Held back until the round's end. Deltas riding on the terminal chunk are forwarded now, without the finish.
      const hasDelta = out.choices.some((c) => c.delta.content || c.delta.tool_calls?.length || c.delta.reasoning);
      held.push(hasDelta ? { ...out, choices: out.choices.map((c) => ({ ...c, delta: {} })) } : out);
      return hasDelta ? [{ ...out, choices: out.choices.map((c) => ({ ...c, finish_reason: null })) }] : [];
    },
    calls() {
      const calls = [...slots.entries()].sort(([a], [b]) => a - b).map(([, s]) => s);
      return endsInToolCalls(finish, calls.length) ? calls : [];
    },
    // The usage chunk is the framing's (it reports the stream's summed usage,
    // docs/behaviour/streaming.md#usage-in-streams).
    release: (_usage: NormalizedUsage) => held,
    next(req, results) {
      const calls = [...slots.entries()].sort(([a], [b]) => a - b).map(([, s]) => s);
      offset += slots.size;
      return { ...req, messages: [...req.messages, assistantTurn(content || null, calls), ...toolMessages(results)] };
    },
  };
}

export const chatLoop: LoopProtocol<ChatRequest, ChatCompletion, ChatChunk> = {
  prepare(req, offer) {
    const injected: ChatTool[] = offer.definitions.map((d) => ({
      type: "function",
      function: { name: d.name, description: d.description, parameters: d.parameters },
    }));
    const user = (req.tools ?? []).filter((t) => !offer.taken.has(t));
    const messages = offer.purposeBlock === null ? req.messages : withPurposeBlock(req.messages, offer.purposeBlock);
    // No tools left (an MCP server whose tools were all filtered out): the key is dropped, as for the built-ins.
    const { tools: _taken, ...rest } = req;
    const tools = [...user, ...injected];
    return tools.length ? { ...rest, tools, messages } : { ...rest, messages };
  },
  calls(body) {
    const choice = body.choices[0];
    const calls = (choice?.message.tool_calls ?? []).map((c) => ({
      id: c.id,
      name: c.function.name,
      arguments: c.function.arguments,
    }));
    return endsInToolCalls(choice?.finish_reason, calls.length) ? calls : [];
  },
  next(req, body, results) {
    const message = body.choices[0]?.message;
    return {
      ...req,
      messages: [
        ...req.messages,
        assistantTurn(
          message?.content ?? null,
          results.map((r) => r.call),
        ),
        ...toolMessages(results),
      ],
    };
  },
  handBack(body, owns) {
    return {
      ...body,
      choices: body.choices.map((c, i) =>
        i === 0
          ? {
              ...c,
              message: { ...c.message, tool_calls: c.message.tool_calls?.filter((tc) => !owns(tc.function.name)) },
            }
          : c,
      ),
    };
  },
  finalize(body, turns) {
    const usage = sumUsageObjects(turns.map((t) => t.usage));
    return usage ? { ...body, usage } : body;
  },
  streamState,
  promptParts: (req) => [req.messages, req.tools],
};
