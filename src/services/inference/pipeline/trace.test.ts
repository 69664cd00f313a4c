/** The pipeline's tracing stage on an in-memory tracer: no-op when off, span tree, propagation, refusals. */
import { describe, expect, test } from "bun:test";
import { GatewayError } from "../../../core/errors";
import type { Provider, ProviderSettings } from "../../../providers/types";
import { createRedactor } from "../../../telemetry/redaction";
import { createSampler } from "../../../telemetry/sampler";
import { type AttributeValue, forEachAttribute, type SpanData } from "../../../telemetry/span";
import { createTracer } from "../../../telemetry/tracer";
import type { Telemetry } from "../../../telemetry/index";
import { chat } from "../endpoints";
import { errorType, NOOP_TRACE, startTrace } from "./trace";
import type { InferenceCall, Upstream } from "./types";

const CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER = `00-${CALLER_TRACE}-00f067aa0ba902b7-01`;

function telemetry(o: { sampler?: string; propagate?: boolean; capture?: boolean } = {}) {
  const ended: SpanData[] = [];
  const redactor = createRedactor({ secrets: [], patterns: [], maxChars: 1000 });
  const tracer = createTracer({
    sampler: createSampler((o.sampler ?? "parentbased_always_on") as "always_on", null),
    propagate: o.propagate ?? true,
    sink: {
      now: () => performance.timeOrigin + performance.now(),
      redact: redactor.text,
      onEnd: (s) => void ended.push(s),
    },
  });
  const t: Telemetry = {
    tracer,
    redactor,
    capturesContent: (key) => key ?? o.capture ?? false,
    stats: () => ({
      exported: 0,
      dropped: { queue_full: 0, export_failed: 0, shutdown: 0 },
      failedExports: 0,
      queued: 0,
    }),
    shutdown: async () => {},
  };
  return { t, ended };
}

function call(headers: Record<string, string> = {}): InferenceCall<Parameters<typeof chat.upstream>[0], unknown> {
  return {
    identity: null,
    body: { model: "openai:gpt-4o", messages: [{ role: "user", content: "secret prompt" }], temperature: 1 },
    query: undefined,
    requestId: "req-1",
    headers: new Headers(headers),
  };
}

const route: Upstream = {
  provider: {} as Provider,
  providerName: "openai",
  model: "gpt-4o",
  settings: { apiBase: "https://api.openai.com/v1" } as ProviderSettings,
};

/** A span's attributes as an exporter writes them (deferred ones expanded), in order, repeats kept. */
function attributes(s: SpanData): [string, AttributeValue][] {
  const out: [string, AttributeValue][] = [];
  forEachAttribute(s, (key, value) => out.push([key, value]));
  return out;
}
const attr = (s: SpanData, key: string) => attributes(s).find(([k]) => k === key)?.[1];
const keysOf = (s: SpanData) => attributes(s).map(([k]) => k);
const usage = {
  promptTokens: 3,
  completionTokens: 4,
  totalTokens: 7,
  cacheReadTokens: null,
  cacheWriteTokens: null,
  reasoningTokens: null,
};

