/**
 * Tracing on the inference pipeline (docs/tracing.md): the span tree of JSON and streamed requests, a fallback
 * chain, an admission refusal and a tool-less failure, decoded by the OTLP test receiver; the caller's traceparent
 * continued and the attempt's sent upstream; the trace id on the response header and the usage row; content
 * captured only when the operator allows it, and then redacted.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type MockServer, startOpenAIMock } from "../../src/providers/_mocks";
import { createPgDatabase, createSqliteDatabase, type TestDatabase } from "../helpers/db";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "../helpers/otlp-receiver";
import { type PlatformTestGateway, startPlatformGateway } from "../platform/_gateway";
import { attempt, route } from "../helpers/platform-mock";
import { type MockSandbox, startMockSandbox, startToolGateway } from "../tools/_helpers";
import { budgetUser, parseSse, post, price, rowsOf } from "./_helpers";

const CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN = "00f067aa0ba902b7";
const TRACEPARENT = `00-${CALLER_TRACE}-${CALLER_SPAN}-01`;

/** The spans of one trace once its server span arrived, and that server span. */
async function traceOf(rx: OtlpReceiver, traceId: string): Promise<{ server: ReceivedSpan; spans: ReceivedSpan[] }> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const spans = rx.spans().filter((s) => s.traceId === traceId);
    const server = spans.find((s) => s.kind === 2);
    if (server) {
      // Child spans end before their server span, and leave in the same or an earlier batch.
      return { server, spans };
    }
    if (Date.now() > deadline) throw new Error(`no server span for trace ${traceId}`);
    await Bun.sleep(20);
  }
}

const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) =>
  spans.filter((s) => s.parentSpanId === parent.spanId).sort((a, b) => Number(a.startNanos - b.startNanos));

