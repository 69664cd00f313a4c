/** Postgres dialect of the store (Bun's SQL driver). Same logical tables as ./sqlite.ts; ./check.ts proves it. */
import { sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  bigint,
  bigserial,
  boolean,
  customType,
  index,
  integer,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { histogramColumns } from "./rollup-columns";

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });
const micros = (name: string) => bigint(name, { mode: "number" });
/**
 * jsonb that hands the value to Bun's SQL driver unchanged: drizzle 0.45's own jsonb double-encodes it into a JSON
 * string with bun-sql (drizzle-orm#4942), which breaks every SQL JSON operator.
 */
const jsonb = <T>(name: string) =>
  customType<{ data: T; driverData: T }>({ dataType: () => "jsonb", toDriver: (v) => v, fromDriver: (v) => v })(name);

export const budgets = pgTable("budgets", {
  budgetId: text("budget_id").primaryKey(),
  maxBudgetMicros: micros("max_budget_micros"),
  budgetDurationSec: integer("budget_duration_sec"),
  createdAt: ts("created_at").notNull(),
  updatedAt: ts("updated_at").notNull(),
});

export const users = pgTable(
  "users",
  {
    userId: text("user_id").primaryKey(),
    alias: text("alias"),
    spendMicros: micros("spend_micros").notNull().default(0),
    reservedMicros: micros("reserved_micros").notNull().default(0),
    budgetId: text("budget_id").references((): AnyPgColumn => budgets.budgetId),
    budgetStartedAt: ts("budget_started_at"),
    nextBudgetResetAt: ts("next_budget_reset_at"),
    blocked: boolean("blocked").notNull().default(false),
    deletedAt: ts("deleted_at"),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
    metadata: jsonb<Record<string, unknown>>("metadata").notNull().default(sql`'{}'::jsonb`),
    rpmLimit: integer("rpm_limit"),
    tpmLimit: integer("tpm_limit"),
    allowedModels: jsonb<string[]>("allowed_models"),
    /** At most one team per user; a team with members cannot be deleted. */
    teamId: text("team_id").references((): AnyPgColumn => teams.teamId),
    maxConcurrent: integer("max_concurrent"),
    /** Each end user of this user's requests gets its own window on this budget (a key's own setting wins). */
    endUserBudgetId: text("end_user_budget_id").references((): AnyPgColumn => budgets.budgetId),
  },
  (t) => [
    index("ix_users_deleted_at").on(t.deletedAt),
    index("ix_users_next_reset").on(t.nextBudgetResetAt),
    index("ix_users_team_id").on(t.teamId),
  ],
);

