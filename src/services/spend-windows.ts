/**
 * Budget windows of keys, users, teams and end users as the management services see them: assigning a budget
 * starts a window (docs/behaviour/storage.md#budget-periods), and reads show a due reset as applied (the same
 * compare-and-swap the budget ledger uses, so a reset is applied once whoever gets there first).
 */
import { eq } from "drizzle-orm";
import { notFound } from "../core/errors";
import type { Db, Store } from "../db/client";
import { windowOnAssign } from "./budget-period";
import { budgetNotFound } from "./budgets";
import { ledgerSql } from "./governance/budget-ledger-sql";
import type { SubjectKind } from "./governance/subjects";

/** The budget columns a level's row gets when `budgetId` is assigned ("" removes the budget). */
export interface BudgetAssignment {
  budgetId: string | null;
  budgetStartedAt: Date | null;
  nextBudgetResetAt: Date | null;
}

/** 404 when the budget does not exist; otherwise the window it starts at `at`. */
export async function assignBudget(db: Db, t: Store["t"], budgetId: string, at: Date): Promise<BudgetAssignment> {
  if (budgetId === "") return { budgetId: null, budgetStartedAt: null, nextBudgetResetAt: null };
  const [budget] = await db.select().from(t.budgets).where(eq(t.budgets.budgetId, budgetId));
  if (!budget) throw budgetNotFound(budgetId);
  const window = windowOnAssign(budget.budgetDurationSec, at);
  return { budgetId, budgetStartedAt: window.startedAt, nextBudgetResetAt: window.nextResetAt };
}

/** 404 unless the budget exists ("" = none, for fields that only name a budget). */
export async function budgetRef(db: Db, t: Store["t"], budgetId: string): Promise<string | null> {
  if (budgetId === "") return null;
  const [budget] = await db.select({ id: t.budgets.budgetId }).from(t.budgets).where(eq(t.budgets.budgetId, budgetId));
  if (!budget) throw budgetNotFound(budgetId);
  return budgetId;
}

export const teamNotFound = (id: string) => notFound(`Team with id '${id}' not found`, "team_not_found");

/** 404 unless the team exists ("" = no team). */
export async function teamRef(db: Db, t: Store["t"], teamId: string): Promise<string | null> {
  if (teamId === "") return null;
  const [team] = await db.select({ id: t.teams.teamId }).from(t.teams).where(eq(t.teams.teamId, teamId));
  if (!team) throw teamNotFound(teamId);
  return teamId;
}

interface WindowedRow {
  budgetId: string | null;
  nextBudgetResetAt: Date | null;
}

/**
 * Applies a due reset of a level's window before it is shown; true when this call applied it (the caller reloads
 * the row). Costs nothing unless the window's end has passed.
 */
export function createResetOnRead(store: Store) {
  const resets = ledgerSql(store);
  return async (kind: SubjectKind, id: string, row: WindowedRow, at: Date): Promise<boolean> => {
    if (!row.budgetId || !row.nextBudgetResetAt || row.nextBudgetResetAt.getTime() > at.getTime()) return false;
    return (await resets.resetIfDue({ kind, id }, at)).reset;
  };
}
