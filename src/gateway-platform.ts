/**
 * The composition root of platform mode (docs/behaviour/platform-mode.md#activation): the platform runtime and its HTTP
 * app. No database is opened, nothing is migrated or bootstrapped; usage reports go to the platform and are flushed on
 * close.
 */
import type { Config } from "./config/load";
import { type App, createApp } from "./http/app";
import { createRecorder, type Recorder } from "./metrics/registry";
import { engageJit } from "./runtime/engine";
import { createPlatformRuntime, type PlatformRuntime } from "./services/platform";
import type { OpenApiDocument } from "./http/docs/document";
import { createTelemetry, telemetrySettings, TRACE_FLUSH_TIMEOUT_MS } from "./telemetry/index";
import { VERSION } from "./version";

/** How long shutdown waits for queued usage reports to reach the platform (after the request drain). */
const USAGE_FLUSH_TIMEOUT_MS = 10_000;

export interface PlatformGateway {
  mode: "platform";
  config: Config;
  runtime: PlatformRuntime;
  metrics: Recorder | null;
  app: App;
  /** Set when drain starts (readiness turns 503). */
  startDrain(): void;
  /** Flushes the usage retry queue (up to `flushTimeoutMs`, default 10 s), then stops timers. */
  close(flushTimeoutMs?: number): Promise<void>;
}

export interface PlatformGatewayOptions {
  /** Injected for tests (the platform client's HTTP). */
  fetch?: typeof fetch;
}

export function createPlatformGateway(config: Config, options: PlatformGatewayOptions = {}): PlatformGateway {
  const metrics = config.enable_metrics ? createRecorder() : null;
  const telemetry = createTelemetry(telemetrySettings(config, VERSION), { listener: metrics ?? undefined });
  const runtime = createPlatformRuntime(config, {
    telemetry,
    version: VERSION,
    onUsageDropped: metrics?.platformUsageDropped,
    onStreamDisconnect: metrics?.streamDisconnect,
    onUsageAnomaly: metrics?.usageAnomaly,
    fetch: options.fetch,
  });
  let draining = false;
  let document: Promise<OpenApiDocument> | null = null;
  const app = createApp({
    mode: "platform",
    config,
    platform: runtime,
    metrics,
    draining: () => draining,
    // Built off a throwaway store on the first request; the standalone app behind it loads only then.
    document: () => {
      document ??= import("./openapi-document").then((m) => m.generateOpenApiDocument());
      return document;
    },
  });
  // Platform mode serves no management API: its traffic is inference from the start (runtime/engine.ts).
  engageJit();
  return {
    mode: "platform",
    config,
    runtime,
    metrics,
    app,
    startDrain: () => {
      draining = true;
    },
    close: async (flushTimeoutMs = USAGE_FLUSH_TIMEOUT_MS) => {
      await runtime.close(flushTimeoutMs);
      // After the streams were cut and settled, so their spans are in the flush.
      await telemetry.shutdown(TRACE_FLUSH_TIMEOUT_MS);
    },
  };
}