/** Teams (users belong to at most one): a budget, limits and an allow-list over all their members' requests. */
export const teams = pgTable(
  "teams",
  {
    teamId: text("team_id").primaryKey(),
    alias: text("alias"),
    spendMicros: micros("spend_micros").notNull().default(0),
    reservedMicros: micros("reserved_micros").notNull().default(0),
    budgetId: text("budget_id").references((): AnyPgColumn => budgets.budgetId),
    budgetStartedAt: ts("budget_started_at"),
    nextBudgetResetAt: ts("next_budget_reset_at"),
    blocked: boolean("blocked").notNull().default(false),
    metadata: jsonb<Record<string, unknown>>("metadata").notNull().default(sql`'{}'::jsonb`),
    rpmLimit: integer("rpm_limit"),
    tpmLimit: integer("tpm_limit"),
    maxConcurrent: integer("max_concurrent"),
    allowedModels: jsonb<string[]>("allowed_models"),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [index("ix_teams_next_reset").on(t.nextBudgetResetAt)],
);

export const apiKeys = pgTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    keyHash: text("key_hash").notNull().unique(),
    keyPrefix: text("key_prefix").notNull(),
    keyName: text("key_name"),
    userId: text("user_id").references(() => users.userId, { onDelete: "cascade" }),
    createdAt: ts("created_at").notNull(),
    lastUsedAt: ts("last_used_at"),
    expiresAt: ts("expires_at"),
    isActive: boolean("is_active").notNull().default(true),
    metadata: jsonb<Record<string, unknown>>("metadata").notNull().default(sql`'{}'::jsonb`),
    rpmLimit: integer("rpm_limit"),
    tpmLimit: integer("tpm_limit"),
    allowedModels: jsonb<string[]>("allowed_models"),
    /** The key's own budget and spend window (spend is tracked with or without a budget). */
    budgetId: text("budget_id").references((): AnyPgColumn => budgets.budgetId),
    spendMicros: micros("spend_micros").notNull().default(0),
    reservedMicros: micros("reserved_micros").notNull().default(0),
    budgetStartedAt: ts("budget_started_at"),
    nextBudgetResetAt: ts("next_budget_reset_at"),
    maxConcurrent: integer("max_concurrent"),
    endUserBudgetId: text("end_user_budget_id").references((): AnyPgColumn => budgets.budgetId),
    /** Whether this key's requests capture prompts and completions in traces; null: `otel_capture_content`. */
    captureContent: boolean("capture_content"),
  },
  (t) => [index("ix_api_keys_user_id").on(t.userId), index("ix_api_keys_next_reset").on(t.nextBudgetResetAt)],
);

/**
 * End users of a billed user (the `user` field with a virtual key), created on first sight when an end-user budget
 * applies: their spend window on that budget. `id` is the ledger's subject id for the pair (endUserSubjectId).
 */
export const endUsers = pgTable(
  "end_users",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.userId, { onDelete: "cascade" }),
    endUserId: text("end_user_id").notNull(),
    budgetId: text("budget_id").references(() => budgets.budgetId, { onDelete: "set null" }),
    spendMicros: micros("spend_micros").notNull().default(0),
    reservedMicros: micros("reserved_micros").notNull().default(0),
    budgetStartedAt: ts("budget_started_at"),
    nextBudgetResetAt: ts("next_budget_reset_at"),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [
    index("ix_end_users_user").on(t.userId, t.endUserId),
    index("ix_end_users_next_reset").on(t.nextBudgetResetAt),
  ],
);

export const budgetResetLogs = pgTable(
  "budget_reset_logs",
  {
    id: serial("id").primaryKey(),
    userId: text("user_id").references(() => users.userId, { onDelete: "set null" }),
    budgetId: text("budget_id")
      .notNull()
      .references(() => budgets.budgetId, { onDelete: "cascade" }),
    previousSpendMicros: micros("previous_spend_micros").notNull(),
    resetAt: ts("reset_at").notNull(),
    nextResetAt: ts("next_reset_at"),
    /** Which level was reset (key, user, team, end_user) and its id (an end user's own id; user_id is its user). */
    subjectKind: text("subject_kind").notNull().default("user"),
    subjectId: text("subject_id"),
  },
  (t) => [index("ix_budget_reset_logs_user_id").on(t.userId), index("ix_budget_reset_logs_budget_id").on(t.budgetId)],
);

export const modelPricing = pgTable(
  "model_pricing",
  {
    modelKey: text("model_key").notNull(),
    effectiveAt: ts("effective_at").notNull(),
    inputPricePerMillionMicros: micros("input_price_per_million_micros").notNull(),
    outputPricePerMillionMicros: micros("output_price_per_million_micros").notNull(),
    /** What the rates count (core/schemas/pricing.ts PRICING_UNITS). */
    unit: text("unit").notNull().default("token"),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.modelKey, t.effectiveAt] })],
);

