/** Postgres dialect of the store (Bun's SQL driver). Same logical tables as ./sqlite.ts; ./check.ts proves it. */
import { sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  bigint,
  boolean,
  customType,
  index,
  integer,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
} from "drizzle-orm/pg-core";

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
  },
  (t) => [index("ix_users_deleted_at").on(t.deletedAt), index("ix_users_next_reset").on(t.nextBudgetResetAt)],
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
  },
  (t) => [index("ix_api_keys_user_id").on(t.userId)],
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
  },
  (t) => [
    index("ix_usage_logs_api_key_id").on(t.apiKeyId),
    index("ix_usage_logs_user_id").on(t.userId),
    index("ix_usage_logs_timestamp").on(t.timestamp),
    index("ix_usage_logs_user_ts").on(t.userId, t.timestamp),
    // Partial: rows without an end user (most) cost the index nothing on insert.
    index("ix_usage_logs_end_user_id").on(t.endUserId).where(sql`end_user_id IS NOT NULL`),
  ],
);

export const budgetReservations = pgTable(
  "budget_reservations",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    amountMicros: micros("amount_micros").notNull(),
    createdAt: ts("created_at").notNull(),
    expiresAt: ts("expires_at").notNull(),
  },
  (t) => [
    index("ix_budget_reservations_expires_at").on(t.expiresAt),
    index("ix_budget_reservations_user_id").on(t.userId),
  ],
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

export const settings = pgTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: ts("updated_at").notNull(),
});
