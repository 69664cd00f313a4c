/**
 * Durable budget holds for batches (docs/api.md#batches): a batch's estimate is reserved on every capped level of its
 * path (key, user, team) as budget_reservations rows of its own, `<holdId>:<kind>`, each taken atomically against its
 * cap (the ledger's acquire statement, with no lease beyond the estimate), all or none, and kept until the batch's
 * window is over, so they survive restarts and other replicas see them. Settling removes the holds and adds the batch's
 * cost to the spend of every level it charges in one transaction; a hold nobody settled expires and the ledger's sweep
 * gives it back.
 */
import type { Store } from "../../db/client";
import type { RawExec } from "../../db/store";
import { ledgerSql, subjectTable } from "./budget-ledger-sql";
import type { SubjectKind, SubjectRef } from "./subjects";

/** A capped level to hold the estimate on; `label` names it in the refusal when it is the one that refuses. */
export interface LevelHold extends SubjectRef {
  label: string;
  capMicros: number;
}

export interface HoldInput {
  holdId: string;
  levels: readonly LevelHold[];
  amountMicros: number;
  now: Date;
  expiresAt: Date;
}

export interface SettleInput {
  provider: string;
  batchId: string;
  /** The levels whose spend the batch's cost is added to (every level of its path, capped or not). */
  charge: readonly SubjectRef[];
  costMicros: number;
  now: Date;
}

export function createBatchHolds(store: Store) {
  const sql = ledgerSql(store);
  const pg = store.dialect === "pg";
  const p = (i: number) => (pg ? `$${i}` : `?${i}`);
  const ts = (d: Date) => (pg ? d : d.getTime());
  const max = pg ? "GREATEST" : "MAX";

  /** Deletes the hold's rows (`<holdId>:<kind>`, a key range, no LIKE) and takes them off their levels' reserved. */
  async function dropHolds(exec: RawExec, holdId: string): Promise<void> {
    const rows = (await exec(
      `DELETE FROM budget_reservations WHERE id > ${p(1)} AND id < ${p(2)}
       RETURNING subject_kind AS k, subject_id AS s, amount_micros AS a`,
      [`${holdId}:`, `${holdId};`],
    )) as { k: SubjectKind; s: string; a: unknown }[];
    for (const r of rows) {
      const { table, id } = subjectTable(r.k);
      await exec(`UPDATE ${table} SET reserved_micros = ${max}(reserved_micros - ${p(1)}, 0) WHERE ${id} = ${p(2)}`, [
        Number(r.a),
        r.s,
      ]);
    }
  }

  const release = (holdId: string): Promise<void> => store.rawTx((exec) => dropHolds(exec, holdId));

  return {
    /**
     * Reserves `amountMicros` on every level, all or none: null when all fit, else the level that refused (what was
     * already held on the others is given back).
     */
    async hold(h: HoldInput): Promise<LevelHold | null> {
      for (const level of h.levels) {
        const acquired = await sql.acquire({
          kind: level.kind,
          id: level.id,
          need: h.amountMicros,
          maxMicros: level.capMicros,
          fraction: 0,
          leaseId: `${h.holdId}:${level.kind}`,
          now: h.now,
          expiresAt: h.expiresAt,
        });
        if (acquired === null) {
          await release(h.holdId);
          return level;
        }
      }
      return null;
    },

    /**
     * Marks the batch settled and, when this call is the one that did (of every process and replica), returns its
     * holds and books its cost on every charged level: true. False when it was settled already.
     */
    async settle(s: SettleInput): Promise<boolean> {
      let won = false;
      await store.rawTx(async (exec) => {
        const [row] = (await exec(
          `UPDATE batches SET settled_at = ${p(1)}, cost_micros = ${p(2)}
           WHERE provider = ${p(3)} AND batch_id = ${p(4)} AND settled_at IS NULL RETURNING reservation_id AS r`,
          [ts(s.now), s.costMicros, s.provider, s.batchId],
        )) as { r: string | null }[];
        if (!row) return;
        won = true;
        if (row.r) await dropHolds(exec, row.r);
        if (s.costMicros > 0)
          for (const level of s.charge) {
            const { table, id } = subjectTable(level.kind);
            await exec(`UPDATE ${table} SET spend_micros = spend_micros + ${p(1)} WHERE ${id} = ${p(2)}`, [
              s.costMicros,
              level.id,
            ]);
          }
      });
      return won;
    },

    /** Gives a batch's holds back at once (the batch was never created upstream). */
    release,
  };
}

export type BatchHolds = ReturnType<typeof createBatchHolds>;
