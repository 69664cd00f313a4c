/**
 * The composition root: builds the store, services and HTTP app from a Config. `serve` and the end-to-end tests
 * use it; nothing else wires dependencies.
 */
import type { Config } from "./config/load";
import { openStore, type Store } from "./db/client";
import { migrate } from "./db/migrate";
import { createApp } from "./http/app";
import { createRecorder, type Recorder } from "./metrics/registry";
import { canonicalProviderName, loadProviders } from "./providers/registry";
import { engageJit } from "./runtime/engine";
import { printSecretOnce } from "./runtime/logger";
import { createServices, type Services } from "./services";
import { createInference, type Inference, type InferenceHooks } from "./services/inference";
import { bootstrapKeyIfEmpty } from "./services/bootstrap";
import { ensureMasterKey } from "./services/master-key";
import { createProvidersService, type ProvidersService } from "./services/providers";
import { createRollupCompactor } from "./services/rollups/compactor";
import { seedPricing } from "./services/pricing-seed";
import { TOOL_PRICE_PROVIDER } from "./services/inference/tool-loop/plan";
import { createTelemetry, telemetrySettings, TRACE_FLUSH_TIMEOUT_MS } from "./telemetry/index";
import { VERSION } from "./version";

/** How often closed hours' usage marginals are brought up to date. */
const ROLLUP_COMPACTION_MS = 60_000;

export interface Gateway {
  mode: "standalone";
  config: Config;
  store: Store;
  services: Services;
  inference: Inference;
  /** Providers and their routing health, as the console and tRPC show them. */
  providers: ProvidersService;
  metrics: Recorder | null;
  app: ReturnType<typeof createApp>;
  /** Set when drain starts. */
  startDrain(): void;
  close(): Promise<void>;
}

/**
 * Provider names pricing may use: the built-in table plus named instances from config
 * (docs/behaviour/storage.md#pricing), and `otari`, under which gateway tool calls are priced (`otari:code_execution`,
 * `otari:web_search`).
 */
export function providerChecker(config: Config): (name: string) => boolean {
  const configured = new Set([...Object.keys(config.providers).map((p) => p.toLowerCase()), TOOL_PRICE_PROVIDER]);
  return (name) => canonicalProviderName(name) !== null || configured.has(name.trim().toLowerCase());
}

/**
 * The inference runtime's hooks: the metrics (when on), and the normal JIT policy from the first settled request,
 * the traffic it pays for (runtime/engine.ts; start-up, health checks and the management API run without it).
 */
function runtimeHooks(m: Recorder | null): InferenceHooks {
  if (!m) return { onSettled: engageJit };
  return {
    onSettled: (row) => {
      engageJit();
      m.settled(row);
    },
    onBudgetExceeded: m.budgetExceeded,
    onRateLimited: m.rateLimitHit,
    onReservationsReleased: m.reservationsReleased,
    onSpendAlert: m.spendAlert,
    onStreamDisconnect: m.streamDisconnect,
    onUsageAnomaly: m.usageAnomaly,
    onUsageFlush: m.usageFlush,
  };
}

export interface StartupOutput {
  /** Where the two first-start secrets go (stderr by default; tests capture them). */
  printSecret?: (line: string) => void;
  hooks?: InferenceHooks;
  /** The clock (tests move it). */
  now?: () => Date;
}

export async function createGateway(config: Config, output: StartupOutput = {}): Promise<Gateway> {
  const print = output.printSecret ?? printSecretOnce;
  const store = openStore(config.database_url, {
    poolSize: config.db_pool_size,
    maxOverflow: config.db_max_overflow,
    poolTimeoutSeconds: config.db_pool_timeout,
    poolRecycleSeconds: config.db_pool_recycle,
  });
  try {
    if (config.auto_migrate) await migrate(store);
    const now = new Date();
    const { key: masterKey, generated } = await ensureMasterKey(store, config.master_key, now);
    if (generated) print(`Generated a master key (stored hashed; shown only now): ${generated}`);
    if (config.bootstrap_api_key) {
      const key = await bootstrapKeyIfEmpty(store, now);
      if (key) print(`WARNING: No API keys found. Created bootstrap key for first run. Save this key now: ${key}`);
    }
    await seedPricing(store, config.pricing, [...Object.keys(config.providers), TOOL_PRICE_PROVIDER], now);
    // Native adapters load on first use: the configured ones now, the rest (env-var credentials) when first called.
    loadProviders(Object.entries(config.providers).map(([name, entry]) => entry.provider_type ?? name));
    let inference: Inference | null = null;
    const metrics = config.enable_metrics ? createRecorder() : null;
    const telemetry = createTelemetry(telemetrySettings(config, VERSION), { listener: metrics ?? undefined });
    const services = createServices({
      onAuthFailure: metrics?.authFailure,
      store,
      masterKey,
      now: output.now,
      isKnownProvider: providerChecker(config),
      onChange: (topic) => inference?.changed(topic),
      flushSpend: () => inference?.ledger.flush() ?? Promise.resolve(),
      rateLimits: config.rate_limits,
      sessionTtlSeconds: config.ui_session_ttl_seconds,
    });
    const runtime = createInference({
      config,
      store,
      pricing: services.pricing,
      version: VERSION,
      hooks: output.hooks ?? runtimeHooks(metrics),
      now: output.now,
      telemetry,
      onRemoteChange: (topic) => {
        if (topic === "keys" || topic === "users") services.auth.invalidate();
      },
    });
    inference = runtime;
    metrics?.watchQueueDepth(() => runtime.usage.depth());
    metrics?.watchDbStatements(store.statements);
    metrics?.watchSpendAlerts(runtime.costControl.alerts.depth);
    await runtime.start();
    // Usage marginals of closed hours, rebuilt in the background (services/rollups/compactor.ts).
    const compactor = createRollupCompactor({ store, now: output.now });
    compactor.start(ROLLUP_COMPACTION_MS);
    let draining = false;
    const providers = createProvidersService({
      health: runtime.router.health,
      aliases: runtime.router.aliases,
      models: () => runtime.models.list({ kind: "master" }),
    });
    const app = createApp({
      mode: "standalone",
      services,
      inference: () => runtime,
      providers: () => providers,
      config,
      metrics,
      draining: () => draining,
    });
    return {
      mode: "standalone",
      config,
      store,
      services,
      inference: runtime,
      providers,
      metrics,
      app,
      startDrain: () => {
        draining = true;
      },
      close: async () => {
        await compactor.stop();
        await runtime.close();
        // After the streams were cut and settled, so their spans are in the flush.
        await telemetry.shutdown(TRACE_FLUSH_TIMEOUT_MS);
        await store.close();
      },
    };
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
}