export const usageLogs = pgTable(
  "usage_logs",
  {
    id: text("id").primaryKey(),
    apiKeyId: text("api_key_id").references(() => apiKeys.id, { onDelete: "set null" }),
    userId: text("user_id").references(() => users.userId, { onDelete: "set null" }),
    timestamp: ts("timestamp").notNull(),
    model: text("model").notNull(),
    provider: text("provider"),
    endpoint: text("endpoint").notNull(),
    promptTokens: integer("prompt_tokens"),
    completionTokens: integer("completion_tokens"),
    totalTokens: integer("total_tokens"),
    costMicros: micros("cost_micros"),
    status: text("status").notNull(),
    errorMessage: text("error_message"),
    cacheReadTokens: integer("cache_read_tokens"),
    cacheWriteTokens: integer("cache_write_tokens"),
    statusCode: integer("status_code"),
    estimated: boolean("estimated").notNull().default(false),
    requestId: text("request_id"),
    attempt: integer("attempt"),
    attempts: integer("attempts"),
    /** The client's own end-user id (`user` / `metadata.user_id` with a virtual key); never decides who is billed. */
    endUserId: text("end_user_id"),
    /** The billed user's team when the request was made (moving a user later does not rewrite history). */
    teamId: text("team_id"),
    /** Milliseconds from admission to settlement (the last byte relayed); null for refusals and older rows. */
    latencyMs: integer("latency_ms"),
    /** Milliseconds from admission to the upstream's first byte (first stream event; a JSON answer's arrival). */
    ttfbMs: integer("ttfb_ms"),
    /** The request's trace id (32 hex) when it was traced (docs/tracing.md): a row, a log line and a trace meet. */
    traceId: text("trace_id"),
  },
  (t) => [
    // (filter, timestamp) pairs serve the newest-first listing and its keyset pages per key, user and end user.
    index("ix_usage_logs_key_ts").on(t.apiKeyId, t.timestamp),
    index("ix_usage_logs_timestamp").on(t.timestamp),
    index("ix_usage_logs_user_ts").on(t.userId, t.timestamp),
    // Partial: rows without an end user (most) cost the index nothing on insert.
    index("ix_usage_logs_end_user_ts").on(t.endUserId, t.timestamp).where(sql`end_user_id IS NOT NULL`),
    index("ix_usage_logs_team_ts").on(t.teamId, t.timestamp).where(sql`team_id IS NOT NULL`),
  ],
);

/** What every usage rollup sums per group (src/services/rollups/metrics.ts reads and writes these). */
const rollupMetrics = () => ({
  requests: micros("requests").notNull().default(0),
  errors: micros("errors").notNull().default(0),
  promptTokens: micros("prompt_tokens").notNull().default(0),
  completionTokens: micros("completion_tokens").notNull().default(0),
  totalTokens: micros("total_tokens").notNull().default(0),
  costMicros: micros("cost_micros").notNull().default(0),
  latencyCount: micros("latency_count").notNull().default(0),
  latencyMsSum: micros("latency_ms_sum").notNull().default(0),
  latencyMsMax: micros("latency_ms_max").notNull().default(0),
  ttfbCount: micros("ttfb_count").notNull().default(0),
  ttfbMsSum: micros("ttfb_ms_sum").notNull().default(0),
  ...histogramColumns((name) => micros(name).notNull().default(0)),
});

/**
 * Hourly usage by every dimension but end users, kept by the usage writer in the transaction that inserts the rows
 * (only rows actually inserted count, so a replayed row is never counted twice). NULL dimensions are stored as ''
 * (0 for the status code) so that the primary key matches them on both dialects. End users would make it nearly a
 * row per request: their marginals are built from usage_logs (src/services/rollups/sql.ts, ROW_ONLY_COLUMNS).
 */
