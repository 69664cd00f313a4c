/**
 * The ledger's database side, per dialect. Postgres gets single statements (CTEs) so a lease or a flush is one
 * round trip; SQLite gets short BEGIN IMMEDIATE transactions of plain statements (in-process, microseconds).
 * Both keep the invariant the budget rests on: users.reserved_micros = the sum of the user's budget_reservations
 * rows (leases and plain reservations), so a dead process's holdings are released by the sweep.
 * Crash recovery: a flush also stores, in the same statement or transaction, the spend watermark of the process's
 * usage journal (`settings` row `ledger_spend_seq:<journal id>`): every settlement numbered up to it is in
 * spend_micros, so a restart adds exactly the journaled costs above it (`recover`).
 */
import type { Store } from "../../db/client";
import { dueReset } from "../budget-period";

export interface AcquireInput {
  userId: string;
  /** µ$ that must be granted for the caller to proceed (0 still requires spend + reserved < max). */
  need: number;
  maxMicros: number;
  /** Lease = max(need, floor(remaining × fraction)), never more than remains. */
  fraction: number;
  leaseId: string;
  now: Date;
  expiresAt: Date;
}
export interface Snapshot {
  spend: number;
  reserved: number;
}
export interface FlushDelta {
  userId: string;
  spend: number;
  /** µ$ to take off the lease (consumed by settled requests, or given back). */
  release: number;
  leaseId: string;
}
export interface FlushResult extends Snapshot {
  userId: string;
  /** The lease row's amount before this flush; null when it no longer exists (swept). */
  heldBefore: number | null;
}

/** The journal's spend watermark to store with a flush: settlements numbered <= `seq` are in spend_micros. */
export interface SpendMark {
  key: string;
  seq: number;
}
/** A journaled settlement's cost, replayed after a crash. */
export interface SpendEntry {
  userId: string;
  costMicros: number;
  seq: number;
}

export interface LedgerSql {
  acquire(input: AcquireInput): Promise<(Snapshot & { granted: number }) | null>;
  flush(deltas: FlushDelta[], expiresAt: Date, mark: SpendMark | null): Promise<FlushResult[]>;
  /** The stored watermark under `key` (0 when none). */
  readMark(key: string): Promise<number>;
  /** Adds the costs of entries above the stored watermark to spend and raises the watermark, in one transaction. */
  recover(key: string, entries: SpendEntry[]): Promise<{ mark: number; applied: number }>;
  read(userId: string): Promise<Snapshot | null>;
  /** Deletes budget_reservations rows past expires_at and subtracts them; returns rows that held money. */
  sweepExpired(now: Date): Promise<number>;
  /** Applies a due period reset (CAS on next_budget_reset_at + one reset-log row); returns the current next reset. */
  resetIfDue(userId: string, now: Date): Promise<{ reset: boolean; nextResetAt: Date | null }>;
  dueUsers(now: Date, limit: number): Promise<string[]>;
  deleteEmptyLeases(prefix: string): Promise<void>;
}

const num = (v: unknown): number => Number(v ?? 0);
const toDate = (v: unknown): Date | null =>
  v === null || v === undefined ? null : v instanceof Date ? v : new Date(Number(v));

/** Upsert of a spend watermark; parameters from `$first`: key, value (text), updated_at. */
function markSql(pg: boolean, first: number): string {
  const p = (i: number) => (pg ? `$${first + i}` : `?${first + i}`);
  return `INSERT INTO settings (key, value, updated_at) VALUES (${p(0)}, ${p(1)}, ${p(2)})
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`;
}

