/**
 * Concurrency slots shared by Postgres replicas: `concurrency_counters.held` per (scope, subject) is the sum of the
 * replicas' leases in `concurrency_leases`. A take is one statement that first reclaims the subject's expired leases
 * (replicas that stopped renewing: killed), then grants at most what the limit leaves, so `held` never passes it.
 */
import type { Store } from "../../db/client";

export interface SlotReturn {
  leaseId: string;
  /** Slots to give back (0 = only renew the lease). */
  slots: number;
}

export interface SharedSlots {
  /** Grants up to `want` slots of `limit` to this replica's lease; returns how many (0 = refused). */
  take(
    scope: string,
    subject: string,
    leaseId: string,
    want: number,
    limit: number,
    now: Date,
    expiresAt: Date,
  ): Promise<number>;
  /** Gives slots back and renews the leases; returns what each lease still holds (absent = reclaimed by others). */
  giveBack(items: SlotReturn[], expiresAt: Date): Promise<Map<string, number>>;
  /** Reclaims every expired lease; returns the slots given back. */
  sweep(now: Date): Promise<number>;
}

const num = (v: unknown) => Number(v ?? 0);

// What the limit leaves after reclaiming expired leases: c.held - freed, and the grant it allows.
const LEFT = "GREATEST(c.held - (SELECT n FROM freed), 0)";
const GRANT = `GREATEST(LEAST($4::int, $5::int - ${LEFT}), 0)`;

const TAKE_SQL = `WITH gone AS (
    DELETE FROM concurrency_leases WHERE scope = $1 AND subject = $2 AND expires_at < $6::timestamptz AND id <> $3
    RETURNING slots
  ), freed AS (
    SELECT COALESCE(SUM(slots), 0)::int AS n FROM gone
  ), c AS (
    INSERT INTO concurrency_counters AS c (scope, subject, held, granted)
    SELECT $1, $2, LEAST($4::int, $5::int), LEAST($4::int, $5::int) FROM freed
    ON CONFLICT (scope, subject) DO UPDATE SET held = ${LEFT} + ${GRANT}, granted = ${GRANT}
    RETURNING c.granted AS g
  ), l AS (
    INSERT INTO concurrency_leases (id, scope, subject, slots, expires_at)
    SELECT $3, $1, $2, g, $7::timestamptz FROM c WHERE g > 0
    ON CONFLICT (id) DO UPDATE SET slots = concurrency_leases.slots + EXCLUDED.slots, expires_at = EXCLUDED.expires_at
  )
  SELECT g FROM c`;

const GIVE_BACK_SQL = `WITH d AS (
    SELECT * FROM unnest($1::text[], $2::int[]) AS d(id, n)
  ), cur AS (
    SELECT x.id, x.scope, x.subject, x.slots, LEAST(x.slots, d.n) AS give
    FROM concurrency_leases x JOIN d ON d.id = x.id ORDER BY x.scope, x.subject FOR UPDATE OF x
  ), l AS (
    UPDATE concurrency_leases x SET slots = x.slots - cur.give, expires_at = $3::timestamptz FROM cur WHERE x.id = cur.id
  ), c AS (
    UPDATE concurrency_counters c SET held = GREATEST(c.held - cur.give, 0)
    FROM cur WHERE c.scope = cur.scope AND c.subject = cur.subject AND cur.give > 0
  )
  SELECT id, slots - give AS left FROM cur`;

const SWEEP_SQL = `WITH gone AS (
    DELETE FROM concurrency_leases WHERE expires_at < $1::timestamptz RETURNING scope, subject, slots
  ), agg AS (
    SELECT scope, subject, SUM(slots) AS n FROM gone GROUP BY scope, subject
  ), c AS (
    UPDATE concurrency_counters c SET held = GREATEST(c.held - agg.n, 0) FROM agg WHERE c.scope = agg.scope AND c.subject = agg.subject
  )
  SELECT COALESCE(SUM(n), 0) AS n FROM agg`;

export function sharedSlots(store: Store): SharedSlots {
  return {
    async take(scope, subject, leaseId, want, limit, now, expiresAt) {
      const rows = await store.query<{ g: unknown }>(TAKE_SQL, [scope, subject, leaseId, want, limit, now, expiresAt]);
      return num(rows[0]?.g);
    },
    async giveBack(items, expiresAt) {
      if (items.length === 0) return new Map();
      const rows = await store.query<{ id: string; left: unknown }>(GIVE_BACK_SQL, [
        items.map((i) => i.leaseId),
        items.map((i) => i.slots),
        expiresAt,
      ]);
      return new Map(rows.map((r) => [r.id, num(r.left)]));
    },
    async sweep(now) {
      const rows = await store.query<{ n: unknown }>(SWEEP_SQL, [now]);
      return num(rows[0]?.n);
    },
  };
}
