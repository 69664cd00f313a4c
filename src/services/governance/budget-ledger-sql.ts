/**
 * The budget ledger's statements, per dialect, for every level (subjects.ts): keys, users, teams and end users each
 * keep spend_micros, reserved_micros and a budget window on their own row, and leases live in budget_reservations
 * under (subject_kind, subject_id). Postgres: a lease is one atomic statement and a flush of every level is one
 * statement. SQLite: the same steps in one transaction (one serving process per file).
 *
 * Crash recovery: a flush also stores, in the same statement or transaction, the spend watermark of the process's
 * usage journal (`settings` row `ledger_spend_seq:<journal id>`): every settlement numbered up to it is in
 * spend_micros on every level it charged, so a restart adds exactly the journaled costs above it (`recover`).
 */
import type { Store } from "../../db/client";
import { dueReset } from "../budget-period";
import { type EndUserSeed, SUBJECT_KINDS, type SubjectKind, type SubjectRef } from "./subjects";

export interface AcquireInput extends SubjectRef {
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
export interface Acquired extends Snapshot {
  granted: number;
  nextResetAt: Date | null;
  /** `budget_started_at`: the current window's start. */
  windowStart: Date | null;
}
export interface FlushDelta extends SubjectRef {
  spend: number;
  /** µ$ to take off the lease (consumed by settled requests, or given back). */
  release: number;
  leaseId: string;
}
export interface FlushResult extends Snapshot, SubjectRef {
  /** The lease row's amount before this flush; null when it no longer exists (swept). */
  heldBefore: number | null;
  windowStart: Date | null;
}

/** The journal's spend watermark to store with a flush: settlements numbered <= `seq` are in spend_micros. */
export interface SpendMark {
  key: string;
  seq: number;
}
/** A journaled settlement's cost and the levels it charged, replayed after a crash. */
export interface SpendEntry {
  costMicros: number;
  seq: number;
  subjects: SubjectRef[];
}

export interface LedgerSql {
  acquire(input: AcquireInput): Promise<Acquired | null>;
  flush(deltas: FlushDelta[], expiresAt: Date, mark: SpendMark | null): Promise<FlushResult[]>;
  /** The stored watermark under `key` (0 when none). */
  readMark(key: string): Promise<number>;
  /** Adds the costs of entries above the stored watermark to spend and raises the watermark, in one transaction. */
  recover(key: string, entries: SpendEntry[]): Promise<{ mark: number; applied: number }>;
  read(subject: SubjectRef): Promise<Snapshot | null>;
  /** Deletes budget_reservations rows past expires_at and subtracts them; returns rows that held money. */
  sweepExpired(now: Date): Promise<number>;
  /** Applies a due period reset (CAS on next_budget_reset_at + one reset-log row); returns the current next reset. */
  resetIfDue(subject: SubjectRef, now: Date): Promise<{ reset: boolean; nextResetAt: Date | null }>;
  dueSubjects(now: Date, limit: number): Promise<SubjectRef[]>;
  deleteEmptyLeases(prefix: string): Promise<void>;
  /** Creates an end user's row on first sight (a no-op when it exists). */
  ensureEndUser(id: string, seed: EndUserSeed, now: Date): Promise<void>;
}

/** Where each level's row lives. `user`/`label` are what a reset log records for it. */
interface KindSql {
  table: string;
  id: string;
  /** Extra condition for rows that may still spend. */
  live: string;
  user: string;
  label: string;
}
const KIND_SQL: Readonly<Record<SubjectKind, KindSql>> = {
  key: { table: "api_keys", id: "id", live: "", user: "t.user_id", label: "t.id" },
  user: { table: "users", id: "user_id", live: " AND t.deleted_at IS NULL", user: "t.user_id", label: "t.user_id" },
  team: { table: "teams", id: "team_id", live: "", user: "NULL", label: "t.team_id" },
  end_user: { table: "end_users", id: "id", live: "", user: "t.user_id", label: "t.end_user_id" },
};

/** A level's table and id column, for statements outside the ledger that book on it (batch holds). */
export function subjectTable(kind: SubjectKind): { table: string; id: string } {
  const { table, id } = KIND_SQL[kind];
  return { table, id };
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

/** Postgres: one lease statement per level (the table name is the only difference). */
function pgAcquireSql(kind: SubjectKind): string {
  const { table, id, live } = KIND_SQL[kind];
  return `WITH cur AS (
     SELECT spend_micros AS s, reserved_micros AS r, next_budget_reset_at AS n, budget_started_at AS w
     FROM ${table} t WHERE t.${id} = $1${live} FOR UPDATE
   ), g AS (
     SELECT LEAST(GREATEST($2::bigint, FLOOR(($3::bigint - s - r) * $4::float8)::bigint), $3::bigint - s - r) AS amt, n, w
     FROM cur WHERE s + r < $3::bigint AND s + r + $2::bigint <= $3::bigint
   ), upd AS (
     UPDATE ${table} u SET reserved_micros = u.reserved_micros + g.amt FROM g WHERE u.${id} = $1
     RETURNING u.spend_micros AS spend, u.reserved_micros AS reserved, g.amt AS granted, g.n AS n, g.w AS w
   ), ins AS (
     INSERT INTO budget_reservations (id, subject_kind, subject_id, amount_micros, created_at, expires_at)
     SELECT $5, '${kind}', $1, g.amt, $6::timestamptz, $7::timestamptz FROM g
     ON CONFLICT (id) DO UPDATE SET amount_micros = budget_reservations.amount_micros + EXCLUDED.amount_micros,
       expires_at = EXCLUDED.expires_at
   )
   SELECT spend, reserved, granted, n, w FROM upd`;
}

/**
 * Postgres: every level's settled spend and lease movements in ONE statement. Rows first, then the lease rows (the
 * order acquire() locks in), so the two never deadlock each other. The watermark rides along: spend on every level
 * and the mark commit together or not at all.
 */
const PG_FLUSH_SQL = (() => {
  const perKind = SUBJECT_KINDS.map((kind) => {
    const { table, id } = KIND_SQL[kind];
    return `u_${kind} AS (
       UPDATE ${table} t SET spend_micros = t.spend_micros + dl.spend,
         reserved_micros = GREATEST(t.reserved_micros - LEAST(COALESCE(dl.held, 0), dl.rel), 0)
       FROM dl WHERE dl.kind = '${kind}' AND t.${id} = dl.sid
       RETURNING dl.kind, dl.sid, t.spend_micros AS s, t.reserved_micros AS r, t.budget_started_at AS w, dl.held, dl.rel, dl.lease_id
     )`;
  });
  return `WITH d AS (
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[]) AS d(kind, sid, spend, rel, lease_id)
   ), dl AS (
     SELECT d.*, b.amount_micros AS held FROM d LEFT JOIN budget_reservations b ON b.id = d.lease_id
   ), ${perKind.join(", ")}, u AS (
     ${SUBJECT_KINDS.map((k) => `SELECT * FROM u_${k}`).join(" UNION ALL ")}
   ), l AS (
     UPDATE budget_reservations b SET amount_micros = b.amount_micros - LEAST(b.amount_micros, u.rel), expires_at = $6::timestamptz
     FROM u WHERE b.id = u.lease_id
   ), m AS (
     INSERT INTO settings (key, value, updated_at) SELECT $7::text, $8::text, now() WHERE $7::text IS NOT NULL
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at
   )
   SELECT kind, sid, s, r, w, held FROM u`;
})();

/** Postgres: expired leases of every level deleted and subtracted from their rows in one statement. */
const PG_SWEEP_SQL = `WITH del AS (
     DELETE FROM budget_reservations WHERE expires_at < $1::timestamptz RETURNING subject_kind AS k, subject_id AS sid, amount_micros AS a
   ), agg AS (
     SELECT k, sid, SUM(a) AS amt, COUNT(*) FILTER (WHERE a > 0) AS n FROM del GROUP BY k, sid
   ), ${SUBJECT_KINDS.map((kind) => {
     const { table, id } = KIND_SQL[kind];
     return `s_${kind} AS (
       UPDATE ${table} t SET reserved_micros = GREATEST(t.reserved_micros - agg.amt, 0) FROM agg WHERE agg.k = '${kind}' AND t.${id} = agg.sid
     )`;
   }).join(", ")}
   SELECT COALESCE(SUM(n), 0) AS n FROM agg`;

export function ledgerSql(store: Store): LedgerSql {
  const pg = store.dialect === "pg";
  // Postgres takes Dates; SQLite stores epoch milliseconds.
  const ts = (d: Date) => (pg ? d : d.getTime());
  const p = (i: number) => (pg ? `$${i}` : `?${i}`);
  const acquireSql = pg
    ? (Object.fromEntries(SUBJECT_KINDS.map((k) => [k, pgAcquireSql(k)])) as Record<SubjectKind, string>)
    : null;
  const dueSql = `SELECT k, id FROM (${SUBJECT_KINDS.map((kind) => {
    const { table, id, live } = KIND_SQL[kind];
    return `SELECT '${kind}' AS k, t.${id} AS id, t.next_budget_reset_at AS n FROM ${table} t
      WHERE t.next_budget_reset_at <= ${p(1)} AND t.budget_id IS NOT NULL${live}`;
  }).join(" UNION ALL ")}) due ORDER BY n LIMIT ${p(2)}`;

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
        const bySubject = new Map<string, { ref: SubjectRef; cost: number }>();
        let top = mark;
        let applied = 0;
        for (const e of entries) {
          if (e.seq <= mark) continue;
          top = Math.max(top, e.seq);
          applied++;
          for (const ref of e.subjects) {
            const k = `${ref.kind}\u0000${ref.id}`;
            const acc = bySubject.get(k);
            if (acc) acc.cost += e.costMicros;
            else bySubject.set(k, { ref, cost: e.costMicros });
          }
        }
        for (const { ref, cost } of bySubject.values()) {
          const { table, id } = KIND_SQL[ref.kind];
          await exec(`UPDATE ${table} SET spend_micros = spend_micros + ${p(2)} WHERE ${id} = ${p(1)}`, [ref.id, cost]);
        }
        if (top > mark) await exec(markSql(pg, 1), [key, String(top), ts(new Date())]);
        out = { mark: top, applied };
      });
      return out;
    },
    async read(subject: SubjectRef) {
      const { table, id } = KIND_SQL[subject.kind];
      const rows = await store.query<{ s: unknown; r: unknown }>(
        `SELECT spend_micros AS s, reserved_micros AS r FROM ${table} WHERE ${id} = ${p(1)}`,
        [subject.id],
      );
      const row = rows[0];
      return row ? { spend: num(row.s), reserved: num(row.r) } : null;
    },
    async dueSubjects(now: Date, limit: number) {
      const rows = await store.query<{ k: SubjectKind; id: string }>(dueSql, [ts(now), Math.floor(limit)]);
      return rows.map((r) => ({ kind: r.k, id: r.id }));
    },
    async deleteEmptyLeases(prefix: string) {
      await store.query(`DELETE FROM budget_reservations WHERE id LIKE ${p(1)} AND amount_micros = 0`, [`${prefix}%`]);
    },
    async ensureEndUser(id: string, seed: EndUserSeed, now: Date) {
      const next = seed.durationSec ? new Date(now.getTime() + seed.durationSec * 1000) : null;
      await store.query(
        `INSERT INTO end_users (id, user_id, end_user_id, budget_id, spend_micros, reserved_micros, budget_started_at,
           next_budget_reset_at, created_at, updated_at)
         VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, 0, 0, ${p(5)}, ${p(6)}, ${p(5)}, ${p(5)}) ON CONFLICT (id) DO NOTHING`,
        [id, seed.userId, seed.endUserId, seed.budgetId, ts(now), next === null ? null : ts(next)],
      );
    },
    async resetIfDue(subject: SubjectRef, now: Date) {
      const { table, id, user, label } = KIND_SQL[subject.kind];
      let out: { reset: boolean; nextResetAt: Date | null } = { reset: false, nextResetAt: null };
      await store.rawTx(async (exec) => {
        const [row] = (await exec(
          `SELECT t.spend_micros AS s, t.next_budget_reset_at AS n, t.budget_id AS b, b.budget_duration_sec AS d,
             ${user} AS u, ${label} AS l
           FROM ${table} t JOIN budgets b ON b.budget_id = t.budget_id WHERE t.${id} = ${p(1)}${pg ? " FOR UPDATE OF t" : ""}`,
          [subject.id],
        )) as { s: unknown; n: unknown; b: string; d: unknown; u: string | null; l: string }[];
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
          `UPDATE ${table} SET spend_micros = 0, budget_started_at = ${p(2)}, next_budget_reset_at = ${p(3)}, updated_at = ${p(4)}
           WHERE ${id} = ${p(1)} AND ${cas} RETURNING ${id}`,
          [subject.id, ts(due.startedAt), ts(due.nextResetAt), ts(now), ts(next)],
        );
        if (changed.length === 0) return;
        await exec(
          `INSERT INTO budget_reset_logs (user_id, budget_id, previous_spend_micros, reset_at, next_reset_at, subject_kind, subject_id)
           VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)})`,
          [row.u, row.b, num(row.s), ts(now), ts(due.nextResetAt), subject.kind, row.l],
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
        const rows = await store.query<{ spend: unknown; reserved: unknown; granted: unknown; n: unknown; w: unknown }>(
          (acquireSql as Record<SubjectKind, string>)[a.kind],
          [a.id, a.need, a.maxMicros, a.fraction, a.leaseId, a.now, a.expiresAt],
        );
        const row = rows[0];
        return row
          ? {
              spend: num(row.spend),
              reserved: num(row.reserved),
              granted: num(row.granted),
              nextResetAt: toDate(row.n),
              windowStart: toDate(row.w),
            }
          : null;
      },
      async flush(deltas, expiresAt, mark) {
        const rows = await store.query<{
          kind: SubjectKind;
          sid: string;
          s: unknown;
          r: unknown;
          w: unknown;
          held: unknown;
        }>(PG_FLUSH_SQL, [
          deltas.map((d) => d.kind),
          deltas.map((d) => d.id),
          deltas.map((d) => d.spend),
          deltas.map((d) => d.release),
          deltas.map((d) => d.leaseId),
          expiresAt,
          mark?.key ?? null,
          mark ? String(mark.seq) : null,
        ]);
        return rows.map((r) => ({
          kind: r.kind,
          id: r.sid,
          spend: num(r.s),
          reserved: num(r.r),
          windowStart: toDate(r.w),
          heldBefore: r.held === null ? null : num(r.held),
        }));
      },
      async sweepExpired(now) {
        const rows = await store.query<{ n: unknown }>(PG_SWEEP_SQL, [now]);
        return num(rows[0]?.n);
      },
    };
  }

  return {
    ...common,
    async acquire(a) {
      const { table, id, live } = KIND_SQL[a.kind];
      let out: Acquired | null = null;
      await store.rawTx(async (exec) => {
        const [row] = (await exec(
          `SELECT spend_micros AS s, reserved_micros AS r, next_budget_reset_at AS n, budget_started_at AS w
           FROM ${table} t WHERE t.${id} = ?1${live}`,
          [a.id],
        )) as { s: number; r: number; n: number | null; w: number | null }[];
        if (!row) return;
        const remaining = a.maxMicros - row.s - row.r;
        if (remaining <= 0 || a.need > remaining) return;
        const granted = Math.min(Math.max(a.need, Math.floor(remaining * a.fraction)), remaining);
        await exec(`UPDATE ${table} SET reserved_micros = reserved_micros + ?2 WHERE ${id} = ?1`, [a.id, granted]);
        await exec(
          `INSERT INTO budget_reservations (id, subject_kind, subject_id, amount_micros, created_at, expires_at)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6)
           ON CONFLICT (id) DO UPDATE SET amount_micros = amount_micros + excluded.amount_micros, expires_at = excluded.expires_at`,
          [a.leaseId, a.kind, a.id, granted, a.now.getTime(), a.expiresAt.getTime()],
        );
        out = {
          spend: row.s,
          reserved: row.r + granted,
          granted,
          nextResetAt: toDate(row.n),
          windowStart: toDate(row.w),
        };
      });
      return out;
    },
    async flush(deltas, expiresAt, mark) {
      const out: FlushResult[] = [];
      await store.rawTx(async (exec) => {
        if (mark) await exec(markSql(false, 1), [mark.key, String(mark.seq), Date.now()]);
        for (const d of deltas) {
          const { table, id } = KIND_SQL[d.kind];
          const [lease] = (await exec("SELECT amount_micros AS a FROM budget_reservations WHERE id = ?1", [
            d.leaseId,
          ])) as { a: number }[];
          const taken = lease ? Math.min(lease.a, d.release) : 0;
          const [u] = (await exec(
            `UPDATE ${table} SET spend_micros = spend_micros + ?2, reserved_micros = MAX(reserved_micros - ?3, 0) WHERE ${id} = ?1
             RETURNING spend_micros AS s, reserved_micros AS r, budget_started_at AS w`,
            [d.id, d.spend, taken],
          )) as { s: number; r: number; w: number | null }[];
          if (lease)
            await exec("UPDATE budget_reservations SET amount_micros = ?2, expires_at = ?3 WHERE id = ?1", [
              d.leaseId,
              lease.a - taken,
              expiresAt.getTime(),
            ]);
          if (u)
            out.push({
              kind: d.kind,
              id: d.id,
              spend: u.s,
              reserved: u.r,
              windowStart: toDate(u.w),
              heldBefore: lease ? lease.a : null,
            });
        }
      });
      return out;
    },
    async sweepExpired(now) {
      let released = 0;
      await store.rawTx(async (exec) => {
        const rows = (await exec(
          "DELETE FROM budget_reservations WHERE expires_at < ?1 RETURNING subject_kind AS k, subject_id AS s, amount_micros AS a",
          [now.getTime()],
        )) as { k: SubjectKind; s: string; a: number }[];
        for (const r of rows) {
          if (r.a > 0) released++;
          const { table, id } = KIND_SQL[r.k];
          await exec(`UPDATE ${table} SET reserved_micros = MAX(reserved_micros - ?2, 0) WHERE ${id} = ?1`, [r.s, r.a]);
        }
      });
      return released;
    },
  };
}
