/**
 * OTLP/HTTP JSON body for traces (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`): the protobuf JSON mapping with OTLP's
 * own rules: ids as lowercase hex (not base64), enums as numbers, 64-bit integers as decimal strings, lowerCamelCase
 * field names.
 */
import { type Scope, type Scrub, spanFlags, toNanos } from "./otlp-proto";
import {
  type Attributes,
  type AttributeValue,
  forEachAttribute,
  kindOf,
  SPAN_KIND,
  type SpanData,
  ValueKind,
} from "./span";

type JsonValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: { stringValue: string }[] } };

const STATUS = { unset: 0, ok: 1, error: 2 } as const;

function value(v: AttributeValue, kind: ValueKind, scrub: Scrub): JsonValue {
  switch (kind) {
    case ValueKind.String:
      return { stringValue: scrub(v as string) };
    case ValueKind.Bool:
      return { boolValue: v as boolean };
    case ValueKind.Int:
      return { intValue: String(v) };
    case ValueKind.Double:
      return { doubleValue: v as number };
    default:
      return { arrayValue: { values: (v as readonly string[]).map((item) => ({ stringValue: scrub(item) })) } };
  }
}

function attributes(attrs: Attributes, scrub: Scrub) {
  return Object.entries(attrs).map(([key, v]) => ({ key, value: value(v, kindOf(v), scrub) }));
}

function span(s: SpanData, scrub: Scrub) {
  const attrs: { key: string; value: JsonValue }[] = [];
  forEachAttribute(s, (key, v, kind) => attrs.push({ key, value: value(v, kind, scrub) }));
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    ...(s.traceState ? { traceState: s.traceState } : {}),
    ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
    flags: spanFlags(s),
    name: scrub(s.name),
    kind: SPAN_KIND[s.kind],
    startTimeUnixNano: toNanos(s.startMs).toString(),
    endTimeUnixNano: toNanos(s.endMs).toString(),
    attributes: attrs,
    ...(s.droppedAttributes ? { droppedAttributesCount: s.droppedAttributes } : {}),
    events: s.events.map((e) => ({
      timeUnixNano: toNanos(e.timeMs).toString(),
      name: e.name,
      attributes: e.attributes ? attributes(e.attributes, scrub) : [],
    })),
    ...(s.droppedEvents ? { droppedEventsCount: s.droppedEvents } : {}),
    ...(s.statusCode === "unset"
      ? {}
      : { status: { code: STATUS[s.statusCode], ...(s.statusMessage ? { message: scrub(s.statusMessage) } : {}) } }),
  };
}

/** The ExportTraceServiceRequest for `spans` as OTLP/JSON text. */
export function encodeTraceRequestJson(
  spans: readonly SpanData[],
  resource: Attributes,
  scope: Scope,
  scrub: Scrub,
): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: attributes(resource, scrub) },
        scopeSpans: [{ scope: { name: scope.name, version: scope.version }, spans: spans.map((s) => span(s, scrub)) }],
      },
    ],
  });
}
