/**
 * The one schema for config.yml (SPEC §8.2 plus §0). Defaults live here; the loader only merges sources.
 * The README's configuration reference is generated from this file (scripts/gen-config-docs.ts).
 */
import { z } from "zod";

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
    models: z.array(z.string()).optional().describe("Models to list in /v1/models (for providers without a listing API)"),
    deployments: z
      .array(z.object({ api_key: z.string().nullish(), api_base: z.string().nullish(), weight: z.number().positive().default(1) }))
      .optional(),
  })
  .loose();

export const pricingEntrySchema = z.object({
  input_price_per_million: z.number().min(0),
  output_price_per_million: z.number().min(0),
  effective_at: z.string().nullish(),
});

export const LOG_LEVELS = ["debug", "info", "warning", "error", "critical"] as const;

export const configSchema = z.object({
  database_url: z.string().default("sqlite:///./otari-gateway.db").describe("sqlite:///<path>, sqlite:///:memory: or postgresql://…"),
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
  cors_allow_origins: z.array(z.string()).default([]).describe("CORS origins; empty disables CORS"),
  providers: z.record(z.string(), providerEntrySchema).default({}).describe("Provider credentials and endpoints"),
  pricing: z.record(z.string(), pricingEntrySchema).default({}).describe("Prices seeded into the DB at start-up"),
  enable_metrics: z.boolean().default(false).describe("Serve Prometheus metrics on /metrics"),
  metrics_token: z.string().nullish().describe("Bearer token required on /metrics (null = open)"),
  enable_docs: z.boolean().default(true).describe("Serve /docs, /redoc and /openapi.json"),
  bootstrap_api_key: z.boolean().default(true).describe("Mint a first key when the key table is empty"),
  log_writer_strategy: z.enum(["single", "batch"]).default("batch").describe("Usage rows written inline or batched"),
  budget_strategy: z.enum(["for_update", "cas", "disabled"]).default("for_update").describe("Budget enforcement"),
  model_discovery: z.boolean().default(true).describe("List provider models in /v1/models"),
  model_cache_ttl_seconds: nonNegInt.default(300).describe("Model-list cache lifetime (0 = no cache)"),
  mode: z
    .string()
    .default("standalone")
    .transform((v) => v.toLowerCase())
    .pipe(z.enum(["standalone", "platform"], { error: "Invalid GATEWAY_MODE value. Expected 'standalone' or 'platform'." }))
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
  reject_user_mismatch: z.boolean().default(false).describe("403 when a key names another user"),
  budget_estimate_default_output_tokens: posInt.default(1024).describe("Output tokens assumed for reservations"),
  budget_sweep_interval_seconds: posInt.default(60).describe("How often stale reservations and due resets are swept"),
  reservation_ttl_seconds: posInt.default(900).describe("Age after which an unsettled reservation is released"),
  streaming_keepalive_interval_ms: nonNegInt.default(15000).describe("SSE keepalive interval (0 disables)"),
  stream_drain_timeout_ms: nonNegInt.default(30000).describe("How long a disconnected stream is read for its usage"),
  max_request_body_bytes: posInt.default(33554432).describe("Request body limit (413 above it)"),
  http_idle_timeout_seconds: posInt
    .max(255)
    .default(30)
    .describe("Seconds a keep-alive connection may sit idle between requests before it is closed (a request's head has Bun's own 10 s)"),
  http_body_timeout_seconds: posInt.default(60).describe("Seconds a client has to send a request body (408 and the connection closed after)"),
  http_max_connections: posInt
    .nullish()
    .describe("Open connections above which idle ones are closed and new requests get 503 (counted as open file descriptors, Linux); null = 90% of the open-file limit"),
  log_level: z
    .string()
    .default("info")
    .transform((v) => (v.toLowerCase() === "warn" ? "warning" : v.toLowerCase()))
    .pipe(z.enum(LOG_LEVELS))
    .describe("debug, info, warning, error or critical"),
  log_format: z.enum(["auto", "pretty", "json"]).default("auto").describe("auto = pretty on a TTY, else JSON lines"),
  log_prompts: z.boolean().default(false).describe("Log request messages at debug level; needs log_level debug (debugging only)"),
  shutdown_grace_seconds: nonNegInt.default(30).describe("How long in-flight requests may finish on SIGTERM"),
  usage_journal_path: z.string().nullish().describe("Crash journal for usage rows"),
  usage_journal_fsync: z.boolean().default(false).describe("fsync the usage journal on every append"),
  aliases: z.record(z.string(), z.union([z.string(), z.array(z.string()).min(1)])).default({}).describe("Model aliases"),
  routing: z
    .object({ retries: nonNegInt.default(2), deadline_ms: posInt.default(60000), cooldown_seconds: nonNegInt.default(30) })
    .prefault({})
    .describe("Retries, total deadline and cooldown for fallbacks"),
  sandbox: z.object({ embedded: z.boolean().default(true) }).prefault({}).describe("Embedded code sandbox"),
});

export type FileConfig = z.infer<typeof configSchema>;
export type ProviderEntry = z.infer<typeof providerEntrySchema>;

type ScalarKind = "string" | "number" | "boolean";

/** Scalar keys that env vars (OTARI_/GATEWAY_) and flags may set, with their kind; lists and maps come only from YAML. */
export const SCALAR_KEYS: Readonly<Record<string, ScalarKind>> = Object.fromEntries(
  Object.entries(configSchema.shape).flatMap(([key, field]) => {
    type Json = { type?: string | string[]; anyOf?: { type?: string | string[] }[] };
    const json = z.toJSONSchema(field, { io: "input", unrepresentable: "any" }) as Json;
    // A nullable field's type is a list (`["string", "null"]`): flatten, or `master_key` would not be read from env.
    const types = (json.type ? [json.type] : (json.anyOf ?? []).map((t) => t.type)).flat();
    const kind = types.includes("boolean") ? "boolean" : types.some((t) => t === "number" || t === "integer") ? "number" : types.includes("string") ? "string" : null;
    return kind ? [[key, kind]] : [];
  }),
);
