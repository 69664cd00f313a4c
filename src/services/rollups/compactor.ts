/**
 * Keeps usage_marginals in step with usage_rollups (and usage_logs, for end users), off the request and writer paths:
 * every closed hour marked in usage_rollup_dirty gets its hourly marginals rebuilt, then its day's. Exact under
 * concurrent writers: the dirty entries are read in the same snapshot as the rollups and rows (SQLite: the write
 * lock; Postgres: a REPEATABLE READ transaction), and only entries seen are deleted, so a writer that commits
 * meanwhile leaves its mark for the next pass. The prefix points after the rebuilt hours (prefix.ts) are rebuilt in
 * the same transaction. On Postgres, one replica compacts at a time (an advisory lock; a replica that finds it taken
 * skips the pass): the prefix points chain every day to the one before, so two days compacted at once would
 * rebuild the same points.
 */
import type { Store } from "../../db/client";
import { logger } from "../../runtime/logger";
import { dailyMarginals, hourlyMarginals, type Statement } from "./marginals";
import { rebuildPoints } from "./prefix";
import { DAY_MS, HOUR_MS, msOf, SqlParams } from "./sql";

const log = logger("rollups");

const COMPACTOR_LOCK = 728_411_095;

export interface RollupCompactor {
  /** Compacts up to `maxDays` days with dirty closed hours; returns how many hours it rebuilt. */
  compact(maxDays?: number): Promise<number>;
  /** Compacts now and every `intervalMs` until `stop`. */
  start(intervalMs: number): void;
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>;
}

export function createRollupCompactor(o: { store: Store; now?: () => Date }): RollupCompactor {
  const { store } = o;
  const now = o.now ?? (() => new Date());
  const params = () => new SqlParams(store.dialect);
  let timer: ReturnType<typeof setInterval> | null = null;
  let running: Promise<number> | null = null;

  async function compactDay(day: number, cutoff: number): Promise<number> {
    let rebuilt = 0;
    await store.rawTx(async (exec) => {
      const run = (s: Statement) => exec(s.sql, s.params);
      if (store.dialect === "pg") {
        await exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
        const [lock] = (await exec("SELECT pg_try_advisory_xact_lock($1::bigint) AS ok", [COMPACTOR_LOCK])) as {
          ok: boolean;
        }[];
        if (!lock?.ok) return;
      }
      const p = params();
      const upTo = Math.min(day + DAY_MS, cutoff);
      const seen = (await exec(
        `SELECT ${msOf(store.dialect, "hour")} AS hour, MAX(id) AS max_id FROM usage_rollup_dirty WHERE hour >= ${p.time(day)} AND hour < ${p.time(upTo)} GROUP BY hour`,
        p.values,
      )) as { hour: unknown; max_id: unknown }[];
      for (const { hour } of seen)
        for (const s of hourlyMarginals(params, store.dialect, { from: Number(hour), to: Number(hour) + HOUR_MS }))
          await run(s);
      for (const s of dailyMarginals(params, store.dialect, { from: day, to: day + DAY_MS })) await run(s);
      await rebuildPoints(
        exec,
        params,
        store.dialect,
        seen.map((s) => Number(s.hour)),
        cutoff,
      );
      for (const { hour, max_id } of seen) {
        const d = params();
        await exec(
          `DELETE FROM usage_rollup_dirty WHERE hour = ${d.time(Number(hour))} AND id <= ${d.add(Number(max_id))}`,
          d.values,
        );
      }
      rebuilt = seen.length;
    });
    return rebuilt;
  }

  async function compact(maxDays = 7): Promise<number> {
    const cutoff = Math.floor(now().getTime() / HOUR_MS) * HOUR_MS;
    const p = params();
    const rows = await store.query<{ hour: unknown }>(
      `SELECT DISTINCT ${msOf(store.dialect, "hour")} AS hour FROM usage_rollup_dirty WHERE hour < ${p.time(cutoff)} ORDER BY hour LIMIT 500`,
      p.values,
    );
    const days = [...new Set(rows.map((r) => Math.floor(Number(r.hour) / DAY_MS) * DAY_MS))].slice(0, maxDays);
    let rebuilt = 0;
    for (const day of days) rebuilt += await compactDay(day, cutoff);
    return rebuilt;
  }

  /** One pass at a time per process; a call during a pass waits for it and runs its own. */
  function serialised(maxDays?: number): Promise<number> {
    const next: Promise<number> = (running ?? Promise.resolve(0)).catch(() => 0).then(() => compact(maxDays));
    running = next;
    return next.finally(() => {
      if (running === next) running = null;
    });
  }

  return {
    compact: serialised,
    start(intervalMs) {
      const tick = () => {
        if (running) return;
        serialised().catch((err: unknown) =>
          log.warn("rollup compaction failed; will retry", { error: err instanceof Error ? err.message : String(err) }),
        );
      };
      timer = setInterval(tick, intervalMs);
      timer.unref();
      tick();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await running?.catch(() => undefined);
    },
  };
}
