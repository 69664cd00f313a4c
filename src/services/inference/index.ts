/**
 * The standalone inference runtime: routing, hot-path caches, the governance engine and the pipeline with the
 * standalone policy, wired once. Timers (sweeps, change feed) start with `start()`; `close()` cuts streams still
 * running, then flushes spend and usage (graceful shutdown).
 */
import type { Config } from "../../config/load";
import { logger } from "../../runtime/logger";
import type { ChangeTopic } from "../deps";
import {
  type ChangeFeed,
  createBudgetLedger,
  createChangeFeed,
  createRateLimiter,
  createUsageWriter,
  type UsageRowInsert,
} from "../governance";
import type { PricingService } from "../pricing";
import { countMessageTokens } from "./endpoints";
import { createBatchHolds } from "../governance/batch-holds";
import { createBatchesService } from "./batches";
import { createModelsService } from "./models";
import { createPipeline } from "./pipeline/run";
import { createLiveStreams } from "./pipeline/sse-pump";
import { createPriceBook } from "./prices";
import { createRouter } from "./routing";
import { createStandalonePolicy } from "./standalone/policy";
import { createUsageGuard } from "./usage-guard";
import { createUserDirectory } from "./user-directory";
import { createToolBackends, type ToolBackends } from "../../tools/index";
import { createGatewayTools, toolSettingsOf } from "./tool-loop";
import type { Store } from "../../db/client";
import { createSqliteUsageInserter } from "../governance/sqlite-usage-inserter";
import { insertUsageLines } from "../governance/usage-insert";
import { parseDatabaseUrl } from "../../db/url";
import { journalPathFor } from "./journal-path";

/** The SQLite database file, or null for `:memory:` (a worker cannot share an in-memory database). */
function sqliteFilePath(url: string): string | null {
  const target = parseDatabaseUrl(url);
  return target.dialect === "sqlite" && target.path !== ":memory:" ? target.path : null;
}

const log = logger("inference");

export interface InferenceHooks {
  onSettled?: (row: UsageRowInsert) => void;
  onBudgetExceeded?: () => void;
  onRateLimited?: () => void;
  onReservationsReleased?: (n: number) => void;
  onStreamDisconnect?: () => void;
  /** Upstream usage clamped (usage-guard.ts), by provider. */
  onUsageAnomaly?: (provider: string) => void;
  onUsageFlush?: Parameters<typeof createUsageWriter>[0]["onFlush"];
}

export interface InferenceOptions {
  config: Config;
  store: Store;
  pricing: PricingService;
  version: string;
  /** Called when remote changes arrive (auth cache and the like live outside). */
  onRemoteChange?: (topic: ChangeTopic) => void;
  hooks?: InferenceHooks;
  now?: () => Date;
  /** The built-in tools' backends (default: from the config; they start nothing until used). */
  tools?: ToolBackends;
}

