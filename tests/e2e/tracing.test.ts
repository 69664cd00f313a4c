/**
 * Tracing on the compiled binary (docs/tracing.md), configured by the standard OTEL_* variables: spans of JSON and
 * streamed requests, a fallback and a refusal reach an OTLP receiver (decoded independently of the gateway's
 * encoder); the trace id meets on the response header, the JSON log line and the usage row; a graceful stop flushes
 * what is queued; a dead collector costs requests nothing and its drops are counted in /metrics.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type MockServer, startAnthropicMock, startOpenAIMock } from "../../src/providers/_mocks";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "../helpers/otlp-receiver";
import { ensureBinary, eventually, freePort, type Served, startServe, stopAll, tempDir } from "./_gateway";

const MASTER = "trace-e2e-master-key-0123456789";
const CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN = "b7ad6b7169203331";

let oai: MockServer;
let ant: MockServer;

/** A config.yml with the two mock providers, a fallback alias and a priced model, in a fresh directory. */
function configDir(extra: string[] = []): { dir: string; config: string } {
  const dir = tempDir("gw-trace-");
  const config = join(dir, "config.yml");
  writeFileSync(
    config,
    [
      `master_key: "${MASTER}"`,
      `database_url: "sqlite:///${join(dir, "gw.db")}"`,
      "providers:",
      "  openai:",
      "    api_key: sk-e2e-openai-trace",
      `    api_base: "${oai.apiBase}"`,
      "  anthropic:",
      "    api_key: sk-ant-e2e-trace",
      `    api_base: "${ant.apiBase}"`,
      "aliases:",
      '  chain: ["openai:error-503", "anthropic:claude-sonnet-4-6"]',
      "routing: { retries: 0 }",
      "pricing:",
      '  "openai:gpt-4o": { input_price_per_million: 2.5, output_price_per_million: 10 }',
      ...extra,
    ].join("\n"),
  );
  return { dir, config };
}

async function api(gw: Served, method: string, path: string, body?: unknown, token = MASTER): Promise<Response> {
  return fetch(gw.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const chat = (gw: Served, token: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], ...body }),
  });

async function serverSpan(rx: OtlpReceiver, traceId: string): Promise<{ server: ReceivedSpan; spans: ReceivedSpan[] }> {
  let found: ReceivedSpan | undefined;
  await eventually(async () => {
    found = rx.spans().find((s) => s.traceId === traceId && s.kind === 2);
    return found !== undefined;
  }, 5000);
  return { server: found!, spans: rx.spans().filter((s) => s.traceId === traceId) };
}

const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) =>
  spans.filter((s) => s.parentSpanId === parent.spanId).sort((a, b) => Number(a.startNanos - b.startNanos));

beforeAll(async () => {
  await ensureBinary();
  oai = startOpenAIMock();
  ant = startAnthropicMock();
}, 120_000);

afterAll(async () => {
  await stopAll();
  oai.stop();
  ant.stop();
});

