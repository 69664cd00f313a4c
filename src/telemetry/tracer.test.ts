import { describe, expect, test } from "bun:test";
import { INVALID_SPAN_ID, INVALID_TRACE_ID } from "./ids";
import { createSampler } from "./sampler";
import { NOOP_SPAN, type SpanData, type SpanSink } from "./span";
import { parseTraceparent } from "./trace-context";
import { createTracer, NOOP_TRACER } from "./tracer";

const CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

function setup(sampler = createSampler("parentbased_always_on", null), propagate = true) {
  const ended: SpanData[] = [];
  let clock = 1000;
  const sink: SpanSink = {
    now: () => clock,
    redact: (t) => t.replaceAll("alice@example.com", "[REDACTED]"),
    onEnd: (s) => void ended.push(s),
  };
  return { tracer: createTracer({ sampler, sink, propagate }), ended, tick: (ms: number) => (clock += ms) };
}

describe("ids", () => {
  test("hex of the right length, never all zero, not repeating", () => {
    const { tracer } = setup();
    const traces = new Set<string>();
    const spans = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const span = tracer.startSpan("s", "server", null);
      const t = span.context.traceId;
      const s = span.context.spanId;
      expect(t).toMatch(/^[0-9a-f]{32}$/);
      expect(s).toMatch(/^[0-9a-f]{16}$/);
      expect(t).not.toBe(INVALID_TRACE_ID);
      expect(s).not.toBe(INVALID_SPAN_ID);
      traces.add(t);
      spans.add(s);
    }
    expect(traces.size).toBe(5000);
    expect(spans.size).toBe(5000);
  });
});

describe("tracer", () => {
  test("the no-op tracer returns one shared span that ignores everything and propagates nothing", () => {
    const span = NOOP_TRACER.startSpan("chat", "server", NOOP_TRACER.extract(CALLER));
    expect(span).toBe(NOOP_SPAN);
    expect(NOOP_TRACER.startSpan("attempt", "client", span)).toBe(NOOP_SPAN);
    expect(
      span
        .setAttribute("a", 1)
        .setDouble("b", 2)
        .addEvent("e")
        .setStatus("error", "x")
        .recordException(new Error("y"))
        .updateName("z"),
    ).toBe(span);
    span.end();
    const headers: Record<string, string> = {};
    NOOP_TRACER.inject(span, headers);
    expect(headers).toEqual({});
    expect(NOOP_TRACER.enabled).toBe(false);
  });

  test("a caller's trace continues: same trace id, the caller's span as remote parent, tracestate kept", () => {
    const { tracer, ended } = setup();
    const caller = tracer.extract(CALLER, "rojo=1");
    const server = tracer.startSpan("chat gpt-4o", "server", caller);
    expect(server.recording).toBe(true);
    expect(server.context.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    server.end();
    expect(ended[0]).toMatchObject({
      parentSpanId: "00f067aa0ba902b7",
      parentRemote: true,
      traceState: "rojo=1",
      kind: "server",
    });
  });

  test("children share the trace and point at their parent; the upstream header names the attempt span", () => {
    const { tracer, ended, tick } = setup();
    const server = tracer.startSpan("chat m", "server", null);
    const attempt = tracer.startSpan("chat m", "client", server);
    const headers: Record<string, string> = { authorization: "Bearer k" };
    tracer.inject(attempt, headers);
    expect(parseTraceparent(headers.traceparent)).toMatchObject({
      traceId: server.context.traceId,
      spanId: attempt.context.spanId,
      flags: 1,
    });
    expect(headers.tracestate).toBeUndefined();
    tick(5);
    attempt.end();
    server.end();
    expect(ended.map((s) => [s.kind, s.parentSpanId, s.parentRemote])).toEqual([
      ["client", server.context.spanId, false],
      ["server", null, null],
    ]);
    expect(ended[0]!.endMs - ended[0]!.startMs).toBe(5);
  });

  test("an unsampled caller under a parent-based sampler: nothing recorded, but its trace and flag still propagate", () => {
    const { tracer, ended } = setup();
    const caller = tracer.extract("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "rojo=1");
    const server = tracer.startSpan("chat m", "server", caller);
    const attempt = tracer.startSpan("chat m", "client", server);
    expect([server.recording, attempt.recording]).toEqual([false, false]);
    const headers: Record<string, string> = {};
    tracer.inject(attempt, headers);
    expect(headers.traceparent).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${attempt.context.spanId}-00`);
    expect(headers.tracestate).toBe("rojo=1");
    attempt.setAttribute("a", "b").end();
    server.end();
    expect(ended).toEqual([]);
  });

  test("otel_propagate_upstream: false keeps upstream headers untouched", () => {
    const { tracer } = setup(undefined, false);
    const headers: Record<string, string> = {};
    tracer.inject(tracer.startSpan("x", "client", null), headers);
    expect(headers).toEqual({});
  });

  test("span semantics: attributes replaced, error status sticks, exception recorded redacted, ended spans frozen", () => {
    const { tracer, ended } = setup();
    const span = tracer.startSpan("first", "internal", null, 500);
    span.setAttribute("k", "v1").setAttribute("k", "v2").setAttribute("skip", undefined).updateName("second");
    span.recordException(new TypeError("bad input from alice@example.com"));
    span.setStatus("ok");
    span.end(400);
    span.setAttribute("late", 1).end();
    expect(ended).toHaveLength(1);
    const data = ended[0]!;
    expect(data.name).toBe("second");
    expect(data.attrKeys).toEqual(["k"]);
    expect(data.attrValues).toEqual(["v2"]);
    expect(data.statusCode).toBe("error");
    expect(data.statusMessage).toBe("bad input from [REDACTED]");
    expect(data.events[0]).toMatchObject({
      name: "exception",
      attributes: { "exception.type": "TypeError", "exception.message": "bad input from [REDACTED]" },
    });
    // An end before the start is clamped: a span never has a negative duration.
    expect([data.startMs, data.endMs]).toEqual([500, 500]);
  });

  test("an invalid parent context starts a new trace", () => {
    const { tracer, ended } = setup();
    tracer.startSpan("x", "server", NOOP_SPAN).end();
    expect(ended[0]!.parentSpanId).toBeNull();
    expect(ended[0]!.traceId).not.toBe(INVALID_TRACE_ID);
  });
});
