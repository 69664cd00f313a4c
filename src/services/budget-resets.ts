/**
 * Applies a due budget-period reset to one user (SPEC §7.3 items 5-6): a compare-and-swap on the old
 * next_budget_reset_at, so two processes never both reset, plus one budget_reset_logs row, in one transaction.
 */
import { and, eq } from "drizzle-orm";
import type { Store } from "../db/client";
import { dueReset } from "./budget-period";

export type UserRow = Store["t"]["users"]["$inferSelect"];

/** Returns the user as it is after any due reset (the same row when none was due or another process won). */
export async function applyDueReset(store: Store, user: UserRow, now: Date): Promise<UserRow> {
  if (!user.budgetId || !user.nextBudgetResetAt || user.nextBudgetResetAt.getTime() > now.getTime()) return user;
  const { db, t } = store;
  const [budget] = await db.select().from(t.budgets).where(eq(t.budgets.budgetId, user.budgetId));
  const due = dueReset(user.nextBudgetResetAt, budget?.budgetDurationSec ?? null, now);
  if (!budget || !due) return user;
  const oldNext = user.nextBudgetResetAt;
  return store.tx(async (tx) => {
    const [updated] = await tx
      .update(t.users)
      .set({ spendMicros: 0, budgetStartedAt: due.startedAt, nextBudgetResetAt: due.nextResetAt, updatedAt: now })
      .where(and(eq(t.users.userId, user.userId), eq(t.users.nextBudgetResetAt, oldNext)))
      .returning();
    if (!updated) {
      const [fresh] = await tx.select().from(t.users).where(eq(t.users.userId, user.userId));
      return fresh ?? user;
    }
    await tx.insert(t.budgetResetLogs).values({
      userId: user.userId,
      budgetId: budget.budgetId,
      previousSpendMicros: user.spendMicros,
      resetAt: now,
      nextResetAt: due.nextResetAt,
    });
    return updated;
  });
}
