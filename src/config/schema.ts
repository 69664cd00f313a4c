/**
 * The one schema for config.yml (docs/configuration.md#keys). Defaults live here; the loader only merges sources.
 * The configuration reference (docs/configuration.md#keys) is generated from this file (scripts/gen-config-docs.ts).
 */
import { z } from "zod";
import { parseKeyValueList } from "./key-value-list";
import { rateLimitRuleInput } from "../core/schemas/rate-limits";
import { DEFAULT_UPSTREAM_MAX_BODY_BYTES, DEFAULT_UPSTREAM_MAX_EVENT_BYTES } from "../core/upstream-limits";
import { pricingUnit } from "../core/schemas/pricing";

const nonNegInt = z.number().int().min(0);
const posInt = z.number().int().min(1);

export const providerEntrySchema = z
  .object({
    api_key: z.string().nullish().describe("Provider credential; falls back to the provider's env var"),
    api_base: z.string().nullish().describe("Overrides the provider's default base URL"),
    provider_type: z.string().nullish().describe("Makes this entry a named instance of a known provider"),
    client_args: z
      .object({
        custom_headers: z.record(z.string(), z.string()).optional(),
        timeout: z.number().positive().optional(),
        api_version: z.string().optional(),
        region: z.string().optional(),
      })
      .loose()
      .optional(),
    credentials: z.string().nullish(),
    project: z.string().nullish(),
    location: z.string().nullish(),
    models: z
      .array(z.string())
      .optional()
      .describe("Models to list in /v1/models (for providers without a listing API)"),
    deployments: z
      .array(
        z.object({
          api_key: z.string().nullish(),
          api_base: z.string().nullish(),
          weight: z.number().positive().default(1),
        }),
      )
      .optional(),
  })
  .loose();

export const pricingEntrySchema = z.object({
  input_price_per_million: z.number().min(0),
  output_price_per_million: z.number().min(0),
  unit: pricingUnit.optional(),
  effective_at: z.string().nullish(),
});

/** A `k=v,k2=v2` list (as its OTEL_* variable holds it) or a YAML map; a map either way. */
const keyValueList = z.union([z.string(), z.record(z.string(), z.string())]).transform((value, ctx) => {
  if (typeof value !== "string") return value;
  try {
    return parseKeyValueList(value);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
    return z.NEVER;
  }
});

const regexSource = z.string().refine(
  (source) => {
    try {
      new RegExp(source);
      return true;
    } catch {
      return false;
    }
  },
  { error: "not a valid regular expression" },
);

export const LOG_LEVELS = ["debug", "info", "warning", "error", "critical"] as const;

