/**
 * OpenAI Responses API bodies and stream events as the real API sends them
 * (https://platform.openai.com/docs/api-reference/responses/object, .../responses-streaming): the full `Response`
 * object with its null members (`error`, `incomplete_details`, `instructions`...) and the request's settings echoed,
 * and the event sequence of a turn, every event numbered by `sequence_number`. Shared by the OpenAI mock and the
 * tool-loop mock.
 */

type Obj = Record<string, unknown>;

/** One output item of a turn: a message with text, or a function call. */
export type TurnItem =
  | { kind: "text"; text: string }
  | { kind: "call"; callId: string; name: string; arguments: string };

export interface ResponsesTurn {
  id: string;
  model: string;
  /** The request body: its settings are echoed in the Response, as the API does. */
  request: Obj;
  items: TurnItem[];
  usage: { input: number; output: number; cached?: number; reasoning?: number };
}

const created = () => Math.floor(Date.now() / 1000);

function outputItem(item: TurnItem, i: number): Obj {
  if (item.kind === "call")
    return {
      type: "function_call",
      id: `fc_${i}_${item.callId}`,
      call_id: item.callId,
      name: item.name,
      arguments: item.arguments,
      status: "completed",
    };
  return {
    type: "message",
    id: `msg_${i}_mock`,
    status: "completed",
    role: "assistant",
    content: [{ type: "output_text", text: item.text, annotations: [], logprobs: [] }],
  };
}

function usageOf(u: ResponsesTurn["usage"]): Obj {
  return {
    input_tokens: u.input,
    input_tokens_details: { cached_tokens: u.cached ?? 0 },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: u.reasoning ?? 0 },
    total_tokens: u.input + u.output,
  };
}

/** The `Response` object; `status: "in_progress"` gives the one `response.created` carries (no output, no usage). */
export function responseObject(turn: ResponsesTurn, status: "completed" | "in_progress" = "completed"): Obj {
  const r = turn.request;
  const done = status === "completed";
  const at = created();
  return {
    id: turn.id,
    object: "response",
    created_at: at,
    status,
    background: false,
    completed_at: done ? at : null,
    error: null,
    incomplete_details: null,
    instructions: r["instructions"] ?? null,
    max_output_tokens: r["max_output_tokens"] ?? null,
    max_tool_calls: null,
    model: turn.model,
    output: done ? turn.items.map(outputItem) : [],
    parallel_tool_calls: r["parallel_tool_calls"] ?? true,
    previous_response_id: r["previous_response_id"] ?? null,
    prompt_cache_key: null,
    reasoning: { effort: null, summary: null },
    safety_identifier: null,
    service_tier: "default",
    store: r["store"] ?? true,
    temperature: r["temperature"] ?? 1,
    text: r["text"] ?? { format: { type: "text" }, verbosity: "medium" },
    tool_choice: r["tool_choice"] ?? "auto",
    tools: r["tools"] ?? [],
    top_logprobs: 0,
    top_p: r["top_p"] ?? 1,
    truncation: "disabled",
    usage: done ? usageOf(turn.usage) : null,
    user: null,
    metadata: r["metadata"] ?? {},
  };
}

/** Splits text in two halves (two deltas per item, as a real stream sends several). */
const halves = (s: string): string[] =>
  [s.slice(0, Math.ceil(s.length / 2)), s.slice(Math.ceil(s.length / 2))].filter((p) => p !== "");

/**
 * The SSE frames of a streamed turn: response.created / .in_progress, per output item its added ... done events
 * (text: content part and text deltas; calls: argument deltas), then response.completed.
 */
export function responseEventFrames(turn: ResponsesTurn, deltas: (text: string) => string[] = halves): string[] {
  let sequence = 0;
  const frame = (type: string, payload: Obj) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...payload })}\n\n`;
  const events = [
    frame("response.created", { response: responseObject(turn, "in_progress") }),
    frame("response.in_progress", { response: responseObject(turn, "in_progress") }),
  ];
  turn.items.forEach((item, output_index) => {
    const done = outputItem(item, output_index);
    const item_id = done["id"];
    if (item.kind === "call") {
      events.push(
        frame("response.output_item.added", { output_index, item: { ...done, arguments: "", status: "in_progress" } }),
      );
      for (const delta of deltas(item.arguments))
        events.push(frame("response.function_call_arguments.delta", { item_id, output_index, delta }));
      events.push(
        frame("response.function_call_arguments.done", {
          item_id,
          output_index,
          name: item.name,
          arguments: item.arguments,
        }),
      );
    } else {
      const part = { type: "output_text", text: "", annotations: [], logprobs: [] };
      events.push(
        frame("response.output_item.added", { output_index, item: { ...done, status: "in_progress", content: [] } }),
      );
      events.push(frame("response.content_part.added", { item_id, output_index, content_index: 0, part }));
      for (const delta of deltas(item.text))
        events.push(
          frame("response.output_text.delta", { item_id, output_index, content_index: 0, delta, logprobs: [] }),
        );
      events.push(
        frame("response.output_text.done", { item_id, output_index, content_index: 0, text: item.text, logprobs: [] }),
      );
      events.push(
        frame("response.content_part.done", {
          item_id,
          output_index,
          content_index: 0,
          part: { ...part, text: item.text },
        }),
      );
    }
    events.push(frame("response.output_item.done", { output_index, item: done }));
  });
  events.push(frame("response.completed", { response: responseObject(turn) }));
  return events;
}

/** ResponseErrorEvent, as the API sends a failure mid-stream. */
export const responseErrorFrame = (code: string, message: string, sequence: number): string =>
  `event: error\ndata: ${JSON.stringify({ type: "error", code, message, param: null, sequence_number: sequence })}\n\n`;
