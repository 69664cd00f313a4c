/**
 * A stand-in OpenTelemetry collector for tests: an OTLP/HTTP traces endpoint on a free loopback port that decodes
 * protobuf and JSON bodies (gzip too) with protobufjs and the OTLP definitions in tests/fixtures/otlp/, independent
 * of the gateway's encoder, and keeps the spans for assertions (flat, or as a tree per trace). Its answers can be
 * scripted (statuses, Retry-After, hanging) to test retries and a collector that never answers.
 */
import { resolve } from "node:path";
import protobuf from "protobufjs";

export type AttributeType = "string" | "bool" | "int" | "double" | "array";

export interface ReceivedEvent {
  name: string;
  timeNanos: bigint;
  attributes: Record<string, unknown>;
}

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  traceState: string;
  flags: number;
  name: string;
  /** OTLP SpanKind number: 1 internal, 2 server, 3 client. */
  kind: number;
  startNanos: bigint;
  endNanos: bigint;
  /** Values: strings, booleans, numbers (int and double), string arrays. */
  attributes: Record<string, unknown>;
  attributeTypes: Record<string, AttributeType>;
  droppedAttributesCount: number;
  events: ReceivedEvent[];
  droppedEventsCount: number;
  /** 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  resource: Record<string, unknown>;
  scope: { name: string; version: string };
}

export interface ReceivedRequest {
  contentType: string;
  contentEncoding: string | null;
  headers: Headers;
  /** The body as it arrived (before gunzip). */
  rawBytes: number;
  spans: ReceivedSpan[];
}

export interface SpanNode {
  span: ReceivedSpan;
  children: SpanNode[];
}

/** `status` (with optional headers) answers one request; "hang" never answers it. */
export type ScriptStep = { status: number; headers?: Record<string, string> } | "hang";

export interface OtlpReceiver {
  /** Base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`). */
  readonly url: string;
  /** `${url}/v1/traces` */
  readonly tracesUrl: string;
  readonly requests: ReceivedRequest[];
  /** Times (ms) requests arrived, including those answered with an error or left hanging. */
  readonly arrivals: number[];
  spans(): ReceivedSpan[];
  /** Resolves once at least `count` spans arrived (rejects after `timeoutMs`). */
  waitForSpans(count: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  /** Root spans with their descendants, for one trace or all. */
  tree(traceId?: string): SpanNode[];
  /** Answers the next requests as listed, then 200 again. */
  script(...steps: ScriptStep[]): void;
  close(): Promise<void>;
}

const FIXTURES = resolve(import.meta.dir, "..", "fixtures", "otlp");
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => resolve(FIXTURES, target);
root.loadSync("trace_service.proto");
const RequestType = root.lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest");
const ResponseType = root.lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse");
const TO_OBJECT = { longs: String, enums: Number, bytes: String, oneofs: true } as const;

type Obj = Record<string, unknown>;

const hex = (base64: unknown) => (typeof base64 === "string" ? Buffer.from(base64, "base64").toString("hex") : "");
const base64 = (hexText: unknown) =>
  typeof hexText === "string" ? Buffer.from(hexText, "hex").toString("base64") : hexText;

function anyValue(v: Obj | undefined): [unknown, AttributeType] {
  switch (v?.value) {
    case "stringValue":
      return [v.stringValue, "string"];
    case "boolValue":
      return [v.boolValue, "bool"];
    case "intValue":
      return [Number(v.intValue), "int"];
    case "doubleValue":
      return [v.doubleValue, "double"];
    case "arrayValue":
      return [((v.arrayValue as Obj).values as Obj[] | undefined)?.map((item) => anyValue(item)[0]) ?? [], "array"];
    default:
      throw new Error(`unexpected AnyValue ${JSON.stringify(v)}`);
  }
}

function attributes(list: unknown): { values: Record<string, unknown>; types: Record<string, AttributeType> } {
  const values: Record<string, unknown> = {};
  const types: Record<string, AttributeType> = {};
  for (const kv of (list as Obj[] | undefined) ?? []) {
    const key = kv.key as string;
    if (key in values) throw new Error(`duplicate attribute key ${key}`);
    [values[key], types[key]] = anyValue(kv.value as Obj);
  }
  return { values, types };
}

function toSpans(message: Obj): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of (message.resourceSpans as Obj[] | undefined) ?? []) {
    const resource = attributes((rs.resource as Obj | undefined)?.attributes).values;
    for (const ss of (rs.scopeSpans as Obj[] | undefined) ?? []) {
      const scope = (ss.scope as Obj | undefined) ?? {};
      for (const s of (ss.spans as Obj[] | undefined) ?? []) {
        const attrs = attributes(s.attributes);
        const status = (s.status as Obj | undefined) ?? {};
        out.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          traceState: (s.traceState as string | undefined) ?? "",
          flags: (s.flags as number | undefined) ?? 0,
          name: (s.name as string | undefined) ?? "",
          kind: (s.kind as number | undefined) ?? 0,
          startNanos: BigInt((s.startTimeUnixNano as string | undefined) ?? "0"),
          endNanos: BigInt((s.endTimeUnixNano as string | undefined) ?? "0"),
          attributes: attrs.values,
          attributeTypes: attrs.types,
          droppedAttributesCount: (s.droppedAttributesCount as number | undefined) ?? 0,
          events: ((s.events as Obj[] | undefined) ?? []).map((e) => ({
            name: (e.name as string | undefined) ?? "",
            timeNanos: BigInt((e.timeUnixNano as string | undefined) ?? "0"),
            attributes: attributes(e.attributes).values,
          })),
          droppedEventsCount: (s.droppedEventsCount as number | undefined) ?? 0,
          status: {
            code: (status.code as number | undefined) ?? 0,
            message: (status.message as string | undefined) ?? "",
          },
          resource,
          scope: {
            name: (scope.name as string | undefined) ?? "",
            version: (scope.version as string | undefined) ?? "",
          },
        });
      }
    }
  }
  return out;
}