export const configSchema = z.object({
  database_url: z
    .string()
    .default("sqlite:///./otari-gateway.db")
    .describe("sqlite:///<path>, sqlite:///:memory: or postgresql://…"),
  auto_migrate: z.boolean().default(true).describe("Apply migrations when `serve` starts"),
  db_pool_size: posInt.default(10).describe("Postgres pool size"),
  db_max_overflow: nonNegInt.default(20).describe("Extra Postgres connections above the pool size"),
  db_pool_timeout: z.number().positive().default(30).describe("Seconds to wait for a Postgres connection"),
  db_pool_recycle: z.number().int().default(-1).describe("Max Postgres connection age in seconds (-1 off)"),
  host: z.string().default("0.0.0.0").describe("Bind address"),
  port: z.number().int().min(0).max(65535).default(8000).describe("Bind port"),
  master_key: z.string().nullish().describe("Master key for management routes; generated on first start when unset"),
  rate_limit_rpm: posInt.nullish().describe("Default per-user requests per minute"),
  rate_limit_tpm: posInt.nullish().describe("Default per-user tokens per minute"),
  rate_limits: z
    .array(rateLimitRuleInput)
    .default([])
    .describe(
      "Rate-limit rules {scope, scope_id, model, rpm, tpm, max_concurrent}; shown read-only by /v1/rate-limits",
    ),
  cors_allow_origins: z.array(z.string()).default([]).describe("CORS origins; empty disables CORS"),
  providers: z.record(z.string(), providerEntrySchema).default({}).describe("Provider credentials and endpoints"),
  pricing: z.record(z.string(), pricingEntrySchema).default({}).describe("Prices seeded into the DB at start-up"),
  enable_metrics: z.boolean().default(false).describe("Serve Prometheus metrics on /metrics"),
  metrics_token: z.string().nullish().describe("Bearer token required on /metrics (null = open)"),
  enable_docs: z.boolean().default(true).describe("Serve /docs, /redoc and /openapi.json"),
  enable_ui: z.boolean().default(true).describe("Serve the operator console at /ui (sign-in with the master key)"),
  ui_session_ttl_seconds: posInt.max(2_592_000).default(43_200).describe("How long a console sign-in lasts"),
  bootstrap_api_key: z.boolean().default(true).describe("Mint a first key when the key table is empty"),
  log_writer_strategy: z.enum(["single", "batch"]).default("batch").describe("Usage rows written inline or batched"),
  budget_strategy: z.enum(["for_update", "cas", "disabled"]).default("for_update").describe("Budget enforcement"),
  model_discovery: z.boolean().default(true).describe("List provider models in /v1/models"),
  model_cache_ttl_seconds: nonNegInt.default(300).describe("Model-list cache lifetime (0 = no cache)"),
  mode: z
    .string()
    .default("standalone")
    .transform((v) => v.toLowerCase())
    .pipe(
      z.enum(["standalone", "platform"], { error: "Invalid GATEWAY_MODE value. Expected 'standalone' or 'platform'." }),
    )
    .describe("standalone or platform"),
  platform: z
    .object({
      base_url: z.string().nullish(),
      resolve_timeout_ms: posInt.default(5000),
      usage_timeout_ms: posInt.default(5000),
      usage_max_retries: posInt.default(3),
      streaming_first_chunk_timeout_ms: posInt.default(2000),
      streaming_first_chunk_timeout_ms_tool_loop: posInt.default(30000),
      health_path: z.string().default("/utils/health-check/"),
    })
    .prefault({})
    .describe("Platform-mode client settings"),
  require_pricing: z.boolean().default(false).describe("Refuse unpriced models with 402"),
  reject_user_mismatch: z
    .boolean()
    .default(false)
    .describe("403 when a virtual key's `user` is not the key's own user"),
  budget_estimate_default_output_tokens: posInt.default(1024).describe("Output tokens assumed for reservations"),
  budget_sweep_interval_seconds: posInt.default(60).describe("How often stale reservations and due resets are swept"),
  reservation_ttl_seconds: posInt.default(900).describe("Age after which an unsettled reservation is released"),
  alert_delivery: z
    .object({
      poll_interval_ms: posInt.default(5000),
      send_timeout_ms: posInt.default(10000),
    })
    .prefault({})
    .describe(
      "Spend-alert webhooks: how often due retries are looked for, and how long a webhook has to answer (a replica's claim on an alert lasts 3x that)",
    ),
  streaming_keepalive_interval_ms: nonNegInt.default(15000).describe("SSE keepalive interval (0 disables)"),
  stream_drain_timeout_ms: nonNegInt.default(30000).describe("How long a disconnected stream is read for its usage"),
  max_request_body_bytes: posInt.default(33554432).describe("Request body limit (413 above it)"),
  upstream_max_body_bytes: posInt
    .default(DEFAULT_UPSTREAM_MAX_BODY_BYTES)
    .describe("Largest upstream response body read whole (JSON answers, error bodies); larger is a 502"),
  upstream_max_event_bytes: posInt
    .default(DEFAULT_UPSTREAM_MAX_EVENT_BYTES)
    .describe(
      "Largest single upstream stream event (SSE line or event, AWS eventstream message); larger ends the stream with an error",
    ),
  http_idle_timeout_seconds: posInt
    .max(255)
    .default(30)
    .describe(
      "Seconds a keep-alive connection may sit idle between requests before it is closed (a request's head has Bun's own 10 s)",
    ),
  http_body_timeout_seconds: posInt
    .default(60)
    .describe("Seconds a client has to send a request body (408 and the connection closed after)"),
  http_max_connections: posInt
    .nullish()
    .describe(
      "Open connections above which idle ones are closed and new requests get 503 (counted as open file descriptors, Linux); null = 90% of the open-file limit",
    ),
  log_level: z
    .string()
    .default("info")
    .transform((v) => (v.toLowerCase() === "warn" ? "warning" : v.toLowerCase()))
    .pipe(z.enum(LOG_LEVELS))
    .describe("debug, info, warning, error or critical"),
  log_format: z.enum(["auto", "pretty", "json"]).default("auto").describe("auto = pretty on a TTY, else JSON lines"),
  log_prompts: z
    .boolean()
    .default(false)
    .describe("Log request messages at debug level; needs log_level debug (debugging only)"),
  shutdown_grace_seconds: nonNegInt.default(30).describe("How long in-flight requests may finish on SIGTERM"),
  usage_journal_path: z.string().nullish().describe("Crash journal for usage rows"),
  usage_journal_fsync: z.boolean().default(false).describe("fsync the usage journal on every append"),
  aliases: z
    .record(z.string(), z.union([z.string(), z.array(z.string()).min(1)]))
    .default({})
    .describe("Model aliases"),
  routing: z
    .object({
      retries: nonNegInt.default(2),
      deadline_ms: posInt.default(60000),
      cooldown_seconds: nonNegInt.default(30),
    })
    .prefault({})
    .describe("Retries, total deadline and cooldown for fallbacks"),
  sandbox: z
    .object({ embedded: z.boolean().default(true) })
    .prefault({})
    .describe("Embedded code sandbox"),
  // Tracing (docs/tracing.md): each otel_* key is the lowercase name of the OpenTelemetry variable that also sets it.
  otel_sdk_disabled: z.boolean().default(false).describe("Turns tracing off whatever else is set"),
  otel_exporter_otlp_endpoint: z
    .string()
    .nullish()
    .describe(
      "OTLP/HTTP base URL; spans go to <url>/v1/traces. Tracing is off unless this or the traces endpoint is set",
    ),
  otel_exporter_otlp_traces_endpoint: z
    .string()
    .nullish()
    .describe("Full OTLP/HTTP traces URL, used as is (wins over the base URL)"),
  otel_exporter_otlp_protocol: z
    .enum(["http/protobuf", "http/json"], {
      error: "Expected 'http/protobuf' or 'http/json' (gRPC export is not supported)",
    })
    .default("http/protobuf")
    .describe("Export encoding"),
  otel_exporter_otlp_headers: keyValueList
    .nullish()
    .describe("Headers sent with every export (`k=v,k2=v2`, percent-encoded values, or a YAML map)"),
  otel_exporter_otlp_timeout: posInt.default(10000).describe("Milliseconds one export request may take"),
  otel_exporter_otlp_compression: z.enum(["none", "gzip"]).default("none").describe("Export body compression"),
  otel_service_name: z.string().nullish().describe("service.name of the exported spans (default otari-gateway)"),
  otel_resource_attributes: keyValueList
    .nullish()
    .describe("More resource attributes (`k=v,k2=v2`, percent-encoded values, or a YAML map)"),
  otel_traces_sampler: z
    .enum([
      "always_on",
      "always_off",
      "traceidratio",
      "parentbased_always_on",
      "parentbased_always_off",
      "parentbased_traceidratio",
    ])
    .default("parentbased_always_on")
    .describe("Which traces are kept"),
  otel_traces_sampler_arg: z
    .number()
    .min(0)
    .max(1)
    .nullish()
    .describe("Ratio for the traceidratio samplers (default 1.0)"),
  otel_bsp_schedule_delay: nonNegInt.default(5000).describe("Milliseconds between two exports of queued spans"),
  otel_bsp_export_timeout: posInt.default(30000).describe("Milliseconds one batch's export may take, retries included"),
  otel_bsp_max_queue_size: posInt.default(2048).describe("Spans waiting for export; more are dropped and counted"),
  otel_bsp_max_export_batch_size: posInt.default(512).describe("Spans per export request (at most the queue size)"),
  otel_propagate_upstream: z.boolean().default(true).describe("Send traceparent/tracestate to providers"),
  otel_capture_content: z
    .boolean()
    .default(false)
    .describe("Put prompts and completions into spans (redacted, truncated); a key's own setting wins"),
  otel_capture_max_chars: posInt
    .default(16384)
    .describe("Longest captured content attribute, in characters, after redaction"),
  otel_redact_patterns: z
    .array(regexSource)
    .default([])
    .describe("Regular expressions removed from captured content, beside the built-in set"),
});

