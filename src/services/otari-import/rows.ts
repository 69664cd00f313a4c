/**
 * otari's rows, as its SQLite or Postgres database hands them back, turned into this gateway's rows: float USD to
 * micro-dollars (half-up), SQLAlchemy's naive-UTC text timestamps and 0/1 booleans on SQLite, JSON text or objects.
 * A value that cannot be read makes the whole row unusable: `convert` reports why instead of guessing.
 */
import { usdToMicros } from "../../core/money";
import { parseIsoUtc } from "../../core/time";
import type { Tables } from "../../db/client";
import type { UsageRowInsert } from "../governance/usage-insert";

type Raw = Record<string, unknown>;

export type BudgetRow = Tables["budgets"]["$inferInsert"];
export type UserRow = Tables["users"]["$inferInsert"];
export type KeyRow = Tables["apiKeys"]["$inferInsert"];
export type ResetLogRow = Tables["budgetResetLogs"]["$inferInsert"] & { id: number };
export type PricingRow = Tables["modelPricing"]["$inferInsert"];
export type UsageRow = UsageRowInsert;

/** A value of the source row that cannot be taken; its message is the reason reported for the row. */
class Unreadable extends Error {}

const show = (v: unknown) => (typeof v === "string" ? `'${v.length > 40 ? `${v.slice(0, 40)}…` : v}'` : String(v));

function text(row: Raw, col: string): string | null {
  const v = row[col];
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  throw new Unreadable(`${col} is not text: ${show(v)}`);
}

function requiredText(row: Raw, col: string): string {
  const v = text(row, col);
  if (v === null || v === "") throw new Unreadable(`${col} is missing`);
  return v;
}

function int(row: Raw, col: string): number | null {
  const v = row[col];
  if (v === null || v === undefined) return null;
  const n =
    typeof v === "number"
      ? v
      : typeof v === "bigint" || (typeof v === "string" && /^-?\d+$/.test(v.trim()))
        ? Number(v)
        : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new Unreadable(`${col} is not an integer: ${show(v)}`);
  return n;
}

/** A token count: a non-negative integer or null. */
function count(row: Raw, col: string): number | null {
  const n = int(row, col);
  if (n !== null && n < 0) throw new Unreadable(`${col} is negative: ${n}`);
  return n;
}

function money(row: Raw, col: string): number | null {
  const v = row[col];
  if (v === null || v === undefined) return null;
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : Number.NaN;
  if (!Number.isFinite(n)) throw new Unreadable(`${col} is not a number: ${show(v)}`);
  return usdToMicros(n);
}

function requiredMoney(row: Raw, col: string): number {
  const v = money(row, col);
  if (v === null) throw new Unreadable(`${col} is missing`);
  return v;
}

function time(row: Raw, col: string): Date | null {
  const v = row[col];
  if (v === null || v === undefined) return null;
  const date = v instanceof Date ? v : typeof v === "string" ? parseIsoUtc(v) : null;
  if (!date || Number.isNaN(date.getTime())) throw new Unreadable(`${col} is not a timestamp: ${show(v)}`);
  return date;
}

function requiredTime(row: Raw, col: string): Date {
  const v = time(row, col);
  if (v === null) throw new Unreadable(`${col} is missing`);
  return v;
}

function bool(row: Raw, col: string): boolean {
  const v = row[col];
  if (v === true || v === 1 || v === "1" || v === "true") return true;
  if (v === false || v === 0 || v === "0" || v === "false") return false;
  throw new Unreadable(`${col} is not a boolean: ${show(v)}`);
}

/** otari's JSON metadata column: an object (Postgres) or its JSON text (SQLite); null reads as `{}`. */
function metadata(row: Raw, col: string): Record<string, unknown> {
  let v = row[col];
  if (v === null || v === undefined) return {};
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch {
      throw new Unreadable(`${col} is not JSON: ${show(v)}`);
    }
  }
  if (!v || typeof v !== "object" || Array.isArray(v))
    throw new Unreadable(`${col} is not a JSON object: ${show(JSON.stringify(v))}`);
  return v as Record<string, unknown>;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export type Converted<T> = { ok: true; row: T } | { ok: false; reason: string };

/** Runs a converter; an unreadable value becomes the row's skip reason. */
export function convert<T>(fn: (row: Raw) => T, row: Raw): Converted<T> {
  try {
    return { ok: true, row: fn(row) };
  } catch (err) {
    if (err instanceof Unreadable) return { ok: false, reason: err.message };
    throw err;
  }
}