export function createInference(o: InferenceOptions) {
  const { config, store } = o;
  const hooks = o.hooks ?? {};
  const now = o.now ?? (() => new Date());
  const router = createRouter(config, o.version);
  const users = createUserDirectory(store);
  const prices = createPriceBook(store);
  const sqliteFile = store.dialect === "sqlite" ? sqliteFilePath(config.database_url) : null;
  const usage = createUsageWriter({
    store,
    // SQLite files take usage inserts on a worker thread: flushes and checkpoints stay off the request loop.
    inserter: sqliteFile ? createSqliteUsageInserter(sqliteFile, (lines) => insertUsageLines(store, lines)) : undefined,
    strategy: config.log_writer_strategy,
    journalPath: journalPathFor(config),
    fsync: config.usage_journal_fsync,
    onFlush: hooks.onUsageFlush,
    // Crash recovery of spend (the ledger numbers settlements; the journal keeps them until committed).
    spend: { committed: () => ledger.committedSeq(), recover: (entries) => ledger.recover(entries) },
  });
  const ledger = createBudgetLedger({
    store,
    journalId: usage.journalId,
    reservationTtlSeconds: config.reservation_ttl_seconds,
    strategy: config.budget_strategy,
    metrics: {
      budgetExceeded: hooks.onBudgetExceeded,
      reservationsReleased: hooks.onReservationsReleased,
      userReset: () => void feed.bump("users"),
    },
  });
  const limiter = createRateLimiter({
    store: store.dialect === "pg" ? store : null,
    metrics: { rateLimitHit: hooks.onRateLimited },
  });
  const feed: ChangeFeed = createChangeFeed({ store });
  const invalidate = (topic: ChangeTopic) => {
    if (topic === "users" || topic === "keys") users.invalidate();
    if (topic === "users" || topic === "budgets") {
      users.invalidate();
      ledger.invalidate();
    }
    if (topic === "pricing") prices.invalidate();
    o.onRemoteChange?.(topic);
  };
  for (const topic of ["keys", "users", "budgets", "pricing"] as const) feed.subscribe(topic, () => invalidate(topic));

  const streaming = {
    keepaliveMs: config.streaming_keepalive_interval_ms,
    drainMs: config.stream_drain_timeout_ms,
    onDisconnect: hooks.onStreamDisconnect,
    live: createLiveStreams(),
  };
  const backends = o.tools ?? createToolBackends(toolSettingsOf(config), (m) => log.warn(m));
  const checkUsage = createUsageGuard(hooks.onUsageAnomaly);
  const policy = createStandalonePolicy(
    {
      router,
      users,
      prices,
      ledger,
      limiter,
      usage,
      now,
      onSettled: hooks.onSettled,
      settings: {
        requirePricing: config.require_pricing,
        rejectUserMismatch: config.reject_user_mismatch,
        defaultOutputTokens: config.budget_estimate_default_output_tokens,
        rateLimitRpm: config.rate_limit_rpm ?? null,
        rateLimitTpm: config.rate_limit_tpm ?? null,
        budgetsEnabled: config.budget_strategy !== "disabled",
        fallback: { retries: config.routing.retries, deadlineMs: config.routing.deadline_ms },
      },
    },
    createGatewayTools({ backends, config, prices }),
  );

  let sweepTimer: ReturnType<typeof setInterval> | null = null;
  const sweep = async () => {
    try {
      await ledger.sweep();
      await limiter.sweep();
    } catch (err) {
      log.warn("sweep failed", { error: err instanceof Error ? err.message : String(err) });
    }
  };

  return {
    router,
    ledger,
    usage,
    /** Serves every inference endpoint (src/services/inference/endpoints) for a caller. */
    pipeline: createPipeline({ policy, streaming, checkUsage }),
    countTokens: countMessageTokens,
    /** Batches (docs/api.md#batches), their budget held durably until their results are read. */
    batches: createBatchesService({
      store,
      router,
      users,
      prices,
      holds: createBatchHolds(store),
      limiter,
      usage,
      now,
      settings: {
        budgetsEnabled: config.budget_strategy !== "disabled",
        requirePricing: config.require_pricing,
        defaultOutputTokens: config.budget_estimate_default_output_tokens,
        rateLimitRpm: config.rate_limit_rpm ?? null,
      },
    }),
    models: createModelsService({
      router,
      pricing: o.pricing,
      users,
      discovery: config.model_discovery,
      ttlSeconds: config.model_cache_ttl_seconds,
      configuredModels: Object.fromEntries(
        Object.entries(config.providers).flatMap(([name, e]) => (e.models?.length ? [[name, e.models]] : [])),
      ),
    }),
    /** SSE responses still being relayed. */
    streamsInFlight: () => streaming.live.size(),
    /** A committed local change: tell this process's caches now and other processes through the feed. */
    changed(topic: ChangeTopic) {
      invalidate(topic);
      feed.bump(topic).catch((err: unknown) => log.warn("change feed bump failed", { error: String(err) }));
    },
    async start() {
      await ledger.resume();
      const replayed = await usage.replay();
      if (replayed) log.info(`Replayed ${replayed} usage rows from the journal`);
      await feed.start();
      sweepTimer = setInterval(() => void sweep(), config.budget_sweep_interval_seconds * 1000);
      sweepTimer.unref();
    },
    /** Writes settled spend and every queued usage row. */
    async close() {
      if (sweepTimer) clearInterval(sweepTimer);
      feed.stop();
      // Streams still running at close (the shutdown grace is over) are cut and settled first, so their usage and
      // spend are in the final flush below.
      const cut = await streaming.live.cutAll();
      if (cut) log.warn(`Cut ${cut} stream(s) at shutdown; billed as settled so far`);
      await backends.shutdown();
      await ledger.close();
      await limiter.close();
      await usage.close();
    },
  };
}

export type Inference = ReturnType<typeof createInference>;
