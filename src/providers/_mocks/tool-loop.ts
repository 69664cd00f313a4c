/**
 * A mock model that drives the gateway's tool loop (scenario `toolloop[-N]`, see scenario.ts), on the three wires:
 * it reads the conversation (how many tool results it holds, the user's text, the tools offered) and either asks
 * for one more tool call or answers with the last tool result. Turns report MOCK_USAGE (prompt 12, completion 5;
 * streams: 3 completion tokens per turn), so a loop of N rounds sums to (N + 1) x those.
 */
import { responseEventFrames, responseObject, type ResponsesTurn } from "./responses-wire.ts";
import { MOCK_TOOL, MOCK_USAGE, type MockScenario } from "./scenario.ts";
import { json, sseResponse } from "./server.ts";

type Obj = Record<string, unknown>;

/** What the model does this turn. */
export type LoopTurn =
  | { kind: "call"; calls: { id: string; name: string; arguments: string }[] }
  | { kind: "answer"; text: string }
  | { kind: "fail" };

/** The `failround-K` answer: an upstream 500 in the wire's own error shape. */
function failure(anthropic: boolean): Response {
  return anthropic
    ? json({ type: "error", error: { type: "api_error", message: "Internal server error" } }, 500)
    : json(
        {
          error: {
            message: "The server had an error while processing your request.",
            type: "server_error",
            param: null,
            code: null,
          },
        },
        500,
      );
}

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Text of a content value: a string, or the text of its text parts (skipping tool results). */
function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  return list(content)
    .flatMap((p) => (isObj(p) && typeof p.text === "string" && p.type !== "tool_result" ? [p.text] : []))
    .join("");
}

/**
 * code_execution if offered, else web_search, else the first tool offered
 * (docs/behaviour/tools.md#what-the-model-sees).
 */
function ownedName(names: string[]): string {
  if (names.includes("code_execution")) return "code_execution";
  if (names.includes("web_search")) return "web_search";
  return names[0] ?? "code_execution";
}

function decide(s: MockScenario, results: string[], userText: string, toolNames: string[]): LoopTurn {
  if (s.failRound > 0 && results.length + 1 === s.failRound) return { kind: "fail" };
  if (results.length >= s.toolLoop)
    return { kind: "answer", text: results.length ? `Tool said: ${results.at(-1)}` : "No tools were used." };
  const name = ownedName(toolNames);
  const key = name === "code_execution" ? "code" : name === "web_search" ? "query" : "input";
  const n = results.length + 1;
  const calls = [
    { id: `call_loop_${n}`, name, arguments: s.badArgs ? "{not json" : JSON.stringify({ [key]: userText }) },
  ];
  if (s.foreign) calls.push({ id: `${MOCK_TOOL.id}_${n}`, name: MOCK_TOOL.name, arguments: MOCK_TOOL.arguments });
  return { kind: "call", calls };
}

/** Splits a string in two halves (the SSE deltas of a tool call's arguments). */
const halves = (s: string): [string, string] => [s.slice(0, Math.ceil(s.length / 2)), s.slice(Math.ceil(s.length / 2))];

const usageOpenAI = (completion: number) => ({
  prompt_tokens: MOCK_USAGE.prompt,
  completion_tokens: completion,
  total_tokens: MOCK_USAGE.prompt + completion,
});
const created = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------- chat completions

export function chatLoopTurn(s: MockScenario, body: Obj): LoopTurn {
  const messages = list(body.messages).filter(isObj);
  const results = messages.filter((m) => m.role === "tool").map((m) => textOf(m.content));
  const user = messages.filter((m) => m.role === "user").at(-1);
  const names = list(body.tools).flatMap((t) =>
    isObj(t) && isObj(t.function) && typeof t.function.name === "string" ? [t.function.name] : [],
  );
  return decide(s, results, textOf(user?.content), names);
}

export function chatLoopResponse(model: string, s: MockScenario, body: Obj, signal: AbortSignal): Response {
  const turn = chatLoopTurn(s, body);
  if (turn.kind === "fail") return failure(false);
  const id = `chatcmpl-loop-${crypto.randomUUID().slice(0, 8)}`;
  if (body.stream !== true) {
    const message =
      turn.kind === "call"
        ? {
            role: "assistant",
            content: null,
            refusal: null,
            tool_calls: turn.calls.map((c) => ({
              id: c.id,
              type: "function",
              function: { name: c.name, arguments: c.arguments },
            })),
          }
        : { role: "assistant", content: turn.text, refusal: null };
    const finish = turn.kind === "call" ? "tool_calls" : "stop";
    return json({
      id,
      object: "chat.completion",
      created: created(),
      model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
      usage: usageOpenAI(MOCK_USAGE.completion),
    });
  }
  const base = { id, object: "chat.completion.chunk", created: created(), model };
  const chunk = (delta: Obj, finish: string | null = null) =>
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const events = [chunk({ role: "assistant", content: "" })];
  if (turn.kind === "call") {
    events.push(chunk({ content: "Let me run that. " }));
    turn.calls.forEach((c, index) => {
      const [a, b] = halves(c.arguments);
      events.push(
        chunk({ tool_calls: [{ index, id: c.id, type: "function", function: { name: c.name, arguments: "" } }] }),
      );
      events.push(chunk({ tool_calls: [{ index, function: { arguments: a } }] }));
      events.push(chunk({ tool_calls: [{ index, function: { arguments: b } }] }));
    });
    events.push(chunk({}, "tool_calls"));
  } else {
    events.push(
      chunk({ content: "Tool said: " }),
      chunk({ content: turn.text.replace(/^Tool said: /, "") }),
      chunk({}, "stop"),
    );
  }
  const opts = body.stream_options as { include_usage?: boolean } | undefined;
  if (opts?.include_usage === true)
    events.push(`data: ${JSON.stringify({ ...base, choices: [], usage: usageOpenAI(3) })}\n\n`);
  events.push("data: [DONE]\n\n");
  return sseResponse(events, signal);
}