export function toBudget(r: Raw): BudgetRow {
  const maxBudgetMicros = money(r, "max_budget");
  const budgetDurationSec = int(r, "budget_duration_sec");
  if (budgetDurationSec !== null && budgetDurationSec <= 0)
    throw new Unreadable(`budget_duration_sec is not positive: ${budgetDurationSec}`);
  const createdAt = requiredTime(r, "created_at");
  return {
    budgetId: requiredText(r, "budget_id"),
    maxBudgetMicros,
    budgetDurationSec,
    createdAt,
    updatedAt: time(r, "updated_at") ?? createdAt,
  };
}

/** Spend comes across as is: the budget ledger reads `spend_micros` from the row, so imported spend counts at once. */
export function toUser(r: Raw): UserRow {
  const createdAt = requiredTime(r, "created_at");
  return {
    userId: requiredText(r, "user_id"),
    alias: text(r, "alias"),
    spendMicros: requiredMoney(r, "spend"),
    reservedMicros: 0,
    budgetId: text(r, "budget_id"),
    budgetStartedAt: time(r, "budget_started_at"),
    nextBudgetResetAt: time(r, "next_budget_reset_at"),
    blocked: bool(r, "blocked"),
    deletedAt: time(r, "deleted_at"),
    createdAt,
    updatedAt: time(r, "updated_at") ?? createdAt,
    metadata: metadata(r, "metadata"),
  };
}

/**
 * otari stored the unsalted SHA-256 hex of the token, as this gateway does, so the hash is all a key needs to keep
 * working. The display prefix (first characters of the secret) is unknown for an imported key: left empty.
 */
export function toKey(r: Raw): KeyRow {
  const keyHash = requiredText(r, "key_hash").toLowerCase();
  if (!SHA256_HEX.test(keyHash)) throw new Unreadable(`key_hash is not a SHA-256 hex digest: ${show(keyHash)}`);
  return {
    id: requiredText(r, "id"),
    keyHash,
    keyPrefix: "",
    keyName: text(r, "key_name"),
    userId: text(r, "user_id"),
    createdAt: requiredTime(r, "created_at"),
    lastUsedAt: time(r, "last_used_at"),
    expiresAt: time(r, "expires_at"),
    isActive: bool(r, "is_active"),
    metadata: metadata(r, "metadata"),
  };
}

export function toResetLog(r: Raw): ResetLogRow {
  const id = int(r, "id");
  if (id === null) throw new Unreadable("id is missing");
  return {
    id,
    userId: text(r, "user_id"),
    budgetId: requiredText(r, "budget_id"),
    previousSpendMicros: requiredMoney(r, "previous_spend"),
    resetAt: requiredTime(r, "reset_at"),
    nextResetAt: time(r, "next_reset_at"),
  };
}

export function toPricing(r: Raw): PricingRow {
  const inputPricePerMillionMicros = requiredMoney(r, "input_price_per_million");
  const outputPricePerMillionMicros = requiredMoney(r, "output_price_per_million");
  if (inputPricePerMillionMicros < 0 || outputPricePerMillionMicros < 0) throw new Unreadable("a price is negative");
  const createdAt = requiredTime(r, "created_at");
  return {
    modelKey: requiredText(r, "model_key"),
    effectiveAt: requiredTime(r, "effective_at"),
    inputPricePerMillionMicros,
    outputPricePerMillionMicros,
    createdAt,
    updatedAt: time(r, "updated_at") ?? createdAt,
  };
}

/** `cache_*_tokens` exist only in otari versions after the baseline; absent columns read as null. */
export function toUsage(r: Raw): UsageRow {
  return {
    id: requiredText(r, "id"),
    apiKeyId: text(r, "api_key_id"),
    userId: text(r, "user_id"),
    timestamp: requiredTime(r, "timestamp"),
    model: requiredText(r, "model"),
    provider: text(r, "provider"),
    endpoint: requiredText(r, "endpoint"),
    promptTokens: count(r, "prompt_tokens"),
    completionTokens: count(r, "completion_tokens"),
    totalTokens: count(r, "total_tokens"),
    costMicros: money(r, "cost"),
    status: requiredText(r, "status"),
    errorMessage: text(r, "error_message"),
    cacheReadTokens: count(r, "cache_read_tokens"),
    cacheWriteTokens: count(r, "cache_write_tokens"),
    estimated: false,
  };
}

/** otari's master key lived in config, not in its tables; a later otari may keep its hash in a settings table. */
export function masterKeyHash(value: unknown): string | null {
  return typeof value === "string" && SHA256_HEX.test(value.trim().toLowerCase()) ? value.trim().toLowerCase() : null;
}