/** Throws on a JSON member the OTLP messages do not define (protobufjs' fromObject would silently skip it). */
function checkJsonFields(value: unknown, type: protobuf.Type, path: string): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      checkJsonFields(v, type, `${path}[${i}]`);
    });
    return;
  }
  if (!value || typeof value !== "object") return;
  for (const [key, v] of Object.entries(value)) {
    const field = type.fields[key];
    if (!field) throw new Error(`unknown OTLP/JSON field ${path}.${key}`);
    field.resolve();
    if (field.resolvedType instanceof protobuf.Type) checkJsonFields(v, field.resolvedType, `${path}.${key}`);
  }
}

/** OTLP/JSON carries ids as hex; protobufjs' JSON form expects base64 for bytes. */
function idsToBase64(message: Obj): Obj {
  for (const rs of (message.resourceSpans as Obj[] | undefined) ?? []) {
    for (const ss of (rs.scopeSpans as Obj[] | undefined) ?? []) {
      for (const s of (ss.spans as Obj[] | undefined) ?? []) {
        for (const id of ["traceId", "spanId", "parentSpanId"]) if (id in s) s[id] = base64(s[id]);
      }
    }
  }
  return message;
}

/** Decodes one OTLP/HTTP traces body (protobuf or JSON) with the independent decoder. */
export function decodeTraceRequest(body: Uint8Array, contentType: string): ReceivedSpan[] {
  if (contentType.startsWith("application/x-protobuf")) {
    return toSpans(RequestType.toObject(RequestType.decode(body), TO_OBJECT) as Obj);
  }
  if (contentType.startsWith("application/json")) {
    const json = JSON.parse(new TextDecoder().decode(body)) as Obj;
    checkJsonFields(json, RequestType, "$");
    return toSpans(RequestType.toObject(RequestType.fromObject(idsToBase64(json)), TO_OBJECT) as Obj);
  }
  throw new Error(`unexpected content-type ${contentType}`);
}

/** Children under their parents; spans whose parent is not among them are roots. */
export function spanTree(spans: readonly ReceivedSpan[]): SpanNode[] {
  const nodes = new Map(spans.map((span) => [span.spanId, { span, children: [] as SpanNode[] }]));
  const roots: SpanNode[] = [];
  for (const node of nodes.values()) {
    const parent = nodes.get(node.span.parentSpanId);
    if (parent) parent.children.push(node);
    else roots.push(node);
  }
  const byStart = (a: SpanNode, b: SpanNode) =>
    a.span.startNanos < b.span.startNanos ? -1 : a.span.startNanos > b.span.startNanos ? 1 : 0;
  for (const node of nodes.values()) node.children.sort(byStart);
  return roots.sort(byStart);
}

export function startOtlpReceiver(): OtlpReceiver {
  const requests: ReceivedRequest[] = [];
  const arrivals: number[] = [];
  const steps: ScriptStep[] = [];
  const hanging = new Set<() => void>();
  const waiters = new Set<() => void>();
  const all = () => requests.flatMap((r) => r.spans);

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (req.method !== "POST" || path !== "/v1/traces") return new Response("not found", { status: 404 });
      arrivals.push(Date.now());
      const step = steps.shift();
      if (step === "hang") {
        await new Promise<void>((done) => {
          hanging.add(done);
          req.signal.addEventListener("abort", () => done());
        });
        return new Response(null, { status: 503 });
      }
      if (step) {
        await req.arrayBuffer();
        return new Response(null, { status: step.status, headers: step.headers });
      }
      const raw = new Uint8Array(await req.arrayBuffer());
      const encoding = req.headers.get("content-encoding");
      const body = encoding === "gzip" ? Bun.gunzipSync(raw) : raw;
      const contentType = req.headers.get("content-type") ?? "";
      let spans: ReceivedSpan[];
      try {
        spans = decodeTraceRequest(body, contentType);
      } catch (err) {
        return new Response(String(err), { status: 400 });
      }
      requests.push({ contentType, contentEncoding: encoding, headers: req.headers, rawBytes: raw.length, spans });
      for (const wake of waiters) wake();
      if (contentType.startsWith("application/json")) return Response.json({});
      return new Response(ResponseType.encode(ResponseType.create({})).finish(), {
        headers: { "content-type": "application/x-protobuf" },
      });
    },
  });
  const url = `http://127.0.0.1:${server.port}`;

  return {
    url,
    tracesUrl: `${url}/v1/traces`,
    requests,
    arrivals,
    spans: all,
    async waitForSpans(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (all().length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`expected ${count} spans, received ${all().length}`);
        await new Promise<void>((wake) => {
          const done = () => {
            clearTimeout(timer);
            waiters.delete(done);
            wake();
          };
          const timer = setTimeout(done, left);
          waiters.add(done);
        });
      }
      return all();
    },
    tree(traceId) {
      return spanTree(traceId ? all().filter((s) => s.traceId === traceId) : all());
    },
    script(...next) {
      steps.push(...next);
    },
    async close() {
      for (const release of hanging) release();
      await server.stop(true);
    },
  };
}