export function ledgerSql(store: Store): LedgerSql {
  const pg = store.dialect === "pg";
  // Postgres takes Dates; SQLite stores epoch milliseconds.
  const ts = (d: Date) => (pg ? d : d.getTime());
  const p = (i: number) => (pg ? `$${i}` : `?${i}`);

  const common = {
    async readMark(key: string) {
      const rows = await store.query<{ v: string }>(`SELECT value AS v FROM settings WHERE key = ${p(1)}`, [key]);
      return rows[0] ? Number(rows[0].v) : 0;
    },
    async recover(key: string, entries: SpendEntry[]) {
      let out = { mark: 0, applied: 0 };
      await store.rawTx(async (exec) => {
        const [row] = (await exec(`SELECT value AS v FROM settings WHERE key = ${p(1)}${pg ? " FOR UPDATE" : ""}`, [
          key,
        ])) as { v: string }[];
        const mark = row ? Number(row.v) : 0;
        const byUser = new Map<string, number>();
        let top = mark;
        let applied = 0;
        for (const e of entries) {
          if (e.seq <= mark) continue;
          top = Math.max(top, e.seq);
          applied++;
          byUser.set(e.userId, (byUser.get(e.userId) ?? 0) + e.costMicros);
        }
        for (const [userId, cost] of byUser)
          await exec(`UPDATE users SET spend_micros = spend_micros + ${p(2)} WHERE user_id = ${p(1)}`, [userId, cost]);
        if (top > mark) await exec(markSql(pg, 1), [key, String(top), ts(new Date())]);
        out = { mark: top, applied };
      });
      return out;
    },
    async read(userId: string) {
      const rows = await store.query<{ s: unknown; r: unknown }>(
        `SELECT spend_micros AS s, reserved_micros AS r FROM users WHERE user_id = ${p(1)}`,
        [userId],
      );
      const row = rows[0];
      return row ? { spend: num(row.s), reserved: num(row.r) } : null;
    },
    async dueUsers(now: Date, limit: number) {
      const rows = await store.query<{ user_id: string }>(
        `SELECT user_id FROM users WHERE next_budget_reset_at <= ${p(1)} AND deleted_at IS NULL ORDER BY next_budget_reset_at LIMIT ${Math.floor(limit)}`,
        [ts(now)],
      );
      return rows.map((r) => r.user_id);
    },
    async deleteEmptyLeases(prefix: string) {
      await store.query(`DELETE FROM budget_reservations WHERE id LIKE ${p(1)} AND amount_micros = 0`, [`${prefix}%`]);
    },
    async resetIfDue(userId: string, now: Date) {
      let out: { reset: boolean; nextResetAt: Date | null } = { reset: false, nextResetAt: null };
      await store.rawTx(async (exec) => {
        const [row] = (await exec(
          `SELECT u.spend_micros AS s, u.next_budget_reset_at AS n, u.budget_id AS b, b.budget_duration_sec AS d
           FROM users u JOIN budgets b ON b.budget_id = u.budget_id WHERE u.user_id = ${p(1)}${pg ? " FOR UPDATE OF u" : ""}`,
          [userId],
        )) as { s: unknown; n: unknown; b: string; d: unknown }[];
        if (!row) return;
        const next = toDate(row.n);
        const due = dueReset(next, row.d === null ? null : num(row.d), now);
        out = { reset: false, nextResetAt: next };
        if (!due || !next) return;
        // Compare-and-swap on the old boundary: of two replicas applying the same reset, only one matches.
        const cas = pg
          ? `date_trunc('milliseconds', next_budget_reset_at) = date_trunc('milliseconds', $5::timestamptz)`
          : `next_budget_reset_at = ?5`;
        const changed = await exec(
          `UPDATE users SET spend_micros = 0, budget_started_at = ${p(2)}, next_budget_reset_at = ${p(3)}, updated_at = ${p(4)}
           WHERE user_id = ${p(1)} AND ${cas} RETURNING user_id`,
          [userId, ts(due.startedAt), ts(due.nextResetAt), ts(now), ts(next)],
        );
        if (changed.length === 0) return;
        await exec(
          `INSERT INTO budget_reset_logs (user_id, budget_id, previous_spend_micros, reset_at, next_reset_at) VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)})`,
          [userId, row.b, num(row.s), ts(now), ts(due.nextResetAt)],
        );
        out = { reset: true, nextResetAt: due.nextResetAt };
      });
      return out;
    },
  };

  if (pg) {
    return {
      ...common,
      async acquire(a) {
        const rows = await store.query<{ spend: unknown; reserved: unknown; granted: unknown }>(
          `WITH cur AS (
             SELECT spend_micros AS s, reserved_micros AS r FROM users WHERE user_id = $1 AND deleted_at IS NULL FOR UPDATE
           ), g AS (
             SELECT LEAST(GREATEST($2::bigint, FLOOR(($3::bigint - s - r) * $4::float8)::bigint), $3::bigint - s - r) AS amt
             FROM cur WHERE s + r < $3::bigint AND s + r + $2::bigint <= $3::bigint
           ), upd AS (
             UPDATE users u SET reserved_micros = u.reserved_micros + g.amt FROM g WHERE u.user_id = $1
             RETURNING u.spend_micros AS spend, u.reserved_micros AS reserved, g.amt AS granted
           ), ins AS (
             INSERT INTO budget_reservations (id, user_id, amount_micros, created_at, expires_at)
             SELECT $5, $1, g.amt, $6::timestamptz, $7::timestamptz FROM g
             ON CONFLICT (id) DO UPDATE SET amount_micros = budget_reservations.amount_micros + EXCLUDED.amount_micros,
               expires_at = EXCLUDED.expires_at
           )
           SELECT spend, reserved, granted FROM upd`,
          [a.userId, a.need, a.maxMicros, a.fraction, a.leaseId, a.now, a.expiresAt],
        );
        const row = rows[0];
        return row ? { spend: num(row.spend), reserved: num(row.reserved), granted: num(row.granted) } : null;
      },
      async flush(deltas, expiresAt, mark) {
        // Users first, then the lease rows (the order acquire() locks in), so the two never deadlock each other.
        // The watermark rides in the same statement: spend and the mark commit together or not at all.
        const rows = await store.query<{ user_id: string; s: unknown; r: unknown; held: unknown }>(
          `WITH d AS (
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[]) AS d(user_id, spend, rel, lease_id)
           ), u AS (
             UPDATE users SET spend_micros = users.spend_micros + d.spend,
               reserved_micros = GREATEST(users.reserved_micros - LEAST(COALESCE(b.amount_micros, 0), d.rel), 0)
             FROM d LEFT JOIN budget_reservations b ON b.id = d.lease_id
             WHERE users.user_id = d.user_id
             RETURNING users.user_id, users.spend_micros AS s, users.reserved_micros AS r, b.amount_micros AS held, d.rel, d.lease_id
           ), l AS (
             UPDATE budget_reservations b SET amount_micros = b.amount_micros - LEAST(b.amount_micros, u.rel), expires_at = $5::timestamptz
             FROM u WHERE b.id = u.lease_id
           ), m AS (
             INSERT INTO settings (key, value, updated_at) SELECT $6::text, $7::text, now() WHERE $6::text IS NOT NULL
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at
           )
           SELECT user_id, s, r, held FROM u`,
          [
            deltas.map((d) => d.userId),
            deltas.map((d) => d.spend),
            deltas.map((d) => d.release),
            deltas.map((d) => d.leaseId),
            expiresAt,
            mark?.key ?? null,
            mark ? String(mark.seq) : null,
          ],
        );
        return rows.map((r) => ({
          userId: r.user_id,
          spend: num(r.s),
          reserved: num(r.r),
          heldBefore: r.held === null ? null : num(r.held),
        }));
      },
      async sweepExpired(now) {
        const rows = await store.query<{ n: unknown }>(
          `WITH del AS (
             DELETE FROM budget_reservations WHERE expires_at < $1::timestamptz RETURNING user_id, amount_micros
           ), agg AS (
             SELECT user_id, SUM(amount_micros) AS amt, COUNT(*) FILTER (WHERE amount_micros > 0) AS n FROM del GROUP BY user_id
           ), upd AS (
             UPDATE users SET reserved_micros = GREATEST(users.reserved_micros - agg.amt, 0) FROM agg WHERE users.user_id = agg.user_id
           )
           SELECT COALESCE(SUM(n), 0) AS n FROM agg`,
          [now],
        );
        return num(rows[0]?.n);
      },
    };
  }

  return {
    ...common,
    async acquire(a) {
      let out: (Snapshot & { granted: number }) | null = null;
      await store.rawTx(async (exec) => {
        const [row] = (await exec(
          "SELECT spend_micros AS s, reserved_micros AS r FROM users WHERE user_id = ?1 AND deleted_at IS NULL",
          [a.userId],
        )) as {
          s: number;
          r: number;
        }[];
        if (!row) return;
        const remaining = a.maxMicros - row.s - row.r;
        if (remaining <= 0 || a.need > remaining) return;
        const granted = Math.min(Math.max(a.need, Math.floor(remaining * a.fraction)), remaining);
        await exec("UPDATE users SET reserved_micros = reserved_micros + ?2 WHERE user_id = ?1", [a.userId, granted]);
        await exec(
          `INSERT INTO budget_reservations (id, user_id, amount_micros, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
           ON CONFLICT (id) DO UPDATE SET amount_micros = amount_micros + excluded.amount_micros, expires_at = excluded.expires_at`,
          [a.leaseId, a.userId, granted, a.now.getTime(), a.expiresAt.getTime()],
        );
        out = { spend: row.s, reserved: row.r + granted, granted };
      });
      return out;
    },
    async flush(deltas, expiresAt, mark) {
      const out: FlushResult[] = [];
      await store.rawTx(async (exec) => {
        if (mark) await exec(markSql(false, 1), [mark.key, String(mark.seq), Date.now()]);
        for (const d of deltas) {
          const [lease] = (await exec("SELECT amount_micros AS a FROM budget_reservations WHERE id = ?1", [
            d.leaseId,
          ])) as { a: number }[];
          const taken = lease ? Math.min(lease.a, d.release) : 0;
          const [u] = (await exec(
            `UPDATE users SET spend_micros = spend_micros + ?2, reserved_micros = MAX(reserved_micros - ?3, 0) WHERE user_id = ?1
             RETURNING spend_micros AS s, reserved_micros AS r`,
            [d.userId, d.spend, taken],
          )) as { s: number; r: number }[];
          if (lease)
            await exec("UPDATE budget_reservations SET amount_micros = ?2, expires_at = ?3 WHERE id = ?1", [
              d.leaseId,
              lease.a - taken,
              expiresAt.getTime(),
            ]);
          if (u) out.push({ userId: d.userId, spend: u.s, reserved: u.r, heldBefore: lease ? lease.a : null });
        }
      });
      return out;
    },
    async sweepExpired(now) {
      let released = 0;
      await store.rawTx(async (exec) => {
        const rows = (await exec(
          "DELETE FROM budget_reservations WHERE expires_at < ?1 RETURNING user_id AS u, amount_micros AS a",
          [now.getTime()],
        )) as {
          u: string;
          a: number;
        }[];
        for (const r of rows) {
          if (r.a > 0) released++;
          await exec("UPDATE users SET reserved_micros = MAX(reserved_micros - ?2, 0) WHERE user_id = ?1", [r.u, r.a]);
        }
      });
      return released;
    },
  };
}