export type FileConfig = z.infer<typeof configSchema>;
export type ProviderEntry = z.infer<typeof providerEntrySchema>;

type ScalarKind = "string" | "number" | "boolean";

/**
 * Standard variables that set a key too, below OTARI_<KEY> and GATEWAY_<KEY> and above YAML; where two are
 * listed, the first (OpenTelemetry's traces-specific one) wins.
 */
export const STANDARD_ENV: Readonly<Partial<Record<keyof FileConfig, readonly string[]>>> = {
  database_url: ["DATABASE_URL"],
  otel_sdk_disabled: ["OTEL_SDK_DISABLED"],
  otel_exporter_otlp_endpoint: ["OTEL_EXPORTER_OTLP_ENDPOINT"],
  otel_exporter_otlp_traces_endpoint: ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"],
  otel_exporter_otlp_protocol: ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"],
  otel_exporter_otlp_headers: ["OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"],
  otel_exporter_otlp_timeout: ["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"],
  otel_exporter_otlp_compression: ["OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"],
  otel_service_name: ["OTEL_SERVICE_NAME"],
  otel_resource_attributes: ["OTEL_RESOURCE_ATTRIBUTES"],
  otel_traces_sampler: ["OTEL_TRACES_SAMPLER"],
  otel_traces_sampler_arg: ["OTEL_TRACES_SAMPLER_ARG"],
  otel_bsp_schedule_delay: ["OTEL_BSP_SCHEDULE_DELAY"],
  otel_bsp_export_timeout: ["OTEL_BSP_EXPORT_TIMEOUT"],
  otel_bsp_max_queue_size: ["OTEL_BSP_MAX_QUEUE_SIZE"],
  otel_bsp_max_export_batch_size: ["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"],
};

