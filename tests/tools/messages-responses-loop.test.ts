/**
 * The built-in tool loop on /v1/messages (Anthropic wire natively and translated through chat) and /v1/responses,
 * JSON and streamed (SPEC §9.2 placement per protocol, §9.3 in each protocol's own shapes).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { parseSse, rowTracker } from "../inference/_helpers";
import { createSqliteDatabase, type TestDatabase } from "../helpers/db";
import type { TestGateway } from "../helpers/gateway";
import { type Json, type MockSandbox, postJson, startMockSandbox, startToolGateway, upstreamBodies } from "./_helpers";

let db: TestDatabase;
let gw: TestGateway;
let sandbox: MockSandbox;
let key: string;
let newRows: () => Promise<Json[]>;

beforeAll(async () => {
  db = await createSqliteDatabase();
  sandbox = startMockSandbox();
  gw = await startToolGateway(db, { sandbox });
  key = (await gw.createKey({ user_id: "proto-user" })).key;
  newRows = rowTracker(gw, "proto-user");
});

afterAll(async () => {
  await gw.close();
  sandbox.stop();
  await db.drop();
});

beforeEach(async () => {
  gw.openai.reset();
  gw.anthropic.reset();
  sandbox.calls.length = 0;
  await newRows();
});

const ANSWER = "Tool said: stdout:\nout:print(1)\n";
const messages = (model: string, extra: Json = {}) =>
  postJson(gw, "/v1/messages", key, {
    model,
    max_tokens: 100,
    messages: [{ role: "user", content: "print(1)" }],
    tools: [{ type: "otari_code_execution" }],
    ...extra,
  });

describe("/v1/messages loop", () => {
  test("Anthropic wire, JSON: tool_use rounds answered with tool_result blocks; system prepended; usage summed", async () => {
    const res = await messages("anthropic:toolloop-2", { system: "Be brief." });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      type: "message",
      stop_reason: "end_turn",
      content: [{ type: "text", text: ANSWER }],
    });
    expect(res.json.usage).toMatchObject({ input_tokens: 36, output_tokens: 15 });
    const sent = upstreamBodies(gw.anthropic.requests, "/v1/messages") as {
      system: string;
      tools: Json[];
      messages: { role: string; content: unknown }[];
    }[];
    expect(sent).toHaveLength(3);
    expect(sent[0]?.system).toBe(
      "You have access to the following tools:\n- code_execution: run Python code for calculations, data processing and checking your reasoning\n\nBe brief.",
    );
    expect(sent[0]?.tools).toEqual([
      expect.objectContaining({
        name: "code_execution",
        input_schema: expect.objectContaining({ required: ["code"] }),
      }),
    ]);
    const last = sent[2]!;
    expect(last.messages.at(-2)).toMatchObject({
      role: "assistant",
      content: [
        { type: "text" },
        { type: "tool_use", id: "call_loop_2", name: "code_execution", input: { code: "print(1)" } },
      ],
    });
    expect(last.messages.at(-1)).toEqual({
      role: "user",
      content: [{ type: "tool_result", tool_use_id: "call_loop_2", content: "stdout:\nout:print(1)\n" }],
    });
    const rows = await newRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      status: "success",
      endpoint: "/v1/messages",
      prompt_tokens: 36,
      completion_tokens: 15,
    });
  });

  test("a list system gets a leading text block; a foreign tool_use is handed back without the owned one", async () => {
    const res = await messages("anthropic:toolloop-1+foreign", {
      system: [{ type: "text", text: "Be brief." }],
      tools: [{ type: "otari_code_execution" }, { name: "get_weather", input_schema: { type: "object" } }],
    });
    expect(res.status).toBe(200);
    expect(res.json.stop_reason).toBe("tool_use");
    const uses = (res.json.content as Json[]).filter((b) => b.type === "tool_use");
    expect(uses.map((b) => b.name)).toEqual(["get_weather"]);
    const sent = upstreamBodies(gw.anthropic.requests, "/v1/messages")[0] as { system: Json[]; tools: Json[] };
    expect(sent.system[0]).toMatchObject({
      type: "text",
      text: expect.stringMatching(/^You have access to the following tools:/),
    });
    expect(sent.system[1]).toEqual({ type: "text", text: "Be brief." });
    expect(sent.tools.map((t) => t.name)).toEqual(["get_weather", "code_execution"]);
  });

  test("Anthropic wire, stream: one message_start, continuing block indexes, one message_delta with summed usage", async () => {
    const res = await messages("anthropic:toolloop-2", { stream: true });
    expect(res.status).toBe(200);
    const { events } = parseSse(res.text);
    const types = events.map((e) => e.event);
    expect(types.filter((t) => t === "message_start")).toHaveLength(1);
    expect(types.filter((t) => t === "message_stop")).toHaveLength(1);
    const deltas = events.filter((e) => e.event === "message_delta");
    expect(deltas).toHaveLength(1);
    expect(deltas[0]?.json).toMatchObject({
      delta: { stop_reason: "end_turn" },
      usage: { input_tokens: 36, output_tokens: 9 },
    });
    expect(types.at(-1)).toBe("message_stop");
    const starts = events
      .filter((e) => e.event === "content_block_start")
      .map((e) => [e.json?.index, ((e.json?.content_block ?? {}) as Json).type]);
    expect(starts).toEqual([
      [0, "text"],
      [1, "tool_use"],
      [2, "text"],
      [3, "tool_use"],
      [4, "text"],
    ]);
    const text = events
      .filter((e) => e.event === "content_block_delta")
      .map((e) => ((e.json?.delta ?? {}) as Json).text ?? "")
      .join("");
    expect(text).toBe(`Let me run that. Let me run that. ${ANSWER}`);
    const rows = await newRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "success", prompt_tokens: 36, completion_tokens: 9 });
  });

  test("translated through chat (OpenAI-wire provider), JSON and stream", async () => {
    const res = await messages("openai:toolloop-1");
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ type: "message", content: [{ type: "text", text: ANSWER }] });
    const sent = upstreamBodies(gw.openai.requests, "/v1/chat/completions") as { messages: Json[] }[];
    expect(sent).toHaveLength(2);
    expect(sent[1]?.messages.at(-1)).toMatchObject({
      role: "tool",
      tool_call_id: "call_loop_1",
      content: "stdout:\nout:print(1)\n",
    });

    const stream = await messages("openai:toolloop-1", { stream: true });
    const { events } = parseSse(stream.text);
    const stops = events
      .filter((e) => e.event === "message_delta")
      .map((e) => ((e.json?.delta ?? {}) as Json).stop_reason);
    expect(stops).toEqual(["end_turn"]);
    expect(events.at(-1)?.event).toBe("message_stop");
  });

  test("the cap on /v1/messages is a 422 in the Anthropic envelope", async () => {
    const res = await messages("anthropic:toolloop-9", { max_tool_iterations: 1 });
    expect(res.status).toBe(422);
    expect(res.json).toMatchObject({ type: "error", error: { message: "Exceeded max_tool_iterations=1" } });
  });
});

const responses = (model: string, extra: Json = {}) =>
  postJson(gw, "/v1/responses", key, { model, input: "print(1)", tools: [{ type: "otari_code_execution" }], ...extra });

describe("/v1/responses loop", () => {
  test("JSON: function_call items answered with function_call_output items; instructions prepended; usage summed", async () => {
    const res = await responses("openai:toolloop-2", { instructions: "Be brief." });
    expect(res.status).toBe(200);
    expect(res.json.output).toEqual([
      expect.objectContaining({ type: "message", content: [expect.objectContaining({ text: ANSWER })] }),
    ]);
    expect(res.json.usage).toMatchObject({ input_tokens: 36, output_tokens: 15, total_tokens: 51 });
    const sent = upstreamBodies(gw.openai.requests, "/v1/responses") as {
      instructions: string;
      tools: Json[];
      input: Json[];
    }[];
    expect(sent).toHaveLength(3);
    expect(sent[0]?.instructions).toStartWith("You have access to the following tools:\n- code_execution: ");
    expect(sent[0]?.instructions).toEndWith("\n\nBe brief.");
    expect(sent[0]?.tools).toEqual([
      expect.objectContaining({
        type: "function",
        name: "code_execution",
        parameters: expect.objectContaining({ required: ["code"] }),
      }),
    ]);
    expect(sent[2]?.input).toEqual([
      { role: "user", content: "print(1)" },
      { type: "function_call", call_id: "call_loop_1", name: "code_execution", arguments: '{"code":"print(1)"}' },
      { type: "function_call_output", call_id: "call_loop_1", output: "stdout:\nout:print(1)\n" },
      { type: "function_call", call_id: "call_loop_2", name: "code_execution", arguments: '{"code":"print(1)"}' },
      { type: "function_call_output", call_id: "call_loop_2", output: "stdout:\nout:print(1)\n" },
    ]);
    const rows = await newRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ endpoint: "/v1/responses", prompt_tokens: 36, completion_tokens: 15 });
  });

  test("JSON: a foreign function_call is handed back without the owned one", async () => {
    const res = await responses("openai:toolloop-1+foreign", {
      tools: [
        { type: "otari_code_execution" },
        { type: "function", name: "get_weather", parameters: { type: "object" } },
      ],
    });
    expect((res.json.output as Json[]).map((i) => i.name)).toEqual(["get_weather"]);
  });

  test("stream: one response.created, output indexes continuing, one response.completed with summed usage and the first id", async () => {
    const res = await responses("openai:toolloop-2", { stream: true });
    expect(res.status).toBe(200);
    const { events } = parseSse(res.text);
    const named = events.filter((e) => e.event !== null);
    expect(named.filter((e) => e.event === "response.created")).toHaveLength(1);
    const completed = named.filter((e) => e.event === "response.completed");
    expect(completed).toHaveLength(1);
    const firstId = ((named[0]?.json?.response ?? {}) as Json).id;
    expect(((completed[0]?.json?.response ?? {}) as Json).id).toBe(firstId);
    expect(((completed[0]?.json?.response ?? {}) as Json).usage).toMatchObject({
      input_tokens: 36,
      output_tokens: 9,
      total_tokens: 45,
    });
    expect(named.filter((e) => e.event === "response.output_item.added").map((e) => e.json?.output_index)).toEqual([
      0, 1, 2,
    ]);
    expect(events.at(-1)?.data).toBe("[DONE]");
    const rows = await newRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "success", prompt_tokens: 36, completion_tokens: 9 });
  });
});
