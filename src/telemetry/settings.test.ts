/** Tracing configuration: the otel_* keys, the OTEL_* variables that set them, precedence and validation. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../config/load";
import { DEFAULT_SERVICE_NAME, gatewaySecrets, telemetrySettings } from "./settings";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function load(env: Record<string, string> = {}, yaml?: string) {
  const cwd = mkdtempSync(join(tmpdir(), "gw-otel-"));
  dirs.push(cwd);
  if (yaml !== undefined) writeFileSync(join(cwd, "config.yml"), yaml);
  return loadConfig({ env, cwd, warn: () => {} });
}

const settings = (env: Record<string, string> = {}, yaml?: string) => telemetrySettings(load(env, yaml), "1.2.3");

function configError(env: Record<string, string>, yaml?: string): string {
  try {
    load(env, yaml);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("tracing settings", () => {
  test("defaults: off (no endpoint), parent-based always-on, propagation on, no content capture, the OTel SDK's batch defaults", () => {
    const s = settings();
    expect(s.url).toBeNull();
    expect(s.protocol).toBe("http/protobuf");
    expect(s.sampler.description).toBe("ParentBased{root=AlwaysOnSampler}");
    expect(s.propagateUpstream).toBe(true);
    expect(s.capture).toEqual({ enabled: false, maxChars: 16384, patterns: [] });
    expect(s.batch).toEqual({
      maxQueueSize: 2048,
      maxExportBatchSize: 512,
      scheduleDelayMs: 5000,
      exportTimeoutMs: 30000,
    });
    expect(s.requestTimeoutMs).toBe(10000);
    expect(s.resource).toEqual({
      "service.name": DEFAULT_SERVICE_NAME,
      "service.version": "1.2.3",
      "telemetry.sdk.name": "otari-gateway",
      "telemetry.sdk.language": "nodejs",
      "telemetry.sdk.version": "1.2.3",
    });
  });

  test("the base endpoint gets /v1/traces; the traces endpoint is used as it is and wins", () => {
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }).url).toBe(
      "http://collector:4318/v1/traces",
    );
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }).url).toBe(
      "http://collector:4318/v1/traces",
    );
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "https://otlp.example/api/public/otel" }).url).toBe(
      "https://otlp.example/api/public/otel/v1/traces",
    );
    expect(
      settings({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://b:4318/custom",
      }).url,
    ).toBe("http://b:4318/custom");
    expect(settings({}, "otel_exporter_otlp_endpoint: http://yaml:4318\n").url).toBe("http://yaml:4318/v1/traces");
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_SDK_DISABLED: "true" }).url).toBeNull();
  });

  test("precedence: OTARI_ > GATEWAY_ > the standard OTEL_ variable > YAML > default", () => {
    const yaml = "otel_service_name: from-yaml\n";
    expect(settings({}, yaml).resource["service.name"]).toBe("from-yaml");
    expect(settings({ OTEL_SERVICE_NAME: "from-otel" }, yaml).resource["service.name"]).toBe("from-otel");
    expect(
      settings({ OTEL_SERVICE_NAME: "from-otel", GATEWAY_OTEL_SERVICE_NAME: "from-gateway" }, yaml).resource[
        "service.name"
      ],
    ).toBe("from-gateway");
    expect(
      settings({ GATEWAY_OTEL_SERVICE_NAME: "from-gateway", OTARI_OTEL_SERVICE_NAME: "from-otari" }, yaml).resource[
        "service.name"
      ],
    ).toBe("from-otari");
    // An empty variable counts as unset.
    expect(settings({ OTEL_SERVICE_NAME: "" }, yaml).resource["service.name"]).toBe("from-yaml");
  });

  test("the traces-specific variable wins over the generic one", () => {
    const s = settings({
      OTEL_EXPORTER_OTLP_HEADERS: "x-a=generic",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-a=traces",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
    });
    expect(s.headers).toEqual({ "x-a": "traces" });
    expect(s.protocol).toBe("http/json");
    expect(settings({ OTEL_EXPORTER_OTLP_TIMEOUT: "2500" }).requestTimeoutMs).toBe(2500);
    expect(settings({ OTEL_EXPORTER_OTLP_COMPRESSION: "gzip" }).compression).toBe("gzip");
  });

  test("headers and resource attributes: k=v lists with percent-decoded values, or YAML maps", () => {
    const s = settings({
      OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Basic%20cGs6c2s%3D, x-scope = tenant-1",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=prod%20eu,team=a%2Cb,service.name=from-attrs",
    });
    expect(s.headers).toEqual({ Authorization: "Basic cGs6c2s=", "x-scope": "tenant-1" });
    expect(s.resource).toMatchObject({
      "deployment.environment": "prod eu",
      team: "a,b",
      "service.name": "from-attrs",
    });
    // OTEL_SERVICE_NAME wins over a service.name resource attribute.
    expect(
      settings({ OTEL_RESOURCE_ATTRIBUTES: "service.name=from-attrs", OTEL_SERVICE_NAME: "svc" }).resource[
        "service.name"
      ],
    ).toBe("svc");
    const yaml = settings(
      {},
      "otel_exporter_otlp_headers:\n  authorization: Bearer abc\notel_resource_attributes:\n  region: eu-west-1\n",
    );
    expect(yaml.headers).toEqual({ authorization: "Bearer abc" });
    expect(yaml.resource.region).toBe("eu-west-1");
  });

  test("sampler from OTEL_TRACES_SAMPLER and its argument", () => {
    expect(settings({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.25" }).sampler.description).toBe(
      "TraceIdRatioBased{0.25}",
    );
    expect(settings({ OTEL_TRACES_SAMPLER: "parentbased_traceidratio" }).sampler.description).toBe(
      "ParentBased{root=TraceIdRatioBased{1}}",
    );
    expect(settings({ OTEL_TRACES_SAMPLER: "always_off" }).sampler.description).toBe("AlwaysOffSampler");
  });

  test("batch settings from OTEL_BSP_*; the batch is never larger than the queue", () => {
    const s = settings({
      OTEL_BSP_MAX_QUEUE_SIZE: "100",
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "500",
      OTEL_BSP_SCHEDULE_DELAY: "250",
      OTEL_BSP_EXPORT_TIMEOUT: "1000",
    });
    expect(s.batch).toEqual({
      maxQueueSize: 100,
      maxExportBatchSize: 100,
      scheduleDelayMs: 250,
      exportTimeoutMs: 1000,
    });
  });

  test("propagation and content capture from YAML and env", () => {
    const s = settings(
      { OTARI_OTEL_CAPTURE_CONTENT: "true" },
      "otel_propagate_upstream: false\notel_capture_max_chars: 100\notel_redact_patterns: ['ACCT-\\d+']\n",
    );
    expect(s.propagateUpstream).toBe(false);
    expect(s.capture).toEqual({ enabled: true, maxChars: 100, patterns: ["ACCT-\\d+"] });
  });

  test.each([
    [{ OTEL_TRACES_SAMPLER: "jaeger_remote" }, "otel_traces_sampler"],
    [{ OTEL_TRACES_SAMPLER_ARG: "1.5" }, "otel_traces_sampler_arg"],
    [{ OTEL_TRACES_SAMPLER_ARG: "half" }, "OTEL_TRACES_SAMPLER_ARG"],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, "gRPC export is not supported"],
    [{ OTEL_EXPORTER_OTLP_HEADERS: "novalue" }, "otel_exporter_otlp_headers"],
    [{ OTEL_RESOURCE_ATTRIBUTES: "a=%zz" }, "otel_resource_attributes"],
    [{ OTEL_BSP_MAX_QUEUE_SIZE: "0" }, "otel_bsp_max_queue_size"],
  ])("an invalid value stops start-up naming the key: %o", (env, needle) => {
    expect(configError(env)).toContain(needle);
  });

  test("an invalid redaction pattern stops start-up", () => {
    expect(configError({}, "otel_redact_patterns: ['(unclosed']\n")).toContain("otel_redact_patterns");
  });

  test("the gateway's secrets: master key, metrics token, provider keys, credential variables, DB password, exporter headers", () => {
    const config = load(
      {
        OPENAI_API_KEY: "sk-env-openai-1234567890",
        AWS_SECRET_ACCESS_KEY: "aws-secret-abcdefgh",
        HOME: "/root",
        OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20tempo-token",
      },
      [
        "master_key: master-key-0123456789",
        "metrics_token: metrics-token-0123",
        "database_url: postgresql://gw:db-pass-0123456@localhost:5432/gw",
        "providers:",
        "  openai:",
        "    api_key: sk-config-openai-0987654321",
        "    client_args:",
        "      custom_headers: { x-api-key: header-secret-123, x-trace: not-a-secret }",
        "    deployments: [{ api_key: deployment-key-12345, api_base: 'http://x' }]",
      ].join("\n"),
    );
    const secrets = gatewaySecrets(config);
    for (const s of [
      "master-key-0123456789",
      "metrics-token-0123",
      "db-pass-0123456",
      "sk-config-openai-0987654321",
      "header-secret-123",
      "deployment-key-12345",
      "sk-env-openai-1234567890",
      "aws-secret-abcdefgh",
      "Bearer tempo-token",
    ]) {
      expect(secrets).toContain(s);
    }
    expect(secrets).not.toContain("/root");
    expect(secrets).not.toContain("not-a-secret");
  });
});