/** The zod definition fields the walk below reads. */
interface WalkedDef {
  type: string;
  innerType?: z.core.$ZodType;
  in?: z.core.$ZodType;
  options?: z.core.$ZodType[];
  shape?: Record<string, z.core.$ZodType>;
  catchall?: z.core.$ZodType;
  valueType?: z.core.$ZodType;
  element?: z.core.$ZodType;
  entries?: Record<string, unknown>;
  values?: unknown[];
}

/** What a config position takes as input: the part of its JSON Schema (`io: "input"`) the loader reads. */
export interface InputShape {
  /** Every JSON type it accepts: each member of a union, `null` for a nullable. */
  types: string[];
  /** Its one type, when it has exactly one (neither a union nor nullable). */
  type?: string;
  properties?: Record<string, InputShape>;
  /** A map's values, or anything for a loose object. */
  additionalProperties?: InputShape;
  items?: InputShape;
}

const single = (types: string[]): InputShape => ({ types, ...(types.length === 1 ? { type: types[0] } : {}) });

/**
 * A schema's InputShape, read from its zod definition the way `z.toJSONSchema(schema, { io: "input" })` reads it (the
 * input side of a pipe, nothing for a transform or a `$ref`): toJSONSchema itself cost each start ~5 ms and ~1.5 MB
 * of heap.
 * src/config/load.test.ts holds the two to the same answer for the whole config schema.
 */
export function inputShape(schema: z.core.$ZodType): InputShape {
  // A schema with an id (`.meta({ id })`, an API type) is a `$ref` there, which the loader never followed.
  if (z.globalRegistry.get(schema)?.id !== undefined) return { types: [] };
  const def = schema._zod.def as WalkedDef;
  switch (def.type) {
    case "nullable":
      return { types: [...inputShape(def.innerType!).types, "null"] };
    case "optional":
    case "default":
    case "prefault":
    case "readonly":
    case "catch":
    case "nonoptional":
      return inputShape(def.innerType!);
    case "pipe":
      return inputShape(def.in!);
    case "union":
      return { types: def.options!.flatMap((option) => inputShape(option).types) };
    case "object": {
      const properties = Object.fromEntries(Object.entries(def.shape!).map(([key, value]) => [key, inputShape(value)]));
      const rest = def.catchall && def.catchall._zod.def.type !== "never" ? inputShape(def.catchall) : undefined;
      return { types: ["object"], type: "object", properties, ...(rest ? { additionalProperties: rest } : {}) };
    }
    case "record":
      return { types: ["object"], type: "object", additionalProperties: inputShape(def.valueType!) };
    case "array":
      return { types: ["array"], type: "array", items: inputShape(def.element!) };
    case "string":
    case "number":
    case "boolean":
    case "null":
      return single([def.type]);
    case "enum":
      return single([...new Set(Object.values(def.entries!).map((v) => typeof v))]);
    case "literal":
      return single([...new Set(def.values!.map((v) => (v === null ? "null" : typeof v)))]);
    default:
      return { types: [] };
  }
}

/** Scalar keys that env vars (OTARI_/GATEWAY_) and flags may set, with their kind; lists and maps come only from YAML. */
export const SCALAR_KEYS: Readonly<Record<string, ScalarKind>> = Object.fromEntries(
  Object.entries(configSchema.shape).flatMap(([key, field]) => {
    const { types } = inputShape(field);
    const kind = types.includes("boolean")
      ? "boolean"
      : types.includes("number")
        ? "number"
        : types.includes("string")
          ? "string"
          : null;
    return kind ? [[key, kind]] : [];
  }),
);