describe.each(["http/protobuf", "http/json"])("dist/gateway exporting %s", (protocol) => {
  let rx: OtlpReceiver;
  let gw: Served;
  let key: string;

  beforeAll(async () => {
    rx = startOtlpReceiver();
    const { dir, config } = configDir();
    gw = await startServe(["--config", config, "--log-format", "json", "--log-level", "debug"], {
      cwd: dir,
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_BSP_SCHEDULE_DELAY: "20",
        OTEL_SERVICE_NAME: "trace-e2e",
      },
    });
    const res = await api(gw, "POST", "/v1/keys", { user_id: "trace-e2e-user" });
    key = ((await res.json()) as { key: string }).key;
  });
  afterAll(async () => {
    await gw.stop();
    await rx.close();
  });

  test("chat JSON: the caller's trace continued; header, log line and usage row carry its id", async () => {
    oai.reset();
    const res = await chat(
      gw,
      key,
      { model: "openai:gpt-4o" },
      { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
    );
    expect(res.status).toBe(200);
    await res.json();
    expect(res.headers.get("x-trace-id")).toBe(CALLER_TRACE);
    const requestId = res.headers.get("x-request-id")!;

    const { server, spans } = await serverSpan(rx, CALLER_TRACE);
    expect(server.parentSpanId).toBe(CALLER_SPAN);
    expect(server.resource["service.name"]).toBe("trace-e2e");
    expect(server.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": "openai:gpt-4o",
      "gateway.user.id": "trace-e2e-user",
      "gateway.request.id": requestId,
      "http.response.status_code": 200,
    });
    expect(server.attributes["gateway.cost.usd"]).toBeGreaterThan(0);
    const [attempt] = childrenOf(spans, server);
    expect(attempt!.kind).toBe(3);
    expect(oai.requests.at(-1)!.headers.traceparent).toBe(`00-${CALLER_TRACE}-${attempt!.spanId}-01`);

    // The JSON log line of the settled request names the same trace.
    await eventually(async () => gw.stderr().includes(CALLER_TRACE) || gw.stdout().includes(CALLER_TRACE));
    const line = gw
      .output()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === "request settled" && l.request_id === requestId);
    expect(line?.trace_id).toBe(CALLER_TRACE);

    // The usage row too.
    let rows: Record<string, unknown>[] = [];
    await eventually(async () => {
      rows = (await (await api(gw, "GET", "/v1/usage?user_id=trace-e2e-user")).json()) as Record<string, unknown>[];
      return rows.some((r) => r.trace_id === CALLER_TRACE);
    });
  });

  test("a stream: stream timing events; the attempt span ends with the stream", async () => {
    const res = await chat(gw, key, { model: "openai:gpt-4o", stream: true });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("[DONE]");
    const { server, spans } = await serverSpan(rx, res.headers.get("x-trace-id")!);
    expect(server.events.map((e) => e.name)).toEqual(
      expect.arrayContaining(["gateway.upstream.first_chunk", "gateway.client.first_byte"]),
    );
    expect(childrenOf(spans, server).map((s) => s.kind)).toEqual([3]);
  });

  test("a fallback: two attempt spans, the first failed with its error class", async () => {
    const res = await chat(gw, key, { model: "chain" });
    expect(res.status).toBe(200);
    const { server, spans } = await serverSpan(rx, res.headers.get("x-trace-id")!);
    const attempts = childrenOf(spans, server);
    expect(attempts.map((s) => [s.attributes["gateway.provider"], s.attributes["error.type"] ?? null])).toEqual([
      ["openai", "http_503"],
      ["anthropic", null],
    ]);
  });

  test("a refusal (model not allowed for the key): an admission span; the header on the error answer", async () => {
    const limited = (await (
      await api(gw, "POST", "/v1/keys", { user_id: "trace-e2e-user", allowed_models: ["anthropic:*"] })
    ).json()) as { key: string };
    const res = await chat(gw, limited.key, { model: "openai:gpt-4o" });
    expect(res.status).toBe(403);
    const { server, spans } = await serverSpan(rx, res.headers.get("x-trace-id")!);
    expect(server.status.code).toBe(2);
    const [admission] = childrenOf(spans, server);
    expect(admission!.name).toBe("gateway.admission");
    expect(admission!.attributes["error.type"]).toBe("model_not_allowed");
  });
});

test("a graceful stop flushes spans still queued", async () => {
  const rx = startOtlpReceiver();
  const { dir, config } = configDir();
  // An hour between scheduled exports: only the shutdown flush can deliver the span.
  const gw = await startServe(["--config", config], {
    cwd: dir,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_BSP_SCHEDULE_DELAY: "3600000" },
  });
  const key = ((await (await api(gw, "POST", "/v1/keys", { user_id: "flush-user" })).json()) as { key: string }).key;
  const res = await chat(gw, key, { model: "openai:gpt-4o" });
  expect(res.status).toBe(200);
  const traceId = res.headers.get("x-trace-id")!;
  expect(rx.spans()).toEqual([]);
  expect(await gw.stop()).toBe(0);
  expect(rx.spans().some((s) => s.traceId === traceId && s.kind === 2)).toBe(true);
  await rx.close();
}, 30_000);

test("a dead collector: requests unaffected, the bounded queue's drops counted in /metrics", async () => {
  const { dir, config } = configDir(["enable_metrics: true"]);
  const gw = await startServe(["--config", config], {
    cwd: dir,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${freePort()}`,
      OTEL_BSP_MAX_QUEUE_SIZE: "4",
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "2",
      OTEL_BSP_SCHEDULE_DELAY: "10",
    },
  });
  const key = ((await (await api(gw, "POST", "/v1/keys", { user_id: "dead-user" })).json()) as { key: string }).key;
  for (let i = 0; i < 10; i++) {
    const res = await chat(gw, key, { model: "openai:gpt-4o" });
    expect(res.status).toBe(200);
  }
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  const dropped = /gateway_trace_spans_dropped_total\{reason="queue_full"\} (\d+)/.exec(metrics);
  expect(Number(dropped?.[1])).toBeGreaterThan(0);
  // The shutdown flush gives up on the dead collector within its deadline.
  expect(await gw.stop()).toBe(0);
}, 30_000);