export const usageRollups = pgTable(
  "usage_rollups",
  {
    hour: ts("hour").notNull(),
    userId: text("user_id").notNull().default(""),
    apiKeyId: text("api_key_id").notNull().default(""),
    model: text("model").notNull().default(""),
    provider: text("provider").notNull().default(""),
    status: text("status").notNull().default(""),
    statusCode: integer("status_code").notNull().default(0),
    /** The billed user's team at request time (usage_logs.team_id). */
    teamId: text("team_id").notNull().default(""),
    ...rollupMetrics(),
  },
  (t) => [
    primaryKey({
      columns: [t.hour, t.userId, t.apiKeyId, t.model, t.provider, t.status, t.statusCode, t.teamId],
    }),
    index("ix_usage_rollups_key_hour").on(t.apiKeyId, t.hour),
    index("ix_usage_rollups_user_hour").on(t.userId, t.hour),
  ],
);

/**
 * One dimension at a time (`dim` '' is the total), per hour (`grain` 'h') and per UTC day ('d'): derived from
 * usage_rollups (end users: from usage_logs) by the compactor for hours no longer marked in usage_rollup_dirty, so
 * long ranges read a few rows.
 */
export const usageMarginals = pgTable(
  "usage_marginals",
  {
    dim: text("dim").notNull(),
    grain: text("grain").notNull(),
    bucket: ts("bucket").notNull(),
    value: text("value").notNull(),
    ...rollupMetrics(),
  },
  (t) => [
    primaryKey({ columns: [t.dim, t.grain, t.bucket, t.value] }),
    index("ix_usage_marginals_value").on(t.dim, t.grain, t.value, t.bucket),
    // Covers ranking a dimension's values over a range on the columns groups are ordered by: no table reads. Only
    // the compactor writes this table, so the index costs neither requests nor the usage writer.
    index("ix_usage_marginals_rank").on(
      t.dim,
      t.grain,
      t.bucket,
      t.value,
      t.requests,
      t.costMicros,
      t.totalTokens,
      t.errors,
    ),
  ],
);

/** Hours whose usage_rollups changed since their marginals were built: one entry per writer transaction and hour. */
export const usageRollupDirty = pgTable(
  "usage_rollup_dirty",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    hour: ts("hour").notNull(),
  },
  (t) => [index("ix_usage_rollup_dirty_hour").on(t.hour)],
);

/** Console sign-ins: only the SHA-256 of the session id is stored; a row's absence ends the session everywhere. */
export const uiSessions = pgTable(
  "ui_sessions",
  {
    idHash: text("id_hash").primaryKey(),
    createdAt: ts("created_at").notNull(),
    expiresAt: ts("expires_at").notNull(),
  },
  (t) => [index("ix_ui_sessions_expires_at").on(t.expiresAt)],
);

/** Budget leases: one row per process and subject (a key, user, team or end user), see budget-ledger.ts. */
export const budgetReservations = pgTable(
  "budget_reservations",
  {
    id: text("id").primaryKey(),
    subjectKind: text("subject_kind").notNull().default("user"),
    subjectId: text("subject_id").notNull(),
    amountMicros: micros("amount_micros").notNull(),
    createdAt: ts("created_at").notNull(),
    expiresAt: ts("expires_at").notNull(),
  },
  (t) => [
    index("ix_budget_reservations_expires_at").on(t.expiresAt),
    index("ix_budget_reservations_subject").on(t.subjectKind, t.subjectId),
  ],
);

/**
 * Batches created through the gateway (services/batches.ts): who created each, what it was estimated at, the durable
 * budget hold (a budget_reservations row `reservation_id`, alive until the batch's window is over) and its settlement.
 */
export const batches = pgTable(
  "batches",
  {
    provider: text("provider").notNull(),
    batchId: text("batch_id").notNull(),
    model: text("model").notNull(),
    userId: text("user_id"),
    apiKeyId: text("api_key_id"),
    requestCount: integer("request_count").notNull(),
    estimateMicros: micros("estimate_micros").notNull(),
    reservationId: text("reservation_id"),
    createdAt: ts("created_at").notNull(),
    settledAt: ts("settled_at"),
    costMicros: micros("cost_micros"),
  },
  (t) => [primaryKey({ columns: [t.provider, t.batchId] }), index("ix_batches_user_id").on(t.userId)],
);

