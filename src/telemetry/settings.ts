/**
 * Tracing settings resolved once from the Config (otel_* keys, which the OTEL_* variables also set): where spans
 * go, how they are sampled, the resource that describes this process, and the secrets that must never leave it.
 */
import type { Config } from "../config/load";
import type { OtlpProtocol } from "./exporter";
import { createSampler, type Sampler } from "./sampler";
import type { Attributes } from "./span";

export interface TelemetrySettings {
  /** The gateway's version (service.version, the instrumentation scope's version). */
  version: string;
  /** The traces URL; null turns tracing off (no endpoint set, or `otel_sdk_disabled`). */
  url: string | null;
  protocol: OtlpProtocol;
  headers: Readonly<Record<string, string>>;
  compression: "none" | "gzip";
  requestTimeoutMs: number;
  sampler: Sampler;
  resource: Attributes;
  batch: { maxQueueSize: number; maxExportBatchSize: number; scheduleDelayMs: number; exportTimeoutMs: number };
  propagateUpstream: boolean;
  capture: { enabled: boolean; maxChars: number; patterns: readonly string[] };
  /** Values scrubbed from everything exported. */
  secrets: readonly string[];
}

/** service.name when neither OTEL_SERVICE_NAME nor a service.name resource attribute says otherwise. */
export const DEFAULT_SERVICE_NAME = "otari-gateway";

/**
 * The traces URL: the traces endpoint as it is, else the base endpoint with `/v1/traces` appended (one slash
 * between them), as the OTLP exporter specification resolves them.
 */
export function tracesUrl(
  config: Pick<Config, "otel_exporter_otlp_endpoint" | "otel_exporter_otlp_traces_endpoint">,
): string | null {
  if (config.otel_exporter_otlp_traces_endpoint) return config.otel_exporter_otlp_traces_endpoint;
  if (config.otel_exporter_otlp_endpoint) return `${config.otel_exporter_otlp_endpoint.replace(/\/+$/, "")}/v1/traces`;
  return null;
}

// Environment variables that hold credentials by their name (OPENAI_API_KEY, AWS_SECRET_ACCESS_KEY, *_TOKEN...).
const SECRET_VARIABLE = /(?:KEY|TOKEN|SECRET|PASSWORD|CREDENTIALS)$/;
const SECRET_HEADER = /auth|key|token|secret/i;

/** The gateway's own secrets, from config and environment. */
export function gatewaySecrets(config: Config): string[] {
  const out: (string | null | undefined)[] = [
    config.master_key,
    config.metrics_token,
    config.envSettings.platformToken,
  ];
  for (const entry of Object.values(config.providers)) {
    out.push(entry.api_key, entry.credentials);
    for (const d of entry.deployments ?? []) out.push(d.api_key);
    for (const [name, value] of Object.entries(entry.client_args?.custom_headers ?? {}))
      if (SECRET_HEADER.test(name)) out.push(value);
  }
  for (const value of Object.values(config.otel_exporter_otlp_headers ?? {})) out.push(value);
  for (const [name, value] of Object.entries(config.env)) if (SECRET_VARIABLE.test(name)) out.push(value);
  try {
    const password = new URL(config.database_url).password;
    if (password) out.push(decodeURIComponent(password));
  } catch {
    // A SQLite path, not a URL with credentials.
  }
  return out.filter((s): s is string => typeof s === "string" && s !== "");
}

export function telemetrySettings(config: Config, version: string): TelemetrySettings {
  const extra = config.otel_resource_attributes ?? {};
  return {
    version,
    url: config.otel_sdk_disabled ? null : tracesUrl(config),
    protocol: config.otel_exporter_otlp_protocol,
    headers: config.otel_exporter_otlp_headers ?? {},
    compression: config.otel_exporter_otlp_compression,
    requestTimeoutMs: config.otel_exporter_otlp_timeout,
    sampler: createSampler(config.otel_traces_sampler, config.otel_traces_sampler_arg),
    resource: {
      ...extra,
      "service.name": config.otel_service_name ?? extra["service.name"] ?? DEFAULT_SERVICE_NAME,
      "service.version": extra["service.version"] ?? version,
      "telemetry.sdk.name": DEFAULT_SERVICE_NAME,
      "telemetry.sdk.language": "nodejs",
      "telemetry.sdk.version": version,
    },
    batch: {
      maxQueueSize: config.otel_bsp_max_queue_size,
      maxExportBatchSize: Math.min(config.otel_bsp_max_export_batch_size, config.otel_bsp_max_queue_size),
      scheduleDelayMs: config.otel_bsp_schedule_delay,
      exportTimeoutMs: config.otel_bsp_export_timeout,
    },
    propagateUpstream: config.otel_propagate_upstream,
    capture: {
      enabled: config.otel_capture_content,
      maxChars: config.otel_capture_max_chars,
      patterns: config.otel_redact_patterns,
    },
    secrets: gatewaySecrets(config),
  };
}