// ---------------------------------------------------------------- Anthropic messages

export function messagesLoopTurn(s: MockScenario, body: Obj): LoopTurn {
  const messages = list(body.messages).filter(isObj);
  const results = messages.flatMap((m) =>
    list(m.content).flatMap((b) => (isObj(b) && b.type === "tool_result" ? [textOf(b.content)] : [])),
  );
  const user = messages.find((m) => m.role === "user");
  const names = list(body.tools).flatMap((t) => (isObj(t) && typeof t.name === "string" ? [t.name] : []));
  return decide(s, results, textOf(user?.content), names);
}

const anthropicUsage = (output: number) => ({
  input_tokens: MOCK_USAGE.prompt,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  output_tokens: output,
});

export function messagesLoopResponse(model: string, s: MockScenario, body: Obj, signal: AbortSignal): Response {
  const turn = messagesLoopTurn(s, body);
  if (turn.kind === "fail") return failure(true);
  const id = `msg_loop_${crypto.randomUUID().slice(0, 8)}`;
  const stop = turn.kind === "call" ? "tool_use" : "end_turn";
  if (body.stream !== true) {
    const content =
      turn.kind === "call"
        ? [
            { type: "text", text: "Let me run that." },
            ...turn.calls.map((c) => ({ type: "tool_use", id: c.id, name: c.name, input: safeParse(c.arguments) })),
          ]
        : [{ type: "text", text: turn.text }];
    return json({
      id,
      type: "message",
      role: "assistant",
      model,
      content,
      stop_reason: stop,
      stop_sequence: null,
      usage: anthropicUsage(MOCK_USAGE.completion),
    });
  }
  const ev = (type: string, payload: Obj = {}) => `event: ${type}\ndata: ${JSON.stringify({ type, ...payload })}\n\n`;
  const events = [
    ev("message_start", {
      message: {
        id,
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: anthropicUsage(1),
      },
    }),
  ];
  const text = turn.kind === "call" ? "Let me run that. " : turn.text;
  events.push(ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }));
  events.push(ev("content_block_delta", { index: 0, delta: { type: "text_delta", text } }));
  events.push(ev("content_block_stop", { index: 0 }));
  if (turn.kind === "call") {
    turn.calls.forEach((c, i) => {
      const index = i + 1;
      events.push(
        ev("content_block_start", { index, content_block: { type: "tool_use", id: c.id, name: c.name, input: {} } }),
      );
      for (const partial_json of halves(c.arguments))
        events.push(ev("content_block_delta", { index, delta: { type: "input_json_delta", partial_json } }));
      events.push(ev("content_block_stop", { index }));
    });
  }
  events.push(ev("message_delta", { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 3 } }));
  events.push(ev("message_stop"));
  return sseResponse(events, signal);
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Anthropic always sends an object; a model that "wrote bad JSON" is shown as its raw text.
    return { raw: text };
  }
}

// ---------------------------------------------------------------- OpenAI Responses

export function responsesLoopTurn(s: MockScenario, body: Obj): LoopTurn {
  const input = body.input;
  const items = typeof input === "string" ? [{ role: "user", content: input }] : list(input).filter(isObj);
  const results = items.flatMap((i) =>
    i.type === "function_call_output" ? [typeof i.output === "string" ? i.output : JSON.stringify(i.output)] : [],
  );
  const user = items.find((i) => i.role === "user");
  const names = list(body.tools).flatMap((t) => (isObj(t) && typeof t.name === "string" ? [t.name] : []));
  return decide(s, results, textOf(user?.content), names);
}

export function responsesLoopResponse(model: string, s: MockScenario, body: Obj, signal: AbortSignal): Response {
  const turn = responsesLoopTurn(s, body);
  if (turn.kind === "fail") return failure(false);
  const stream = body.stream === true;
  const response: ResponsesTurn = {
    id: `resp_loop_${crypto.randomUUID().slice(0, 8)}`,
    model,
    request: body,
    items:
      turn.kind === "call"
        ? turn.calls.map((c) => ({ kind: "call", callId: c.id, name: c.name, arguments: c.arguments }))
        : [{ kind: "text", text: turn.text }],
    usage: { input: MOCK_USAGE.prompt, output: stream ? 3 : MOCK_USAGE.completion },
  };
  return stream ? sseResponse(responseEventFrames(response), signal) : json(responseObject(response));
}