export const rateLimitCounters = pgTable(
  "rate_limit_counters",
  {
    scope: text("scope").notNull(),
    subject: text("subject").notNull(),
    windowStart: micros("window_start").notNull(),
    requests: integer("requests").notNull().default(0),
    tokens: micros("tokens").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.scope, t.subject, t.windowStart] })],
);

/**
 * Concurrency slots shared by replicas: `held` is the sum of the live leases of (scope, subject); `granted` is what
 * the last take granted (read back by that statement).
 */
export const concurrencyCounters = pgTable(
  "concurrency_counters",
  {
    scope: text("scope").notNull(),
    subject: text("subject").notNull(),
    held: integer("held").notNull().default(0),
    granted: integer("granted").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.scope, t.subject] })],
);

/** One replica's slots of a concurrency counter; renewed while it lives, reclaimed once `expires_at` passes. */
export const concurrencyLeases = pgTable(
  "concurrency_leases",
  {
    id: text("id").primaryKey(),
    scope: text("scope").notNull(),
    subject: text("subject").notNull(),
    slots: integer("slots").notNull(),
    expiresAt: ts("expires_at").notNull(),
  },
  (t) => [
    index("ix_concurrency_leases_subject").on(t.scope, t.subject),
    index("ix_concurrency_leases_expires_at").on(t.expiresAt),
  ],
);

/** Rate-limit rules made through the API (config.yml's `rate_limits` are not stored). */
export const rateLimitRules = pgTable("rate_limit_rules", {
  id: text("id").primaryKey(),
  scope: text("scope").notNull(),
  scopeId: text("scope_id"),
  model: text("model"),
  rpmLimit: integer("rpm_limit"),
  tpmLimit: integer("tpm_limit"),
  maxConcurrent: integer("max_concurrent"),
  createdAt: ts("created_at").notNull(),
  updatedAt: ts("updated_at").notNull(),
});

/** Spend alert rules: webhooks told when a subject's spend crosses a share of its budget, or the budget refuses. */
export const alertRules = pgTable("alert_rules", {
  id: text("id").primaryKey(),
  scope: text("scope").notNull(),
  scopeId: text("scope_id"),
  thresholds: jsonb<number[]>("thresholds").notNull(),
  url: text("url").notNull(),
  format: text("format").notNull(),
  secret: text("secret"),
  createdAt: ts("created_at").notNull(),
  updatedAt: ts("updated_at").notNull(),
});

/**
 * One alert per (rule, subject, window, threshold): the unique index is what makes it fire once across replicas
 * and restarts. A sender claims a row (`lease_until`) before posting it, and marks it delivered afterwards.
 */
export const alertDeliveries = pgTable(
  "alert_deliveries",
  {
    id: text("id").primaryKey(),
    ruleId: text("rule_id")
      .notNull()
      .references(() => alertRules.id, { onDelete: "cascade" }),
    subjectKind: text("subject_kind").notNull(),
    subjectId: text("subject_id").notNull(),
    userId: text("user_id"),
    label: text("label").notNull(),
    windowStart: ts("window_start").notNull(),
    threshold: text("threshold").notNull(),
    spendMicros: micros("spend_micros").notNull(),
    maxBudgetMicros: micros("max_budget_micros"),
    status: text("status").notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: ts("next_attempt_at").notNull(),
    leaseUntil: ts("lease_until"),
    claimedBy: text("claimed_by"),
    lastError: text("last_error"),
    createdAt: ts("created_at").notNull(),
    deliveredAt: ts("delivered_at"),
  },
  (t) => [
    uniqueIndex("ux_alert_deliveries_once").on(t.ruleId, t.subjectKind, t.subjectId, t.windowStart, t.threshold),
    index("ix_alert_deliveries_due").on(t.status, t.nextAttemptAt),
  ],
);

export const settings = pgTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: ts("updated_at").notNull(),
});
