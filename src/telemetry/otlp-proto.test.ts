/**
 * The encoders checked by an independent decoder: protobufjs with the OTLP definitions (tests/fixtures/otlp/)
 * reads what encodeTraceRequest writes, and the OTLP/JSON body maps onto the same messages.
 */
import { describe, expect, test } from "bun:test";
import { decodeTraceRequest } from "../../tests/helpers/otlp-receiver";
import { encodeTraceRequestJson } from "./otlp-json";
import { encodeTraceRequest, TraceEncoder, toNanos } from "./otlp-proto";
import { traceIdFromHex } from "./ids";
import { RecordingSpan, type SpanData, type SpanSink } from "./span";
import { parseTraceparent } from "./trace-context";

const TRACE_HEX = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACE = traceIdFromHex(TRACE_HEX);
const sink = (ended: SpanData[]): SpanSink => ({
  now: () => 1_733_300_000_123.456,
  redact: (t) => t,
  onEnd: (s) => void ended.push(s),
});
const resource = {
  "service.name": "otari-gateway",
  "service.version": "0.1.0",
  "deployment.replicas": 3,
  "feature.on": true,
};
const scope = { name: "otari-gateway", version: "0.1.0" };
const identity = (t: string) => t;

function sampleSpans(): SpanData[] {
  const ended: SpanData[] = [];
  const s = sink(ended);
  const server = new RecordingSpan(
    s,
    "chat gpt-4o",
    "server",
    TRACE,
    0x00f067aa,
    0x0ba902b7,
    1,
    "rojo=1,congo=2",
    parseTraceparent(`00-${TRACE_HEX}-1111111111111111-01`),
    1_733_300_000_000.25,
  );
  server
    .setAttribute("gen_ai.operation.name", "chat")
    .setAttribute("gen_ai.usage.input_tokens", 1234567)
    .setAttribute("big.int", 2 ** 40 + 3)
    .setAttribute("negative.int", -42)
    .setAttribute("gen_ai.request.temperature", 0.7)
    .setDouble("gen_ai.request.top_p", 1)
    .setAttribute("gateway.cache.hit", false)
    .setAttribute("gen_ai.response.finish_reasons", ["stop", "length"])
    .setAttribute("unicode", "héllo — 你好 🚀")
    .setAttribute("long", "x".repeat(70_000))
    .setAttribute("ascii127", "a".repeat(127))
    .setAttribute("ascii128", "b".repeat(128))
    .setAttribute("control", "tab\there\u0000nul")
    .setAttribute("ignored", null)
    .addEvent("gateway.upstream.first_chunk", { "gateway.attempt": 1, ratio: 0.5, note: "first" }, 1_733_300_000_050.5)
    .setStatus("error", "upstream 502");
  const attempt = new RecordingSpan(
    s,
    "chat gpt-4o",
    "client",
    TRACE,
    0x22222222,
    0x22222222,
    1,
    null,
    server,
    1_733_300_000_001,
  );
  // Deferred attributes: written after the ones set one by one, read from their facts when encoded.
  const facts = { model: "gpt-4o-2024", outputTokens: 17, costUsd: 2, missing: null as string | null };
  attempt
    .setAttribute("gateway.attempt", 1)
    .setDeferred((f: typeof facts, out) => {
      out.setAttribute("gen_ai.response.model", f.model);
      out.setAttribute("gen_ai.usage.output_tokens", f.outputTokens);
      out.setDouble("gateway.cost.usd", f.costUsd);
      out.setAttribute("absent", f.missing);
    }, facts)
    .setStatus("ok");
  attempt.end(1_733_300_000_100);
  // Ignored once the span has ended, as every other setter.
  attempt.setDeferred((_f: null, out) => out.setAttribute("late", "x"), null);
  server.end(1_733_300_000_200.75);
  const root = new RecordingSpan(
    s,
    "internal work",
    "internal",
    // The high bit set in every word: words are signed 32-bit, their bytes unsigned.
    traceIdFromHex("f123456789abcdef8123456789abcdef"),
    0x93333333,
    0xa3333333 | 0,
    1,
    null,
    null,
    1_733_300_000_000,
  );
  root.end(1_733_300_000_000);
  return ended;
}

