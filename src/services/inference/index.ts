/**
 * The standalone inference runtime: routing, hot-path caches, the governance engine and the pipeline with the
 * standalone policy, wired once. Timers (sweeps, change feed) start with `start()`; `close()` cuts streams still
 * running, then flushes spend and usage (graceful shutdown).
 */
import type { Config } from "../../config/load";
import { logger } from "../../runtime/logger";
import type { ChangeTopic } from "../deps";
import {
  type AlertOutcome,
  type ChangeFeed,
  costControlOptions,
  createChangeFeed,
  createCostControl,
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
import type { SubjectKind } from "../governance/subjects";
import type { Telemetry } from "../../telemetry/index";

/** The SQLite database file, or null for `:memory:` (a worker cannot share an in-memory database). */
function sqliteFilePath(url: string): string | null {
  const target = parseDatabaseUrl(url);
  return target.dialect === "sqlite" && target.path !== ":memory:" ? target.path : null;
}

const log = logger("inference");

/** Every management change the hot path caches something of. */
const FEED_TOPICS = ["keys", "users", "budgets", "pricing", "teams", "rate_limits", "alerts"] as const;

/** The topic whose caches hold a level's next reset. */
const RESET_TOPIC: Record<SubjectKind, ChangeTopic | null> = {
  key: "keys",
  user: "users",
  team: "teams",
  end_user: null,
};

export interface InferenceHooks {
  onSettled?: (row: UsageRowInsert) => void;
  onBudgetExceeded?: () => void;
  onRateLimited?: () => void;
  onReservationsReleased?: (n: number) => void;
  /** A spend alert's delivery outcome. */
  onSpendAlert?: (outcome: AlertOutcome) => void;
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
  /** Tracing (docs/tracing.md); absent: requests are not traced. */
  telemetry?: Telemetry;
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
  // Budgets, limits, rate-limit rules and spend alerts on every level of every inference route.
  const costControl = createCostControl(
    costControlOptions(config, store, usage.journalId, {
      budgetExceeded: hooks.onBudgetExceeded,
      rateLimited: hooks.onRateLimited,
      reservationsReleased: hooks.onReservationsReleased,
      alert: hooks.onSpendAlert,
      // A window reset changes the level's cached row (its next reset): every process reloads it.
      subjectReset: (subject) => {
        const topic = RESET_TOPIC[subject.kind];
        if (topic) void feed.bump(topic).catch(() => undefined);
      },
    }),
  );
  const { ledger } = costControl;
  const feed: ChangeFeed = createChangeFeed({ store });
  const invalidate = (topic: ChangeTopic) => {
    if (topic === "users" || topic === "keys" || topic === "budgets") users.invalidate();
    if (topic === "pricing") prices.invalidate();
    costControl.changed(topic);
    o.onRemoteChange?.(topic);
  };
  for (const topic of FEED_TOPICS) feed.subscribe(topic, () => invalidate(topic));

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
      costControl,
      usage,
      now,
      onSettled: hooks.onSettled,
      settings: {
        requirePricing: config.require_pricing,
        rejectUserMismatch: config.reject_user_mismatch,
        defaultOutputTokens: config.budget_estimate_default_output_tokens,
        fallback: { retries: config.routing.retries, deadlineMs: config.routing.deadline_ms },
      },
    },
    createGatewayTools({ backends, config, prices }),
  );

  let sweepTimer: ReturnType<typeof setInterval> | null = null;
  const sweep = async () => {
    try {
      await costControl.sweep();
    } catch (err) {
      log.warn("sweep failed", { error: err instanceof Error ? err.message : String(err) });
    }
  };

  return {
    router,
    ledger,
    /** Budgets, limits and alerts on every level (tests and the bench read its state). */
    costControl,
    usage,
    /** Serves every inference endpoint (src/services/inference/endpoints) for a caller. */
    pipeline: createPipeline({ policy, streaming, checkUsage, telemetry: o.telemetry }),
    countTokens: countMessageTokens,
    /** Batches (docs/api.md#batches), their budget held durably until their results are read. */
    batches: createBatchesService({
      store,
      router,
      users,
      prices,
      holds: createBatchHolds(store),
      costControl,
      usage,
      now,
      settings: {
        budgetsEnabled: config.budget_strategy !== "disabled",
        requirePricing: config.require_pricing,
        defaultOutputTokens: config.budget_estimate_default_output_tokens,
      },
    }),
    models: createModelsService({
      router,
      pricing: o.pricing,
      users,
      teamModels: costControl.teamModels,
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
      await costControl.start();
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
      await costControl.close();
      await usage.close();
    },
  };
}

export type Inference = ReturnType<typeof createInference>;
