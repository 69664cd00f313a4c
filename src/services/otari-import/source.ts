/**
 * Reading an otari database at the baseline schema (users, api_keys, budgets, budget_reset_logs, model_pricing,
 * usage_logs; float money). The schema is checked first, so a database that is not otari's fails before anything
 * is read. Usage rows are read in pages by primary key, so a million rows never sit in memory at once.
 */
import type { ImportTable } from "../../core/schemas/import";
import type { ReadOnlyDb } from "../../db/read-only";
import { masterKeyHash } from "./rows";

type Raw = Record<string, unknown>;

/** Columns each table must have (baseline), and those read when a later otari added them. */
const COLUMNS: Record<ImportTable, { required: string[]; optional?: string[]; order: string }> = {
  budgets: {
    required: ["budget_id", "max_budget", "budget_duration_sec", "created_at", "updated_at"],
    order: "budget_id",
  },
  users: {
    required: [
      "user_id",
      "alias",
      "spend",
      "budget_id",
      "budget_started_at",
      "next_budget_reset_at",
      "blocked",
      "deleted_at",
      "created_at",
      "updated_at",
      "metadata",
    ],
    order: "user_id",
  },
  api_keys: {
    required: [
      "id",
      "key_hash",
      "key_name",
      "user_id",
      "created_at",
      "last_used_at",
      "expires_at",
      "is_active",
      "metadata",
    ],
    order: "id",
  },
  budget_reset_logs: {
    required: ["id", "user_id", "budget_id", "previous_spend", "reset_at", "next_reset_at"],
    order: "id",
  },
  model_pricing: {
    required: [
      "model_key",
      "effective_at",
      "input_price_per_million",
      "output_price_per_million",
      "created_at",
      "updated_at",
    ],
    order: "model_key, effective_at",
  },
  usage_logs: {
    required: [
      "id",
      "api_key_id",
      "user_id",
      "timestamp",
      "model",
      "provider",
      "endpoint",
      "prompt_tokens",
      "completion_tokens",
      "total_tokens",
      "cost",
      "status",
      "error_message",
    ],
    optional: ["cache_read_tokens", "cache_write_tokens"],
    order: "id",
  },
};

/** Key/value tables where an otari after the baseline may keep its master key's hash, and the keys it may use. */
const MASTER_KEY_TABLES = ["runtime_settings", "settings"];
const MASTER_KEY_NAMES = ["master_key_hash", "master_key_sha256"];

export interface OtariSource {
  readonly display: string;
  readonly identity: string;
  /** Every row of a small table (everything but usage_logs), in primary-key order. */
  all(table: Exclude<ImportTable, "usage_logs">): Promise<Raw[]>;
  usageCount(): Promise<number>;
  /** Usage rows after `afterId` (exclusive), `limit` of them, in id order. */
  usagePage(afterId: string | null, limit: number): Promise<Raw[]>;
  /** The master-key hash a later otari stored, or null (the baseline kept it in config only). */
  masterKeyHash(): Promise<string | null>;
}

const quote = (name: string) => `"${name}"`;

/** Checks `db` holds otari's tables and returns a reader over them; throws naming what is missing. */
export async function openOtariSource(db: ReadOnlyDb): Promise<OtariSource> {
  const selects = {} as Record<ImportTable, string>;
  for (const [table, spec] of Object.entries(COLUMNS) as [ImportTable, (typeof COLUMNS)[ImportTable]][]) {
    const present = await db.columns(table);
    if (!present) throw new Error(`${db.display} is not an otari database: it has no '${table}' table`);
    const missing = spec.required.filter((c) => !present.has(c));
    if (missing.length)
      throw new Error(
        `${db.display} is not an otari database at a known schema: '${table}' lacks ${missing.map((c) => `'${c}'`).join(", ")}`,
      );
    const columns = [...spec.required, ...(spec.optional ?? []).filter((c) => present.has(c))];
    selects[table] = `SELECT ${columns.map(quote).join(", ")} FROM ${quote(table)}`;
  }

  return {
    display: db.display,
    identity: db.identity,
    all: (table) => db.query<Raw>(`${selects[table]} ORDER BY ${COLUMNS[table].order}`),
    usageCount: async () => Number((await db.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM usage_logs`))[0]?.n ?? 0),
    usagePage: (afterId, limit) =>
      afterId === null
        ? db.query<Raw>(`${selects.usage_logs} ORDER BY id LIMIT ${limit}`)
        : db.query<Raw>(`${selects.usage_logs} WHERE id > ${db.param(1)} ORDER BY id LIMIT ${limit}`, [afterId]),
    masterKeyHash: async () => {
      for (const table of MASTER_KEY_TABLES) {
        const columns = await db.columns(table);
        if (!columns?.has("key") || !columns.has("value")) continue;
        const placeholders = MASTER_KEY_NAMES.map((_, i) => db.param(i + 1)).join(", ");
        const rows = await db.query<{ value: unknown }>(
          `SELECT value FROM ${quote(table)} WHERE key IN (${placeholders})`,
          MASTER_KEY_NAMES,
        );
        for (const row of rows) {
          const hash = masterKeyHash(row.value);
          if (hash) return hash;
        }
      }
      return null;
    },
  };
}
