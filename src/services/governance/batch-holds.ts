/**
 * Durable budget holds for batches (docs/api.md#batches): a batch's estimate is reserved on its user's row as a
 * budget_reservations row of its own, taken atomically against the cap (the ledger's acquire statement, with
 * no lease beyond the estimate) and kept until the batch's window is over, so it survives restarts and other
 * replicas see it. Settling removes the hold and adds the batch's cost to the user's spend in one transaction; a
 * hold nobody settled expires and the ledger's sweep gives it back.
 */
import type { Store } from "../../db/client";
import { ledgerSql } from "./budget-ledger-sql";

export interface HoldInput {
  holdId: string;
  userId: string;
  amountMicros: number;
  capMicros: number;
  now: Date;
  expiresAt: Date;
}

export interface SettleInput {
  provider: string;
  batchId: string;
  userId: string | null;
  costMicros: number;
  now: Date;
}

export function createBatchHolds(store: Store) {
  const sql = ledgerSql(store);
  const pg = store.dialect === "pg";
  const p = (i: number) => (pg ? `$${i}` : `?${i}`);
  const ts = (d: Date) => (pg ? d : d.getTime());

  return {
    /** Reserves `amountMicros` on the user's row; false when it does not fit under the cap. */
    async hold(h: HoldInput): Promise<boolean> {
      const acquired = await sql.acquire({
        kind: "user",
        id: h.userId,
        need: h.amountMicros,
        maxMicros: h.capMicros,
        fraction: 0,
        leaseId: h.holdId,
        now: h.now,
        expiresAt: h.expiresAt,
      });
      return acquired !== null;
    },

    /**
     * Marks the batch settled and, when this call is the one that did (of every process and replica), returns its
     * hold and books its cost: true. False when it was settled already.
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
        let held = 0;
        if (row.r) {
          const [hold] = (await exec(
            `DELETE FROM budget_reservations WHERE id = ${p(1)} RETURNING amount_micros AS a`,
            [row.r],
          )) as { a: unknown }[];
          held = Number(hold?.a ?? 0);
        }
        if (s.userId && (held > 0 || s.costMicros > 0))
          await exec(
            `UPDATE users SET reserved_micros = ${pg ? "GREATEST" : "MAX"}(reserved_micros - ${p(1)}, 0),
             spend_micros = spend_micros + ${p(2)} WHERE user_id = ${p(3)}`,
            [held, s.costMicros, s.userId],
          );
      });
      return won;
    },

    /** Gives a hold back at once (the batch was never created upstream). */
    async release(holdId: string, userId: string): Promise<void> {
      await store.rawTx(async (exec) => {
        const [hold] = (await exec(`DELETE FROM budget_reservations WHERE id = ${p(1)} RETURNING amount_micros AS a`, [
          holdId,
        ])) as { a: unknown }[];
        if (hold)
          await exec(
            `UPDATE users SET reserved_micros = ${pg ? "GREATEST" : "MAX"}(reserved_micros - ${p(1)}, 0) WHERE user_id = ${p(2)}`,
            [Number(hold.a), userId],
          );
      });
    },
  };
}

export type BatchHolds = ReturnType<typeof createBatchHolds>;