function checkDecoded(spans: ReturnType<typeof decodeTraceRequest>): void {
  expect(spans).toHaveLength(3);
  const [attempt, server, root] = spans;
  for (const s of spans) {
    expect(s.resource).toEqual(resource);
    expect(s.scope).toEqual(scope);
  }
  expect(server!).toMatchObject({
    traceId: TRACE_HEX,
    spanId: "00f067aa0ba902b7",
    parentSpanId: "1111111111111111",
    traceState: "rojo=1,congo=2",
    // sampled, parent remoteness known (0x100) and remote (0x200)
    flags: 0x301,
    name: "chat gpt-4o",
    kind: 2,
    startNanos: 1_733_300_000_000_250_000n,
    endNanos: 1_733_300_000_200_750_000n,
    status: { code: 2, message: "upstream 502" },
  });
  expect(server!.attributes).toEqual({
    "gen_ai.operation.name": "chat",
    "gen_ai.usage.input_tokens": 1234567,
    "big.int": 2 ** 40 + 3,
    "negative.int": -42,
    "gen_ai.request.temperature": 0.7,
    "gen_ai.request.top_p": 1,
    "gateway.cache.hit": false,
    "gen_ai.response.finish_reasons": ["stop", "length"],
    unicode: "héllo — 你好 🚀",
    long: "x".repeat(70_000),
    ascii127: "a".repeat(127),
    ascii128: "b".repeat(128),
    control: "tab\there\u0000nul",
  });
  expect(server!.attributeTypes).toEqual({
    "gen_ai.operation.name": "string",
    "gen_ai.usage.input_tokens": "int",
    "big.int": "int",
    "negative.int": "int",
    "gen_ai.request.temperature": "double",
    "gen_ai.request.top_p": "double",
    "gateway.cache.hit": "bool",
    "gen_ai.response.finish_reasons": "array",
    unicode: "string",
    long: "string",
    ascii127: "string",
    ascii128: "string",
    control: "string",
  });
  expect(server!.events).toEqual([
    {
      name: "gateway.upstream.first_chunk",
      timeNanos: 1_733_300_000_050_500_000n,
      attributes: { "gateway.attempt": 1, ratio: 0.5, note: "first" },
    },
  ]);
  expect(attempt!).toMatchObject({
    traceId: TRACE_HEX,
    spanId: "2222222222222222",
    parentSpanId: "00f067aa0ba902b7",
    kind: 3,
    flags: 0x101,
    traceState: "",
    status: { code: 1, message: "" },
  });
  expect(Object.entries(attempt!.attributes)).toEqual([
    ["gateway.attempt", 1],
    ["gen_ai.response.model", "gpt-4o-2024"],
    ["gen_ai.usage.output_tokens", 17],
    ["gateway.cost.usd", 2],
  ]);
  expect(attempt!.attributeTypes).toEqual({
    "gateway.attempt": "int",
    "gen_ai.response.model": "string",
    "gen_ai.usage.output_tokens": "int",
    "gateway.cost.usd": "double",
  });
  expect(root!).toMatchObject({
    traceId: "f123456789abcdef8123456789abcdef",
    spanId: "93333333a3333333",
    parentSpanId: "",
    kind: 1,
    flags: 0x01,
    status: { code: 0, message: "" },
    startNanos: root!.endNanos,
    attributes: {},
    events: [],
  });
}

