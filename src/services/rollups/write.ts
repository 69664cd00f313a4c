/**
 * The usage writer's side of the rollups: in the transaction that inserts usage rows, the rows that were actually
 * inserted (not the ones an idempotent replay skipped) are added to usage_rollups, and each hour they touched gets
 * an entry in usage_rollup_dirty (the compactor rebuilds that hour's marginals). Upserts run in key order, so
 * writers on several Postgres replicas lock shared rollup rows in the same order and cannot deadlock; the dirty
 * entries are plain inserts, so they lock nothing shared.
 */
import { AGGREGATES, hourOf, HOUR_MS, KEY_COLUMN_LIST, KEY_COLUMNS, rowProjection } from "./sql";
import {
  addRow,
  MAX_COLUMNS,
  METRIC_COLUMNS,
  type MetricVector,
  type RowMetrics,
  SUM_COLUMNS,
  zeroVector,
} from "./metrics";

/** The columns of a usage row the rollup reads. */
export interface RollupRow extends RowMetrics {
  timestamp: Date | number;
  userId?: string | null;
  apiKeyId?: string | null;
  model: string;
  provider?: string | null;
  statusCode?: number | null;
  teamId?: string | null;
}

type Group = { hour: number; keys: (string | number)[]; metrics: MetricVector };
/** One key column's values in a batch, each leading to the next column's (the last column's: to the group). */
type Level = Map<string | number, Level | Group>;
const LAST = KEY_COLUMNS.length - 1;
const keyOf = (row: RollupRow, k: (typeof KEY_COLUMNS)[number]) => (row[k.row] ?? k.empty) as string | number;

/**
 * Usage rows summed per (hour, key columns), in memory, for one transaction. A row finds its group through one map
 * per key column: building and hashing a string joined from the whole key cost more per row (docs/benchmark.md).
 */
export class RollupBatch {
  private readonly byHour = new Map<number, Level>();
  private readonly groups: Group[] = [];

  add(row: RollupRow): void {
    const t = row.timestamp instanceof Date ? row.timestamp.getTime() : Number(row.timestamp);
    const hour = Math.floor(t / HOUR_MS) * HOUR_MS;
    let level = this.byHour.get(hour);
    if (!level) {
      level = new Map();
      this.byHour.set(hour, level);
    }
    for (let i = 0; i < LAST; i++) {
      const value = keyOf(row, KEY_COLUMNS[i]!);
      let next = level.get(value) as Level | undefined;
      if (!next) {
        next = new Map();
        level.set(value, next);
      }
      level = next;
    }
    const value = keyOf(row, KEY_COLUMNS[LAST]!);
    let g = level.get(value) as Group | undefined;
    if (!g) {
      g = { hour, keys: KEY_COLUMNS.map((c) => keyOf(row, c)), metrics: zeroVector() };
      level.set(value, g);
      this.groups.push(g);
    }
    addRow(g.metrics, row);
  }

  get size(): number {
    return this.groups.length;
  }

  /** Groups in primary-key order (the lock order every writer follows). */
  sorted(): Group[] {
    return [...this.groups].sort((a, b) => a.hour - b.hour || compareKeys(a.keys, b.keys));
  }

  hours(): number[] {
    return [...this.byHour.keys()].sort((a, b) => a - b);
  }
}

function compareKeys(a: (string | number)[], b: (string | number)[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

const updateSet = (table: string) =>
  [
    ...SUM_COLUMNS.map((c) => `${c} = ${table}.${c} + excluded.${c}`),
    ...MAX_COLUMNS.map((c) => `${c} = MAX(${table}.${c}, excluded.${c})`),
  ].join(", ");

/** SQLite: one group's upsert; parameters from `sqliteRollupParams`. */
export const SQLITE_ROLLUP_UPSERT_SQL = `INSERT INTO usage_rollups (hour, ${KEY_COLUMN_LIST}, ${METRIC_COLUMNS.join(", ")}) VALUES (${new Array(1 + KEY_COLUMNS.length + METRIC_COLUMNS.length).fill("?").join(", ")}) ON CONFLICT (hour, ${KEY_COLUMN_LIST}) DO UPDATE SET ${updateSet("usage_rollups")}`;

export const sqliteRollupParams = (g: {
  hour: number;
  keys: (string | number)[];
  metrics: MetricVector;
}): (string | number)[] => [g.hour, ...g.keys, ...g.metrics];

/** SQLite: marks an hour's marginals stale. */
export const SQLITE_DIRTY_SQL = "INSERT INTO usage_rollup_dirty (hour) VALUES (?)";

/**
 * Postgres: wraps an idempotent `INSERT INTO usage_logs ... ON CONFLICT (id) DO NOTHING` into one statement that
 * also adds the rows it inserted (its RETURNING set) to usage_rollups and marks their hours. One statement is one
 * transaction: rows and rollups commit together or not at all.
 */
export function pgInsertWithRollups(insertRows: string): string {
  const returning = `"timestamp", ${KEY_COLUMN_LIST}, prompt_tokens, completion_tokens, total_tokens, cost_micros, latency_ms, ttfb_ms`;
  const pgSet = [
    ...SUM_COLUMNS.map((c) => `${c} = usage_rollups.${c} + excluded.${c}`),
    ...MAX_COLUMNS.map((c) => `${c} = GREATEST(usage_rollups.${c}, excluded.${c})`),
  ].join(", ");
  return [
    `WITH ins AS (${insertRows} RETURNING ${returning}),`,
    `g AS (SELECT hour, ${KEY_COLUMN_LIST}, ${AGGREGATES} FROM (SELECT ${hourOf("pg", '"timestamp"')} AS hour, ${rowProjection(KEY_COLUMNS)} FROM ins) r GROUP BY hour, ${KEY_COLUMN_LIST}),`,
    "d AS (INSERT INTO usage_rollup_dirty (hour) SELECT DISTINCT hour FROM g)",
    `INSERT INTO usage_rollups (hour, ${KEY_COLUMN_LIST}, ${METRIC_COLUMNS.join(", ")}) SELECT hour, ${KEY_COLUMN_LIST}, ${METRIC_COLUMNS.join(", ")} FROM g`,
    `ORDER BY hour, ${KEY_COLUMN_LIST} ON CONFLICT (hour, ${KEY_COLUMN_LIST}) DO UPDATE SET ${pgSet}`,
  ].join(" ");
}