describe.each([
  { dialect: "sqlite", create: createSqliteDatabase },
  { dialect: "pg", create: createPgDatabase },
])("tracing on the pipeline ($dialect)", ({ create }) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let rx: OtlpReceiver;
  let key: string;
  let keyId: string;
  let slow: MockServer;

  beforeAll(async () => {
    rx = startOtlpReceiver();
    slow = startOpenAIMock();
    db = await create();
    gw = await startTestGateway(db, {
      otel_exporter_otlp_endpoint: rx.url,
      otel_bsp_schedule_delay: 10,
      aliases: { chain: ["openai:error-503", "anthropic:claude-sonnet-4-6"] },
      routing: { retries: 0, deadline_ms: 10_000 },
      providers: {
        slow: { provider_type: "openai", api_key: "sk-slow", api_base: slow.apiBase, client_args: { timeout: 0.3 } },
      },
    });
    const created = await gw.createKey({ user_id: "trace-user" });
    key = created.key;
    keyId = created.id;
    await price(gw, "openai:gpt-4o", 2, 8);
  });
  afterAll(async () => {
    await gw.close();
    await rx.close();
    await slow.stop();
    await db.drop();
  });

  test("chat JSON: the caller's trace continued, a server span with GenAI and gateway attributes, one attempt span", async () => {
    gw.openai.reset();
    const res = await post(
      gw,
      "/v1/chat/completions",
      key,
      {
        model: "openai:gpt-4o",
        messages: [{ role: "user", content: "hello there" }],
        temperature: 0.5,
        max_tokens: 50,
      },
      { traceparent: TRACEPARENT, tracestate: "vendor=abc" },
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { id: string; model: string };
    expect(res.headers.get("x-trace-id")).toBe(CALLER_TRACE);

    const { server, spans } = await traceOf(rx, CALLER_TRACE);
    expect(server.parentSpanId).toBe(CALLER_SPAN);
    expect(server.name).toBe("chat openai:gpt-4o");
    expect(server.traceState).toBe("vendor=abc");
    const a = server.attributes;
    expect(a["gen_ai.operation.name"]).toBe("chat");
    expect(a["gen_ai.request.model"]).toBe("openai:gpt-4o");
    expect(a["gen_ai.request.temperature"]).toBe(0.5);
    expect(server.attributeTypes["gen_ai.request.temperature"]).toBe("double");
    expect(a["gen_ai.request.max_tokens"]).toBe(50);
    expect(a["gen_ai.provider.name"]).toBe("openai");
    expect(a["gen_ai.response.id"]).toBe(body.id);
    expect(a["gen_ai.response.model"]).toBe(body.model);
    expect(a["gen_ai.response.finish_reasons"]).toEqual(["stop"]);
    expect(a["gen_ai.usage.input_tokens"]).toBeGreaterThan(0);
    expect(a["gen_ai.usage.output_tokens"]).toBeGreaterThan(0);
    expect(a["http.response.status_code"]).toBe(200);
    expect(a["http.route"]).toBe("/v1/chat/completions");
    expect(a["gateway.key.id"]).toBe(keyId);
    expect(a["gateway.user.id"]).toBe("trace-user");
    expect(a["gateway.budget.decision"]).toBe("unbudgeted");
    expect(a["gateway.cost.usd"]).toBeGreaterThan(0);
    expect(a["gateway.request.id"]).toBe(res.headers.get("x-request-id")!);

    const [attempt, ...more] = childrenOf(spans, server);
    expect(more).toEqual([]);
    expect(attempt!.kind).toBe(3);
    expect(attempt!.name).toBe("chat gpt-4o");
    expect(attempt!.attributes["gateway.attempt"]).toBe(1);
    expect(attempt!.attributes["server.address"]).toBe("127.0.0.1");
    expect(attempt!.attributes["gen_ai.request.model"]).toBe("gpt-4o");
    expect(attempt!.attributes["gen_ai.response.id"]).toBe(body.id);
    // The tokens are the request span's alone: a backend that sums a trace's spans counts each once.
    expect(Object.keys(attempt!.attributes).filter((k) => k.startsWith("gen_ai.usage."))).toEqual([]);
    expect(attempt!.status.code).not.toBe(2);

    // The upstream saw the attempt span as its parent, and the caller's tracestate.
    const upstream = gw.openai.requests.at(-1)!;
    expect(upstream.headers.traceparent).toBe(`00-${CALLER_TRACE}-${attempt!.spanId}-01`);
    expect(upstream.headers.tracestate).toBe("vendor=abc");

    // The usage row carries the trace id.
    const rows = await rowsOf(gw, "trace-user");
    expect(rows.length).toBe(1);
    expect(rows[0]!["trace_id"]).toBe(CALLER_TRACE);
  });

  test("stream: first chunk from the upstream and first byte to the client, the attempt span open until the end", async () => {
    const res = await post(gw, "/v1/chat/completions", key, {
      model: "openai:gpt-4o",
      messages: [{ role: "user", content: "stream it" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.status).toBe(200);
    const traceId = res.headers.get("x-trace-id")!;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    parseSse(await res.text());
    const { server, spans } = await traceOf(rx, traceId);
    expect(server.parentSpanId).toBe("");
    expect(server.attributes["gen_ai.request.stream"]).toBe(true);
    const events = server.events.map((e) => e.name);
    expect(events).toContain("gateway.upstream.first_chunk");
    expect(events).toContain("gateway.client.first_byte");
    expect(server.attributes["gen_ai.response.time_to_first_chunk"]).toBeGreaterThanOrEqual(0);
    expect(server.attributes["gen_ai.usage.output_tokens"]).toBeGreaterThan(0);
    const [attempt] = childrenOf(spans, server);
    expect(attempt!.endNanos).toBeGreaterThanOrEqual(attempt!.startNanos);
    expect(attempt!.events.map((e) => e.name)).toContain("gateway.upstream.first_chunk");
    expect(server.endNanos).toBeGreaterThanOrEqual(attempt!.endNanos);
  });

  test("a fallback chain: two attempt spans, the first with its error class", async () => {
    const res = await post(gw, "/v1/chat/completions", key, {
      model: "chain",
      messages: [{ role: "user", content: "x" }],
    });
    expect(res.status).toBe(200);
    const { server, spans } = await traceOf(rx, res.headers.get("x-trace-id")!);
    const attempts = childrenOf(spans, server);
    expect(attempts.map((s) => s.attributes["gateway.provider"])).toEqual(["openai", "anthropic"]);
    expect(attempts[0]!.attributes["error.type"]).toBe("http_503");
    expect(attempts[0]!.status.code).toBe(2);
    expect(attempts[0]!.events.map((e) => e.name)).toEqual(["exception"]);
    expect(attempts[1]!.status.code).not.toBe(2);
    expect(attempts[1]!.attributes["gateway.attempt"]).toBe(2);
    expect(server.attributes["gateway.attempts"]).toBe(2);
    expect(server.attributes["gen_ai.provider.name"]).toBe("anthropic");
  });

  test("an admission refusal: a gateway.admission span with the budget decision; the header on the error", async () => {
    const { key: broke } = await budgetUser(gw, "trace-broke", 0);
    const res = await post(gw, "/v1/chat/completions", broke, {
      model: "openai:gpt-4o",
      messages: [{ role: "user", content: "x" }],
    });
    expect(res.status).toBe(403);
    const traceId = res.headers.get("x-trace-id")!;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const { server, spans } = await traceOf(rx, traceId);
    expect(server.status.code).toBe(2);
    expect(server.attributes["http.response.status_code"]).toBe(403);
    expect(server.attributes["gateway.budget.decision"]).toBe("refused");
    const [admission, ...more] = childrenOf(spans, server);
    expect(more).toEqual([]);
    expect(admission!.name).toBe("gateway.admission");
    expect(admission!.attributes["error.type"]).toBe("budget_exceeded");
    expect(admission!.status.code).toBe(2);
    const row = (await rowsOf(gw, "trace-broke"))[0];
    expect(row?.["trace_id"]).toBe(traceId);
  });

  test("an upstream failure after admission ends the server span with its error class", async () => {
    const res = await post(gw, "/v1/chat/completions", key, {
      model: "openai:error-400",
      messages: [{ role: "user", content: "x" }],
    });
    expect(res.status).toBe(400);
    const { server, spans } = await traceOf(rx, res.headers.get("x-trace-id")!);
    expect(server.status.code).toBe(2);
    expect(server.attributes["error.type"]).toBe("http_400");
    expect(childrenOf(spans, server)[0]!.attributes["error.type"]).toBe("http_400");
  });

  test("messages, responses and embeddings: the same span tree, each with its operation and response facts", async () => {
    const cases = [
      {
        path: "/v1/messages",
        body: { model: "anthropic:claude-sonnet-4-6", max_tokens: 20, messages: [{ role: "user", content: "x" }] },
        operation: "chat",
        provider: "anthropic",
      },
      { path: "/v1/responses", body: { model: "openai:gpt-4o", input: "x" }, operation: "chat", provider: "openai" },
      {
        path: "/v1/embeddings",
        body: { model: "openai:text-embedding-3-small", input: "x", dimensions: 8 },
        operation: "embeddings",
        provider: "openai",
      },
    ];
    for (const c of cases) {
      const res = await post(gw, c.path, key, c.body);
      expect(res.status).toBe(200);
      const { server, spans } = await traceOf(rx, res.headers.get("x-trace-id")!);
      expect(server.attributes).toMatchObject({
        "gen_ai.operation.name": c.operation,
        "gen_ai.provider.name": c.provider,
        "http.route": c.path,
      });
      expect(server.attributes["gen_ai.usage.input_tokens"]).toBeGreaterThan(0);
      const [attempt] = childrenOf(spans, server);
      expect(attempt!.attributes["gen_ai.operation.name"]).toBe(c.operation);
    }
  });

  test("an upstream timeout: the attempt span's error class is timeout, the request's status 504", async () => {
    const res = await post(gw, "/v1/chat/completions", key, {
      model: "slow:hang",
      messages: [{ role: "user", content: "x" }],
    });
    expect(res.status).toBe(504);
    const { server, spans } = await traceOf(rx, res.headers.get("x-trace-id")!);
    expect(server.attributes["http.response.status_code"]).toBe(504);
    expect(childrenOf(spans, server).map((s) => s.attributes["error.type"])).toEqual(["timeout"]);
  });

  test("content capture is off by default: no message text in any exported span", () => {
    const exported = JSON.stringify(
      rx.spans().map((s) => ({ a: s.attributes, e: s.events, m: s.status.message })),
      (_k, v) => (typeof v === "bigint" ? String(v) : v),
    );
    expect(exported).not.toContain("hello there");
    expect(exported).not.toContain("gen_ai.input.messages");
  });
});

describe("content capture per key, propagation off, a tool loop", () => {
  let db: TestDatabase;
  let gw: TestGateway;
  let rx: OtlpReceiver;
  let sandbox: MockSandbox;
  let capturing: string;
  let plain: string;

  beforeAll(async () => {
    rx = startOtlpReceiver();
    sandbox = startMockSandbox();
    db = await createSqliteDatabase();
    gw = await startToolGateway(db, {
      sandbox,
      config: {
        otel_exporter_otlp_endpoint: rx.url,
        otel_bsp_schedule_delay: 10,
        otel_propagate_upstream: false,
        otel_redact_patterns: ["project-[a-z]+"],
      },
    });
    const created = await gw.createKey({ user_id: "capture-user", capture_content: true });
    expect(created).toMatchObject({ capture_content: true });
    capturing = created.key;
    plain = (await gw.createKey({ user_id: "capture-user" })).key;
  });
  afterAll(async () => {
    await gw.close();
    sandbox.stop();
    await rx.close();
    await db.drop();
  });

  const SECRET_TEXT =
    "my key is sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD, mail bob@example.com, codename project-falcon";

  test("a key that captures: messages in the span, redacted by the built-in and the operator's patterns", async () => {
    gw.openai.reset();
    const res = await post(gw, "/v1/chat/completions", capturing, {
      model: "openai:gpt-4o",
      messages: [{ role: "user", content: SECRET_TEXT }],
    });
    expect(res.status).toBe(200);
    const { server } = await traceOf(rx, res.headers.get("x-trace-id")!);
    const input = String(server.attributes["gen_ai.input.messages"]);
    expect(JSON.parse(input)).toEqual([{ role: "user", parts: [{ type: "text", content: expect.any(String) }] }]);
    expect(input).toContain("my key is");
    expect(input).toContain("[REDACTED]");
    for (const secret of ["sk-proj-abcdef", "bob@example.com", "project-falcon"]) expect(input).not.toContain(secret);
    expect(JSON.parse(String(server.attributes["gen_ai.output.messages"]))[0]).toMatchObject({ role: "assistant" });
    // otel_propagate_upstream: false: the provider gets no trace context.
    expect(gw.openai.requests.at(-1)!.headers.traceparent).toBeUndefined();
  });

  test("a key without the setting follows the gateway's (off): no message text", async () => {
    const res = await post(gw, "/v1/chat/completions", plain, {
      model: "openai:gpt-4o",
      messages: [{ role: "user", content: "nothing to see unique-marker-42" }],
    });
    const { server } = await traceOf(rx, res.headers.get("x-trace-id")!);
    expect(server.attributes["gen_ai.input.messages"]).toBeUndefined();
    expect(JSON.stringify(server.attributes)).not.toContain("unique-marker-42");
  });

  test("a tool loop: an execute_tool span per gateway tool call, an attempt span per model round", async () => {
    const res = await post(gw, "/v1/chat/completions", plain, {
      model: "openai:toolloop-2",
      messages: [{ role: "user", content: "print(1)" }],
      tools: [{ type: "otari_code_execution" }],
    });
    expect(res.status).toBe(200);
    const { server, spans } = await traceOf(rx, res.headers.get("x-trace-id")!);
    const children = childrenOf(spans, server);
    const tools = children.filter((s) => s.name === "execute_tool code_execution");
    const attempts = children.filter((s) => s.kind === 3);
    // toolloop-2: two rounds of one tool call each, so three model calls.
    expect(tools.length).toBe(2);
    expect(attempts.length).toBe(3);
    // Model call, tool call, model call, ...: each in its place in time.
    expect(children.map((s) => s.kind)).toEqual([3, 1, 3, 1, 3]);
    expect(tools[0]!.attributes).toMatchObject({
      "gen_ai.operation.name": "execute_tool",
      "gen_ai.tool.name": "code_execution",
      "gen_ai.tool.type": "extension",
    });
    expect(tools[0]!.attributes["gen_ai.tool.call.id"]).toBeString();
  });
});

describe("platform mode: the same stage on the same pipeline", () => {
  let rx: OtlpReceiver;
  let t: PlatformTestGateway;

  beforeAll(() => {
    rx = startOtlpReceiver();
    t = startPlatformGateway({}, { otel_exporter_otlp_endpoint: rx.url, otel_bsp_schedule_delay: 10 });
  });
  afterAll(async () => {
    await t.close();
    await rx.close();
  });

  test("a failed attempt then one that serves: two attempt spans under the request span, traceparent upstream", async () => {
    t.platform.setResolve(
      route([attempt("att-1", `${t.openai.url}/v1`, { model: "error-503" }), attempt("att-2", `${t.openai.url}/v1`)]),
    );
    const res = await t.call("POST", "/v1/chat/completions", {
      body: { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] },
      headers: { traceparent: TRACEPARENT },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-trace-id")).toBe(CALLER_TRACE);
    const { server, spans } = await traceOf(rx, CALLER_TRACE);
    expect(server.parentSpanId).toBe(CALLER_SPAN);
    const attempts = childrenOf(spans, server);
    expect(attempts.map((s) => s.attributes["error.type"] ?? null)).toEqual(["http_503", null]);
    expect(t.openai.requests.at(-1)!.headers.traceparent).toBe(`00-${CALLER_TRACE}-${attempts[1]!.spanId}-01`);
  });
});