describe("OTLP encoders, decoded independently", () => {
  test("protobuf: every attribute type, events, status, parent ids, flags, trace state and resource", () => {
    checkDecoded(
      decodeTraceRequest(encodeTraceRequest(sampleSpans(), resource, scope, identity), "application/x-protobuf"),
    );
  });

  test("JSON: the same messages", () => {
    checkDecoded(
      decodeTraceRequest(
        new TextEncoder().encode(encodeTraceRequestJson(sampleSpans(), resource, scope, identity)),
        "application/json",
      ),
    );
  });

  test("dropped attribute and event counts are carried", () => {
    const ended: SpanData[] = [];
    const span = new RecordingSpan(sink(ended), "busy", "internal", TRACE, 0x44444444, 0x44444444, 1, null, null, 1);
    for (let i = 0; i < 130; i++) span.setAttribute(`a${i}`, i).addEvent(`e${i}`);
    span.end(2);
    for (const decoded of [
      decodeTraceRequest(encodeTraceRequest(ended, {}, scope, identity), "application/x-protobuf"),
      decodeTraceRequest(
        new TextEncoder().encode(encodeTraceRequestJson(ended, {}, scope, identity)),
        "application/json",
      ),
    ]) {
      expect(Object.keys(decoded[0]!.attributes)).toHaveLength(128);
      expect(decoded[0]!.droppedAttributesCount).toBe(2);
      expect(decoded[0]!.events).toHaveLength(128);
      expect(decoded[0]!.droppedEventsCount).toBe(2);
    }
  });

  test("every string goes through the scrubber; ids and keys do not", () => {
    const scrub = (t: string) => t.replaceAll("secret-value", "[REDACTED]");
    const ended: SpanData[] = [];
    const span = new RecordingSpan(
      sink(ended),
      "op secret-value",
      "internal",
      TRACE,
      0x55555555,
      0x55555555,
      1,
      null,
      null,
      1,
    );
    span
      .setAttribute("a", "has secret-value inside")
      .setAttribute("list", ["secret-value"])
      .addEvent("e", { msg: "secret-value" })
      .setDeferred((text: string, out) => out.setAttribute("deferred", text), "deferred secret-value")
      .setStatus("error", "secret-value leaked");
    span.end(2);
    const body = encodeTraceRequest(ended, { "host.name": "secret-value" }, scope, scrub);
    expect(Buffer.from(body).toString("latin1")).not.toContain("secret-value");
    const [decoded] = decodeTraceRequest(body, "application/x-protobuf");
    expect(decoded!.attributes).toEqual({
      a: "has [REDACTED] inside",
      list: ["[REDACTED]"],
      deferred: "deferred [REDACTED]",
    });
    expect(decoded!.status.message).toBe("[REDACTED] leaked");
    expect(encodeTraceRequestJson(ended, {}, scope, scrub)).not.toContain("secret-value");
  });

  test("nanosecond timestamps are exact to the microsecond", () => {
    expect(toNanos(1_733_300_000_123.456)).toBe(1_733_300_000_123_456_000n);
    expect(toNanos(0)).toBe(0n);
    expect(toNanos(1.999)).toBe(1_999_000n);
    expect(toNanos(1.9999)).toBe(2_000_000n);
  });

  test("protobuf timestamps are toNanos's value for times across the whole epoch range", () => {
    const ended: SpanData[] = [];
    const times = [0, 0.0004, 1.9999, 65_535.9995, 65_536, 4_294_967.295, 1_733_300_000_123.456, 4_102_444_800_000.999];
    for (let i = 0; i < 200; i++) times.push(Math.random() * 5e12);
    times.forEach((t, i) => {
      new RecordingSpan(sink(ended), "t", "internal", TRACE, 0, i + 1, 1, null, null, t).end(t + 0.5);
    });
    const decoded = decodeTraceRequest(encodeTraceRequest(ended, {}, scope, identity), "application/x-protobuf");
    expect(decoded.map((s) => s.startNanos)).toEqual(times.map(toNanos));
    expect(decoded.map((s) => s.endNanos)).toEqual(times.map((t) => toNanos(t + 0.5)));
  });

  test("UTF-8 sizes match the encoder's, lone surrogates included", () => {
    const ended: SpanData[] = [];
    const values = [
      "\ud800",
      "\udc00\udc00",
      "a\udc00b",
      "\ud83d\ude80",
      "\ud83d",
      "é",
      "\u07ff\u0800\uffff",
      "x".repeat(200) + "€",
    ];
    const span = new RecordingSpan(sink(ended), "u", "internal", TRACE, 0x66666666, 0x66666666, 1, null, null, 1);
    values.forEach((v, i) => {
      span.setAttribute(`v${i}`, v).setAttribute(`list${i}`, [v, "ok"]);
    });
    span.end(2);
    const [decoded] = decodeTraceRequest(encodeTraceRequest(ended, {}, scope, identity), "application/x-protobuf");
    // What TextEncoder makes of each value (a lone surrogate becomes U+FFFD), read back.
    const roundTrip = (v: string) => new TextDecoder().decode(new TextEncoder().encode(v));
    values.forEach((v, i) => {
      expect(decoded!.attributes[`v${i}`]).toBe(roundTrip(v));
      expect(decoded!.attributes[`list${i}`]).toEqual([roundTrip(v), "ok"]);
    });
  });

  test("one encoder, batch after batch: attribute keys written from its cache decode as the first time", () => {
    const ended: SpanData[] = [];
    const span = new RecordingSpan(sink(ended), "k", "internal", TRACE, 0x77777777, 0x77777777, 1, null, null, 1);
    span.setAttribute("ключ.é", "v1").setAttribute("k".repeat(200), 2).setAttribute("gen_ai.operation.name", "chat");
    span.end(2);
    const encoder = new TraceEncoder();
    const batches = [0, 1, 2].map(() =>
      decodeTraceRequest(
        encoder.encode([...sampleSpans(), ...ended], resource, scope, identity).slice(),
        "application/x-protobuf",
      ),
    );
    for (const decoded of batches) {
      checkDecoded(decoded.slice(0, -1));
      expect(decoded.at(-1)!.attributes).toEqual({
        "ключ.é": "v1",
        ["k".repeat(200)]: 2,
        "gen_ai.operation.name": "chat",
      });
    }
  });

  test("one encoder: string values and span names from its caches decode as written the first time, in any field", () => {
    const encoder = new TraceEncoder();
    const res = { "service.name": "otari-gateway", "shared.value": "chat" };
    for (let batch = 0; batch < 3; batch++) {
      const ended: SpanData[] = [];
      // 300 distinct values of one key across the batches: past the per-key bound, the key is written uncached.
      for (let i = 0; i < 100; i++) {
        const id = batch * 100 + i + 1;
        new RecordingSpan(sink(ended), `chat model-${i % 3}`, "client", TRACE, 0, id, 1, null, null, 1)
          .setAttribute("gen_ai.operation.name", "chat")
          .setAttribute("shared.value", "chat")
          .setAttribute("gen_ai.response.id", `resp-${batch}-${i}`)
          // One-item arrays are cached by their item, apart from string values: "chat" and ["chat"] differ.
          .setAttribute("gen_ai.response.finish_reasons", [i % 2 ? "stop" : "length"])
          .setAttribute("list.value", ["chat"])
          .setAttribute("pair.value", ["chat", "stop"])
          .addEvent("e", { "shared.value": "chat", "list.value": "chat" }, 1.5)
          .end(2);
      }
      const decoded = decodeTraceRequest(encoder.encode(ended, res, scope, identity).slice(), "application/x-protobuf");
      expect(decoded.length).toBe(100);
      decoded.forEach((s, i) => {
        expect(s.name).toBe(`chat model-${i % 3}`);
        expect(s.resource).toEqual(res);
        expect(s.attributes).toEqual({
          "gen_ai.operation.name": "chat",
          "shared.value": "chat",
          "gen_ai.response.id": `resp-${batch}-${i}`,
          "gen_ai.response.finish_reasons": [i % 2 ? "stop" : "length"],
          "list.value": ["chat"],
          "pair.value": ["chat", "stop"],
        });
        expect(s.attributeTypes["list.value"]).toBe("array");
        expect(s.events.map((e) => e.attributes)).toEqual([{ "shared.value": "chat", "list.value": "chat" }]);
      });
    }
  });

  test("one encoder, another scrubber: values and names cached under the first are scrubbed by the second", () => {
    const encoder = new TraceEncoder();
    const secret = "sk-planted-secret-0123456789";
    const spans = () => {
      const ended: SpanData[] = [];
      new RecordingSpan(sink(ended), `chat ${secret}`, "server", TRACE, 0x88888888, 0x88888888, 1, null, null, 1)
        .setAttribute("gen_ai.request.model", secret)
        .setAttribute("gen_ai.response.finish_reasons", [secret])
        .end(2);
      return ended;
    };
    const first = decodeTraceRequest(encoder.encode(spans(), {}, scope, identity).slice(), "application/x-protobuf");
    expect(first[0]!.attributes["gen_ai.request.model"]).toBe(secret);
    const scrub = (t: string) => t.replaceAll(secret, "[REDACTED]");
    const [second] = decodeTraceRequest(encoder.encode(spans(), {}, scope, scrub).slice(), "application/x-protobuf");
    expect(second!.name).toBe("chat [REDACTED]");
    expect(second!.attributes["gen_ai.request.model"]).toBe("[REDACTED]");
    expect(second!.attributes["gen_ai.response.finish_reasons"]).toEqual(["[REDACTED]"]);
  });
});