describe("the tracing stage", () => {
  test("off (no telemetry, or the no-op tracer): the one shared no-op trace, nothing started", () => {
    expect(startTrace(undefined, chat, call())).toBe(NOOP_TRACE);
    const off: Telemetry = { ...telemetry().t, tracer: { ...telemetry().t.tracer, enabled: false } };
    expect(startTrace(off, chat, call({ traceparent: CALLER }))).toBe(NOOP_TRACE);
    expect(NOOP_TRACE.traceId).toBeNull();
    expect(NOOP_TRACE.attempt(route, undefined).options).toBeUndefined();
  });

  test("a JSON request: the server span continues the caller; the attempt's traceparent goes into a copy of the headers", () => {
    const { t, ended } = telemetry();
    const trace = startTrace(t, chat, call({ traceparent: CALLER, tracestate: "k=v" }));
    expect(trace.traceId).toBe(CALLER_TRACE);
    trace.admitted({ keyId: "key-1", userId: "u-1", budgetDecision: "allowed" });
    const options = { headers: { "anthropic-beta": "x" } };
    const attempt = trace.attempt(route, options);
    expect(options.headers).toEqual({ "anthropic-beta": "x" });
    expect(attempt.options?.headers?.["anthropic-beta"]).toBe("x");
    expect(attempt.options?.headers?.tracestate).toBe("k=v");
    const traceparent = attempt.options?.headers?.traceparent;
    expect(traceparent).toMatch(new RegExp(`^00-${CALLER_TRACE}-[0-9a-f]{16}-01$`));
    attempt.answered({
      body: { id: "chatcmpl-1", object: "chat.completion", created: 0, model: "gpt-4o-2024", choices: [] },
      usage,
      status: 200,
      headers: new Headers(),
    });
    trace.settled({ kind: "answered", usage, extraMicros: 0, perRequest: false, units: null }, 1_500);
    trace.replied();
    const [client, server] = ended;
    expect(client!.spanId).toBe(traceparent!.split("-")[2]!);
    expect(client!.parentSpanId).toBe(server!.spanId);
    expect(server!.parentSpanId).toBe("00f067aa0ba902b7");
    expect(server!.parentRemote).toBe(true);
    expect(attr(server!, "gateway.key.id")).toBe("key-1");
    expect(attr(server!, "gateway.cost.usd")).toBe(0.0015);
    expect(attr(server!, "gen_ai.request.temperature")).toBe(1);
    expect(attr(server!, "gen_ai.response.id")).toBe("chatcmpl-1");
    expect(attr(server!, "gen_ai.response.model")).toBe("gpt-4o-2024");
    expect(attr(server!, "http.response.status_code")).toBe(200);
    // Usage on the request span only: a backend summing the trace's spans counts each token once.
    expect(attr(server!, "gen_ai.usage.input_tokens")).toBe(3);
    expect(attr(client!, "gen_ai.usage.input_tokens")).toBeUndefined();
    expect(attr(client!, "gen_ai.response.id")).toBe("chatcmpl-1");
    expect(attr(client!, "server.address")).toBe("api.openai.com");
    expect(attr(client!, "server.port")).toBe(443);
    // Content capture is off: the prompt is nowhere.
    expect(JSON.stringify(ended.map(attributes))).not.toContain("secret prompt");
  });

  test("each span writes every key once, whatever path the request took", () => {
    const spans: SpanData[] = [];
    const answer = { body: { id: "c", object: "chat.completion", created: 0, model: "m", choices: [] }, usage };
    const settled = { kind: "answered", usage, extraMicros: 0, perRequest: false, units: null } as const;
    // A fallback: the first try fails, the second answers; content captured.
    {
      const { t, ended } = telemetry({ capture: true });
      const trace = startTrace(t, chat, call({ "user-agent": "ua" }));
      trace.admitted({ keyId: "k", budgetDecision: "allowed" });
      trace.attempt(route, undefined).failed(new GatewayError(503, "down", { code: "provider_error" }));
      trace.attempt(route, undefined).answered({ ...answer, status: 200, headers: new Headers() });
      trace.settled(settled, 10);
      trace.replied();
      spans.push(...ended);
    }
    // A stream cut by the client, and one broken by the upstream.
    for (const end of [
      { kind: "client_gone", cutAtShutdown: false },
      { kind: "upstream_error", error: new Error("x") },
    ]) {
      const { t, ended } = telemetry();
      const trace = startTrace(t, chat, call());
      trace.admitted({ keyId: "k" });
      trace.attempt(route, undefined).opened();
      trace.clientFirstByte();
      trace.settled(settled, 10);
      trace.streamEnded(end as Parameters<typeof trace.streamEnded>[0]);
      spans.push(...ended);
    }
    // A budget refusal.
    {
      const { t, ended } = telemetry();
      startTrace(t, chat, call()).refused(new GatewayError(403, "Budget exceeded", { code: "budget_exceeded" }));
      spans.push(...ended);
    }
    expect(spans.length).toBe(9);
    for (const span of spans) expect(keysOf(span)).toEqual([...new Set(keysOf(span))]);
    const fallback = spans[2]!;
    expect(attr(fallback, "gateway.attempts")).toBe(2);
    expect(attr(fallback, "gen_ai.provider.name")).toBe("openai");
    expect(attr(spans[0]!, "error.type")).toBe("provider_error");
    expect(attr(spans[4]!, "gateway.stream.end")).toBe("client_gone");
    expect(attr(spans[6]!, "error.type")).toBe("Error");
    expect(attr(spans[8]!, "gateway.budget.decision")).toBe("refused");
  });

  test("a span exports what its request was when it ended: later facts do not reach it", () => {
    const { t, ended } = telemetry();
    const trace = startTrace(t, chat, call());
    trace.admitted({ keyId: "k" });
    trace.replied();
    trace.settled({ kind: "answered", usage, extraMicros: 0, perRequest: false, units: null }, 2_000_000);
    expect(attr(ended[0]!, "gateway.cost.usd")).toBeUndefined();
    expect(attr(ended[0]!, "gen_ai.usage.input_tokens")).toBeUndefined();
    expect(attr(ended[0]!, "http.response.status_code")).toBe(200);
  });

  test("unsampled: nothing recorded, the context still propagated with the sampled flag off", () => {
    const { t, ended } = telemetry({ sampler: "always_off" });
    const trace = startTrace(t, chat, call());
    expect(trace.traceId).toMatch(/^[0-9a-f]{32}$/);
    const attempt = trace.attempt(route, undefined);
    expect(attempt.options?.headers?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    attempt.failed(new Error("x"));
    trace.failed(new Error("x"));
    expect(ended).toEqual([]);
  });

  test("otel_propagate_upstream false: no traceparent upstream", () => {
    const { t } = telemetry({ propagate: false });
    const attempt = startTrace(t, chat, call({ traceparent: CALLER })).attempt(route, undefined);
    expect(attempt.options?.headers).toEqual({});
  });

  test("a refusal: an admission span with the reason and the budget decision; the server span ends with the status", () => {
    const { t, ended } = telemetry();
    const trace = startTrace(t, chat, call());
    trace.refused(new GatewayError(403, "Budget exceeded", { code: "budget_exceeded" }));
    const [admission, server] = ended;
    expect(admission!.name).toBe("gateway.admission");
    expect(admission!.parentSpanId).toBe(server!.spanId);
    expect(admission!.statusCode).toBe("error");
    expect(attr(admission!, "gateway.budget.decision")).toBe("refused");
    expect(attr(server!, "http.response.status_code")).toBe(403);
    expect(attr(server!, "error.type")).toBe("budget_exceeded");
  });

  test("content capture for a key that allows it", () => {
    const { t, ended } = telemetry();
    const trace = startTrace(t, chat, call());
    trace.admitted({ captureContent: true });
    trace.replied();
    expect(String(attr(ended[0]!, "gen_ai.input.messages"))).toContain("secret prompt");
  });

  // An upstream status's class (http_503) is tested end to end (tests/inference/tracing.test.ts).
  test("error classes: the upstream's failure class, else the gateway's code", () => {
    expect(errorType(new GatewayError(504, "timeout", { code: "provider_timeout" }))).toBe("timeout");
    expect(errorType(new GatewayError(429, "slow down", { code: "rate_limit_exceeded" }))).toBe("rate_limit_exceeded");
    expect(errorType(new TypeError("boom"))).toBe("TypeError");
  });
});
