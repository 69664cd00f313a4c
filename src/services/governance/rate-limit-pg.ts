/**
 * Shared rate-limit counters on Postgres (docs/behaviour/storage.md#rate-limits): `rate_limit_counters` rows per
 * (scope, subject, minute). A replica takes request slots in batches with one conditional upsert, so the shared count
 * never passes the limit; token deltas and unused slots go back in one multi-row upsert per sync tick.
 */
import type { Store } from "../../db/client";

export interface Counts {
  prevReq: number;
  prevTok: number;
  curReq: number;
  curTok: number;
}
export interface SyncItem {
  scope: string;
  subject: string;
  windowStart: number;
  requests: number;
  tokens: number;
}

const num = (v: unknown) => Number(v ?? 0);

export interface SharedCounters {
  /** Takes `want` slots in window `cur` if prev × weight + cur + want <= limit; null when refused. */
  take(
    scope: string,
    subject: string,
    cur: number,
    prev: number,
    want: number,
    weight: number,
    limit: number,
  ): Promise<Counts | null>;
  read(scope: string, subject: string, cur: number, prev: number): Promise<Counts>;
  /**
   * Adds deltas (requests may be negative: unused slots handed back) and returns the rows' current values. A
   * negative delta only meets a missing row if the sweep already removed that window, where it is harmless.
   */
  sync(items: SyncItem[]): Promise<SyncItem[]>;
  sweep(before: number): Promise<number>;
}

export function sharedCounters(store: Store): SharedCounters {
  const PREV =
    "(SELECT p.requests FROM rate_limit_counters p WHERE p.scope = $1 AND p.subject = $2 AND p.window_start = $4)";
  return {
    async take(scope, subject, cur, prev, want, weight, limit) {
      const rows = await store.query<{ r: unknown; t: unknown; pr: unknown; pt: unknown }>(
        `INSERT INTO rate_limit_counters AS c (scope, subject, window_start, requests, tokens)
         SELECT $1, $2, $3, $5::int, 0 WHERE $5::int + COALESCE(${PREV}, 0) * $6::float8 <= $7::float8
         ON CONFLICT (scope, subject, window_start) DO UPDATE SET requests = c.requests + EXCLUDED.requests
         WHERE c.requests + EXCLUDED.requests + COALESCE(${PREV}, 0) * $6::float8 <= $7::float8
         RETURNING c.requests AS r, c.tokens AS t, ${PREV} AS pr,
           (SELECT p.tokens FROM rate_limit_counters p WHERE p.scope = $1 AND p.subject = $2 AND p.window_start = $4) AS pt`,
        [scope, subject, cur, prev, want, weight, limit],
      );
      const row = rows[0];
      return row ? { curReq: num(row.r), curTok: num(row.t), prevReq: num(row.pr), prevTok: num(row.pt) } : null;
    },
    async read(scope, subject, cur, prev) {
      const rows = await store.query<{ w: unknown; r: unknown; t: unknown }>(
        "SELECT window_start AS w, requests AS r, tokens AS t FROM rate_limit_counters WHERE scope = $1 AND subject = $2 AND window_start IN ($3, $4)",
        [scope, subject, cur, prev],
      );
      const c = rows.find((r) => num(r.w) === cur);
      const p = rows.find((r) => num(r.w) === prev);
      return { curReq: num(c?.r), curTok: num(c?.t), prevReq: num(p?.r), prevTok: num(p?.t) };
    },
    async sync(items) {
      if (items.length === 0) return [];
      const rows = await store.query<{ s: string; j: string; w: unknown; r: unknown; t: unknown }>(
        `INSERT INTO rate_limit_counters AS c (scope, subject, window_start, requests, tokens)
         SELECT s, j, w, r, t FROM unnest($1::text[], $2::text[], $3::bigint[], $4::int[], $5::bigint[]) AS d(s, j, w, r, t)
         ON CONFLICT (scope, subject, window_start) DO UPDATE SET requests = GREATEST(c.requests + EXCLUDED.requests, 0),
           tokens = c.tokens + EXCLUDED.tokens
         RETURNING c.scope AS s, c.subject AS j, c.window_start AS w, c.requests AS r, c.tokens AS t`,
        [
          items.map((i) => i.scope),
          items.map((i) => i.subject),
          items.map((i) => i.windowStart),
          items.map((i) => i.requests),
          items.map((i) => i.tokens),
        ],
      );
      return rows.map((r) => ({
        scope: r.s,
        subject: r.j,
        windowStart: num(r.w),
        requests: num(r.r),
        tokens: num(r.t),
      }));
    },
    async sweep(before) {
      const rows = await store.query<{ n: unknown }>(
        "WITH d AS (DELETE FROM rate_limit_counters WHERE window_start < $1 RETURNING 1) SELECT COUNT(*) AS n FROM d",
        [before],
      );
      return num(rows[0]?.n);
    },
  };
}
