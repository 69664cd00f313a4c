/**
 * The platform-mode runtime (docs/behaviour/platform-mode.md): the platform client, the usage reporter and the
 * inference pipeline with platform mode's policy, wired once from Config. `close()` flushes the usage retry queue
 * (graceful shutdown).
 */
import type { Config } from "../../config/load";
import { chat, messages, responses } from "../inference/endpoints";
import { createPipeline, type Pipeline } from "../inference/pipeline/run";
import { createLiveStreams } from "../inference/pipeline/sse-pump";
import { createUsageGuard } from "../inference/usage-guard";
import { createGatewayTools, toolSettingsOf } from "../inference/tool-loop";
import { createToolBackends, type ToolBackends } from "../../tools/index";
import { createPlatformClient, type PlatformClient } from "./client";
import { createPlatformPolicy } from "./policy";
import { createUsageReporter, type UsageReporter } from "./usage-reporter";
import type { Telemetry } from "../../telemetry/index";

export type { PlatformClient } from "./client";
export type { UsageReporter } from "./usage-reporter";
export { bearerToken } from "./policy";

/** The inference endpoints platform mode serves (docs/behaviour/platform-mode.md#activation). */
export const PLATFORM_ENDPOINTS = [chat, messages, responses] as const;

export interface PlatformRuntimeOptions {
  version: string;
  /** Told how many usage reports were dropped at the retry queue's cap (the metric). */
  onUsageDropped?: (n: number) => void;
  onStreamDisconnect?: () => void;
  /** Upstream usage clamped before it was reported (src/services/inference/usage-guard.ts), by provider. */
  onUsageAnomaly?: (provider: string) => void;
  /** Injected for tests. */
  fetch?: typeof fetch;
  /** The built-in tools' backends (default: from the config). */
  tools?: ToolBackends;
  /** Tracing (docs/tracing.md); absent: requests are not traced. */
  telemetry?: Telemetry;
}

export interface PlatformRuntime {
  client: PlatformClient;
  reporter: UsageReporter;
  /** Serves the platform's endpoints for a caller's token (bearerToken). */
  pipeline: Pipeline<string>;
  /** SSE responses still being relayed. */
  streamsInFlight(): number;
  /** Cuts streams still in flight, delivers queued usage reports (up to `timeoutMs`), then stops the retry timer. */
  close(timeoutMs: number): Promise<void>;
}

export function createPlatformRuntime(config: Config, o: PlatformRuntimeOptions): PlatformRuntime {
  const token = config.envSettings.platformToken;
  const baseUrl = config.platform.base_url;
  if (!token || !baseUrl)
    throw new Error("platform mode needs a platform token and platform.base_url (see loadConfig)");
  const p = config.platform;
  const client = createPlatformClient({
    baseUrl,
    gatewayToken: token,
    resolveTimeoutMs: p.resolve_timeout_ms,
    usageTimeoutMs: p.usage_timeout_ms,
    healthPath: p.health_path,
    fetch: o.fetch,
  });
  const live = createLiveStreams();
  const reporter = createUsageReporter({
    send: client.sendUsage,
    maxAttempts: p.usage_max_retries,
    onDropped: o.onUsageDropped,
  });
  const backends = o.tools ?? createToolBackends(toolSettingsOf(config));
  const policy = createPlatformPolicy({
    client,
    reporter,
    version: o.version,
    firstChunkTimeoutMs: p.streaming_first_chunk_timeout_ms,
    firstChunkTimeoutMsToolLoop: p.streaming_first_chunk_timeout_ms_tool_loop,
    tools: createGatewayTools({ backends, config }),
    upstreamLimits: { maxBodyBytes: config.upstream_max_body_bytes, maxEventBytes: config.upstream_max_event_bytes },
  });
  const pipeline = createPipeline({
    policy,
    checkUsage: createUsageGuard(o.onUsageAnomaly),
    telemetry: o.telemetry,
    streaming: {
      keepaliveMs: config.streaming_keepalive_interval_ms,
      drainMs: config.stream_drain_timeout_ms,
      onDisconnect: o.onStreamDisconnect,
      live,
    },
  });
  return {
    client,
    reporter,
    pipeline,
    streamsInFlight: () => live.size(),
    async close(timeoutMs) {
      // Streams still running after the grace are cut, so their usage reports are queued before the flush.
      await live.cutAll();
      await backends.shutdown();
      await reporter.flush(timeoutMs);
      reporter.close();
    },
  };
}
