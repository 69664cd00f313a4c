/**
 * The built-in tool loop on /v1/chat/completions (SPEC §9.1-§9.4, §13 items 70-72, 77, 78) against the mock model
 * (`toolloop-N`, src/providers/_mocks/tool-loop.ts) and a mock remote sandbox.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { parseSse, price, rowTracker } from "../inference/_helpers";
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
  key = (await gw.createKey({ user_id: "loop-user" })).key;
  newRows = rowTracker(gw, "loop-user");
});

afterAll(async () => {
  await gw.close();
  sandbox.stop();
  await db.drop();
});

beforeEach(async () => {
  gw.openai.reset();
  sandbox.calls.length = 0;
  await newRows(); // each test sees only its own rows
});

const CODE_TOOL = { type: "otari_code_execution" };
const chat = (model: string, extra: Json = {}, content = "print(6*7)") =>
  postJson(gw, "/v1/chat/completions", key, {
    model: `openai:${model}`,
    messages: [{ role: "user", content }],
    tools: [CODE_TOOL],
    ...extra,
  });
const chatUpstream = () => upstreamBodies(gw.openai.requests, "/v1/chat/completions");

describe("chat JSON loop", () => {
  test("several rounds: owned calls run in the sandbox, results appended, the model re-called; usage summed in one row", async () => {
    const res = await chat("toolloop-3");
    expect(res.status).toBe(200);
    const choice = (res.json.choices as Json[])[0] as { message: Json; finish_reason: string };
    expect(choice.finish_reason).toBe("stop");
    expect(choice.message.content).toBe("Tool said: stdout:\nout:print(6*7)\n");
    expect(res.json.usage).toEqual({ prompt_tokens: 48, completion_tokens: 20, total_tokens: 68 });

    const sent = chatUpstream();
    expect(sent).toHaveLength(4);
    // Round 1: the client's message, the purpose block as a new system message, the injected function tool.
    const first = sent[0] as { messages: Json[]; tools: Json[] };
    expect(first.messages[0]).toEqual({
      role: "system",
      content:
        "You have access to the following tools:\n- code_execution: run Python code for calculations, data processing and checking your reasoning",
    });
    expect(first.tools).toEqual([
      {
        type: "function",
        function: expect.objectContaining({
          name: "code_execution",
          parameters: expect.objectContaining({ required: ["code"] }),
        }),
      },
    ]);
    // Round 4 carries three assistant turns and three tool results.
    const last = sent[3] as { messages: Json[] };
    expect(last.messages.filter((m) => m.role === "tool")).toHaveLength(3);
    expect(last.messages.at(-2)).toEqual({
      role: "assistant",
      content: null,
      tool_calls: [
        {
          id: "call_loop_3",
          type: "function",
          function: { name: "code_execution", arguments: '{"code":"print(6*7)"}' },
        },
      ],
    });
    expect(last.messages.at(-1)).toEqual({
      role: "tool",
      tool_call_id: "call_loop_3",
      content: "stdout:\nout:print(6*7)\n",
    });

    // SPEC §13 item 71: one session, an exec per call with the exact body, then DELETE.
    expect(sandbox.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      "POST /sessions",
      ...Array(3).fill("POST /sessions/sess-1/exec"),
      "DELETE /sessions/sess-1",
    ]);
    expect(sandbox.calls[1]?.body).toEqual({
      tool: "code_execution",
      input: { code: "print(6*7)" },
      timeout_seconds: 60,
    });

    const rows = await newRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      status: "success",
      prompt_tokens: 48,
      completion_tokens: 20,
      total_tokens: 68,
      endpoint: "/v1/chat/completions",
    });
  });

  test("a backend failure becomes a `[tool error]` result and the loop goes on; invalid JSON arguments run as {}", async () => {
    const res = await chat("toolloop-1", {}, "STDERR please");
    expect(res.status).toBe(200);
    expect(((res.json.choices as Json[])[0] as { message: Json }).message.content).toBe(
      "Tool said: [tool error] stderr:\nTraceback: boom\nreturn_code: 1",
    );

    sandbox.calls.length = 0;
    const bad = await chat("toolloop-1+badargs");
    expect(bad.status).toBe(200);
    // `{}` has no code: the sandbox is not called, the model gets a tool error and answers.
    expect(sandbox.calls.filter((c) => c.path.endsWith("/exec"))).toHaveLength(0);
    expect(((bad.json.choices as Json[])[0] as { message: { content: string } }).message.content).toStartWith(
      "Tool said: [tool error] missing 'code'",
    );
  });

  test("the cap: a model still asking after max_tool_iterations rounds is a 422 with an error row (default 10)", async () => {
    const res = await chat("toolloop-99");
    expect(res.status).toBe(422);
    expect(res.json.detail).toBe("Exceeded max_tool_iterations=10");
    expect(chatUpstream()).toHaveLength(10);
    const capped = await chat("toolloop-99", { max_tool_iterations: 2 });
    expect(capped.json.detail).toBe("Exceeded max_tool_iterations=2");
    const rows = await newRows();
    expect(rows.map((r) => [r.status, r.status_code])).toEqual([
      ["error", 422],
      ["error", 422],
    ]);
    // The tokens of the rounds that ran are billed.
    expect(rows.map((r) => r.prompt_tokens).sort()).toEqual([120, 24]);
  });

  test("a foreign call is handed back with the owned calls removed (they still ran)", async () => {
    const res = await chat("toolloop-2+foreign", {
      tools: [CODE_TOOL, { type: "function", function: { name: "get_weather", parameters: { type: "object" } } }],
    });
    expect(res.status).toBe(200);
    const choice = (res.json.choices as Json[])[0] as { message: { tool_calls: Json[] }; finish_reason: string };
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.tool_calls).toEqual([
      { id: "call_mock_1_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
    ]);
    expect(sandbox.calls.filter((c) => c.path.endsWith("/exec"))).toHaveLength(1);
    // The client's tool first, then the gateway's.
    const tools = (chatUpstream()[0] as { tools: { function: { name: string } }[] }).tools;
    expect(tools.map((t) => t.function.name)).toEqual(["get_weather", "code_execution"]);
  });

  test("purpose hints: appended to a leading system message; entry hint and tools_header win", async () => {
    await chat("toolloop-1", {
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "x" },
      ],
      tools: [{ type: "otari_code_execution", purpose_hint: "do maths" }],
      tools_header: "Tools here:",
    });
    const sent = chatUpstream()[0] as { messages: Json[] };
    expect(sent.messages[0]).toEqual({
      role: "system",
      content: "Be brief.\n\nTools here:\n- code_execution: do maths",
    });
    expect(sent.messages).toHaveLength(2);
    expect(sent).not.toHaveProperty("tools_header");
  });

  test("tool calls are priced per call under otari:code_execution and added to the row", async () => {
    await price(gw, "openai:toolloop-2", 1, 2);
    await price(gw, "otari:code_execution", 1000, 0); // USD 1000 per million calls = 0.001 per call
    const res = await chat("toolloop-2");
    expect(res.status).toBe(200);
    const tokens = (36 * 1 + 15 * 2) / 1e6;
    expect(Number(res.headers.get("x-gateway-cost-usd"))).toBeCloseTo(tokens + 0.002, 6);
    const [row] = await newRows();
    expect(row?.cost).toBeCloseTo(tokens + 0.002, 6);
  });
});

describe("sandbox failures (SPEC §9.1, §13 item 70)", () => {
  test("an unreachable sandbox is a 502 before any model call", async () => {
    sandbox.failSessions(503);
    try {
      const res = await chat("toolloop-1");
      expect(res.status).toBe(502);
      expect(res.json.detail).toBe("code_execution sandbox unreachable — check GATEWAY_SANDBOX_URL");
      expect(chatUpstream()).toHaveLength(0);
      const stream = await chat("toolloop-1", { stream: true });
      expect(stream.status).toBe(502);
      expect(stream.headers.get("content-type")).toContain("application/json");
    } finally {
      sandbox.failSessions(null);
    }
    const rows = await newRows();
    expect(rows.map((r) => r.status_code)).toEqual([502, 502]);
  });

  test("a transport failure during a call is the same 502 (JSON) and the session is still deleted", async () => {
    const res = await chat("toolloop-1", {}, "DOWN");
    expect(res.status).toBe(502);
    expect(res.json.detail).toBe("code_execution sandbox unreachable — check GATEWAY_SANDBOX_URL");
    expect(sandbox.calls.at(-1)?.method).toBe("DELETE");
    const [row] = await newRows();
    expect(row).toMatchObject({ status: "error", status_code: 502, prompt_tokens: 12 });
  });
});

describe("chat streamed loop (SPEC §9.3, §13 item 78)", () => {
  test("deltas of every round reach the client; no intermediate tool_calls finish; usage summed; [DONE]", async () => {
    const res = await chat("toolloop-2", { stream: true, stream_options: { include_usage: true } });
    expect(res.status).toBe(200);
    const { events } = parseSse(res.text);
    expect(events.at(-1)?.data).toBe("[DONE]");
    const chunks = events.flatMap((e) =>
      e.json ? [e.json as { id: string; choices: { delta: Json; finish_reason: string | null }[]; usage?: Json }] : [],
    );
    const finishes = chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter((f) => f !== null);
    expect(finishes).toEqual(["stop"]);
    const text = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? "")).join("");
    expect(text).toBe("Let me run that. Let me run that. Tool said: stdout:\nout:print(6*7)\n");
    // Tool-call deltas of both rounds, with indexes that continue across rounds, under one chunk id.
    const starts = chunks.flatMap((c) =>
      c.choices.flatMap((ch) => ((ch.delta.tool_calls as Json[] | undefined) ?? []).filter((tc) => tc.id)),
    );
    expect(starts.map((tc) => [tc.index, tc.id])).toEqual([
      [0, "call_loop_1"],
      [1, "call_loop_2"],
    ]);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 36, completion_tokens: 9, total_tokens: 45 });
    const rows = await newRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "success", prompt_tokens: 36, completion_tokens: 9 });
  });

  test("a foreign call in a streamed round: its terminal chunk is forwarded and the stream ends", async () => {
    const res = await chat("toolloop-1+foreign", { stream: true });
    const { events } = parseSse(res.text);
    const finishes = events
      .flatMap((e) =>
        ((e.json?.choices as { finish_reason: string | null }[] | undefined) ?? []).map((c) => c.finish_reason),
      )
      .filter(Boolean);
    expect(finishes).toEqual(["tool_calls"]);
    expect(events.at(-1)?.data).toBe("[DONE]");
    expect(chatUpstream()).toHaveLength(1);
  });

  test("the cap in a stream: the error event after the 200, an error row with the 422", async () => {
    const res = await chat("toolloop-99", { stream: true, max_tool_iterations: 2 });
    expect(res.status).toBe(200);
    const { events } = parseSse(res.text);
    expect(events.at(-2)?.json).toEqual({
      error: {
        message: "An error occurred during streaming",
        type: "server_error",
        param: null,
        code: "max_tool_iterations_exceeded",
      },
    });
    expect(events.at(-1)?.data).toBe("[DONE]");
    const [row] = await newRows();
    expect(row).toMatchObject({ status: "error", status_code: 422, error_message: "Exceeded max_tool_iterations=2" });
  });
});
