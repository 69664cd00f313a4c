/**
 * The tool loop on /v1/responses (docs/behaviour/tools.md#what-the-model-sees, docs/behaviour/tools.md#the-loop): tools
 * as `{type:"function", name, description, parameters}`, the purpose block prepended to `instructions`, `function_call`
 * output items answered by `function_call_output` input items (the input becomes a list). Streamed rounds read as one
 * response: `response.created`/`in_progress` once, output indexes and sequence numbers continuing across rounds, and a
 * round's `response.completed` held back until the loop ends (the last one then carries the summed usage and the first
 * round's response id).
 */
import {
  type NormalizedUsage,
  RESPONSES_TERMINAL_EVENTS,
  type ResponsesEvent,
  type ResponsesObject,
  type ResponsesRequest,
} from "../../../core/wire/index";
import { type LoopProtocol, type StreamLoopState, sumUsageObjects } from "./protocol";
import type { ToolCall, ToolResult } from "./runner";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** The input as a list of items (a string is one user message). */
function inputItems(input: unknown): unknown[] {
  if (Array.isArray(input)) return input;
  if (typeof input === "string") return [{ role: "user", content: input }];
  return input === undefined || input === null ? [] : [input];
}

function functionCalls(output: unknown): ToolCall[] {
  return (Array.isArray(output) ? output : [])
    .filter((i): i is Obj => isObj(i) && i.type === "function_call")
    .map((i) => ({ id: str(i.call_id), name: str(i.name), arguments: str(i.arguments) }));
}

/** The calls and their outputs appended to the input (the baseline replays only the calls, without item ids). */
function withResults(req: ResponsesRequest, results: readonly ToolResult[]): ResponsesRequest {
  const calls = results.map((r) => ({
    type: "function_call",
    call_id: r.call.id,
    name: r.call.name,
    arguments: r.call.arguments || "{}",
  }));
  const outputs = results.map((r) => ({ type: "function_call_output", call_id: r.call.id, output: r.output }));
  return { ...req, input: [...inputItems(req.input), ...calls, ...outputs] };
}

function streamState(): StreamLoopState<ResponsesRequest, ResponsesEvent> {
  let round = 1;
  let responseId: string | null = null;
  let sequence: number | null = null;
  /** Output items sent by earlier rounds: this round's indexes continue after them. */
  let offset = 0;
  let items = 0;
  let calls = new Map<number, ToolCall>();
  let held: ResponsesEvent[] = [];
  let completed: ResponsesObject | null = null;
  const withFirstId = (event: ResponsesEvent): ResponsesEvent =>
    event.response && responseId ? { ...event, response: { ...event.response, id: responseId } } : event;
  return {
    begin(n) {
      round = n;
      items = 0;
      calls = new Map();
      held = [];
      completed = null;
    },
    push(event) {
      responseId ??= event.response?.id || null;
      if (round > 1 && (event.type === "response.created" || event.type === "response.in_progress")) return [];
      let out: ResponsesEvent = withFirstId(event);
      if (typeof event.sequence_number === "number") {
        sequence = sequence === null ? event.sequence_number : sequence + 1;
        out = { ...out, sequence_number: sequence };
      }
      if (RESPONSES_TERMINAL_EVENTS.has(event.type)) {
        if (event.type === "response.completed") completed = event.response ?? null;
        held.push(out);
        return [];
      }
      const index = typeof event.output_index === "number" ? event.output_index : null;
      if (index === null) return [out];
      items = Math.max(items, index + 1);
      const item = isObj(event.item) ? event.item : null;
      if (
        item?.type === "function_call" &&
        (event.type === "response.output_item.added" || event.type === "response.output_item.done")
      ) {
        const prev = calls.get(index);
        calls.set(index, {
          id: str(item.call_id),
          name: str(item.name),
          arguments: str(item.arguments) || (prev?.arguments ?? ""),
        });
      } else if (event.type === "response.function_call_arguments.delta") {
        const c = calls.get(index);
        if (c) c.arguments += str(event.delta);
      } else if (event.type === "response.function_call_arguments.done") {
        const c = calls.get(index);
        if (c && typeof event.arguments === "string") c.arguments = event.arguments;
      }
      return [{ ...out, output_index: index + offset }];
    },
    calls() {
      if (!completed) return [];
      const tracked = [...calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => c);
      return tracked.length ? tracked : functionCalls(completed.output);
    },
    release(usage: NormalizedUsage) {
      return held.map((e) => {
        if (!e.response) return e;
        const prompt = usage.promptTokens ?? 0;
        const completion = usage.completionTokens ?? 0;
        const summed = {
          input_tokens: prompt,
          output_tokens: completion,
          total_tokens: usage.totalTokens ?? prompt + completion,
        };
        return { ...e, response: { ...e.response, usage: { ...(e.response.usage ?? {}), ...summed } } };
      });
    },
    next(req, results) {
      offset += items;
      return withResults(req, results);
    },
  };
}

export const responsesLoop: LoopProtocol<ResponsesRequest, ResponsesObject, ResponsesEvent> = {
  prepare(req, offer) {
    const injected = offer.definitions.map((d) => ({
      type: "function",
      name: d.name,
      description: d.description,
      parameters: d.parameters,
    }));
    const user = (Array.isArray(req.tools) ? req.tools : []).filter((t) => !offer.taken.has(t));
    const block = offer.purposeBlock;
    const instructions =
      block === null
        ? req.instructions
        : typeof req.instructions === "string" && req.instructions
          ? `${block}\n\n${req.instructions}`
          : block;
    // No tools left (an MCP server whose tools were all filtered out): the key is dropped, as for the built-ins.
    const { tools: _taken, ...rest } = req;
    const tools = [...user, ...injected];
    return tools.length ? { ...rest, tools, instructions } : { ...rest, instructions };
  },
  calls: (body) => functionCalls(body.output),
  next: (req, _body, results) => withResults(req, results),
  handBack(body, owns) {
    const output = Array.isArray(body.output)
      ? body.output.filter((i) => !(isObj(i) && i.type === "function_call" && owns(str(i.name))))
      : body.output;
    return { ...body, output };
  },
  finalize(body, turns) {
    const usage = sumUsageObjects(turns.map((t) => t.usage));
    return usage ? { ...body, usage } : body;
  },
  streamState,
  promptParts: (req) => [req.input, req.instructions, req.tools],
};
