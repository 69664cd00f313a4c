/** Budgets: CRUD and reset logs (docs/api.md#budgets). */
import { count, desc, eq, or } from "drizzle-orm";
import { conflict, notFound } from "../core/errors";
import { microsToUsd, usdToMicros } from "../core/money";
import type { Pagination } from "../core/schemas/common";
import type { BudgetResetLog, BudgetResponse, CreateBudgetInput, UpdateBudgetInput } from "../core/schemas/budgets";
import { toIso, toIsoOrNull } from "../core/time";
import { uuid } from "../runtime/crypto";
import type { ServiceDeps } from "./deps";

type BudgetRow = ServiceDeps["store"]["t"]["budgets"]["$inferSelect"];

export function toBudgetResponse(row: BudgetRow): BudgetResponse {
  return {
    budget_id: row.budgetId,
    max_budget: row.maxBudgetMicros === null ? null : microsToUsd(row.maxBudgetMicros),
    budget_duration_sec: row.budgetDurationSec,
    created_at: toIso(row.createdAt),
    updated_at: toIso(row.updatedAt),
  };
}

export const budgetNotFound = (id: string) => notFound(`Budget with id '${id}' not found`);

export function createBudgetsService({ store, now, changed }: ServiceDeps) {
  const { db, t } = store;

  async function getRow(budgetId: string): Promise<BudgetRow> {
    const [row] = await db.select().from(t.budgets).where(eq(t.budgets.budgetId, budgetId));
    if (!row) throw budgetNotFound(budgetId);
    return row;
  }

  return {
    async create(input: CreateBudgetInput): Promise<BudgetResponse> {
      const at = now();
      const [row] = await db
        .insert(t.budgets)
        .values({
          budgetId: uuid(),
          maxBudgetMicros: input.max_budget == null ? null : usdToMicros(input.max_budget),
          budgetDurationSec: input.budget_duration_sec ?? null,
          createdAt: at,
          updatedAt: at,
        })
        .returning();
      return toBudgetResponse(row!);
    },

    async list({ skip, limit }: Pagination): Promise<BudgetResponse[]> {
      const rows = await db
        .select()
        .from(t.budgets)
        .orderBy(t.budgets.createdAt, t.budgets.budgetId)
        .limit(limit)
        .offset(skip);
      return rows.map(toBudgetResponse);
    },

    async get(budgetId: string): Promise<BudgetResponse> {
      return toBudgetResponse(await getRow(budgetId));
    },

    /** Absent or null fields are left unchanged (baseline PATCH semantics). */
    async update(budgetId: string, input: UpdateBudgetInput): Promise<BudgetResponse> {
      await getRow(budgetId);
      const patch: Partial<BudgetRow> = { updatedAt: now() };
      if (input.max_budget != null) patch.maxBudgetMicros = usdToMicros(input.max_budget);
      if (input.budget_duration_sec != null) patch.budgetDurationSec = input.budget_duration_sec;
      const [row] = await db.update(t.budgets).set(patch).where(eq(t.budgets.budgetId, budgetId)).returning();
      changed("budgets");
      return toBudgetResponse(row!);
    },

    /**
     * Refuses with 409 while a user, key or team holds it, as its budget or its end users' (the baseline leaked a
     * constraint 500). End users' windows on it are dropped with it (their rows keep their spend).
     */
    async remove(budgetId: string): Promise<void> {
      await getRow(budgetId);
      const holders = await Promise.all([
        db
          .select({ n: count() })
          .from(t.users)
          .where(or(eq(t.users.budgetId, budgetId), eq(t.users.endUserBudgetId, budgetId))),
        db
          .select({ n: count() })
          .from(t.apiKeys)
          .where(or(eq(t.apiKeys.budgetId, budgetId), eq(t.apiKeys.endUserBudgetId, budgetId))),
        db.select({ n: count() }).from(t.teams).where(eq(t.teams.budgetId, budgetId)),
      ]);
      const parts = ["user(s)", "key(s)", "team(s)"].flatMap((what, i) => {
        const n = Number(holders[i]?.[0]?.n ?? 0);
        return n > 0 ? [`${n} ${what}`] : [];
      });
      if (parts.length) throw conflict(`Budget '${budgetId}' is assigned to ${parts.join(", ")}`);
      await db.delete(t.budgets).where(eq(t.budgets.budgetId, budgetId));
      changed("budgets");
    },

    async resetLogs(budgetId: string, { skip, limit }: Pagination): Promise<BudgetResetLog[]> {
      await getRow(budgetId);
      const rows = await db
        .select()
        .from(t.budgetResetLogs)
        .where(eq(t.budgetResetLogs.budgetId, budgetId))
        .orderBy(desc(t.budgetResetLogs.resetAt), desc(t.budgetResetLogs.id))
        .limit(limit)
        .offset(skip);
      return rows.map((r) => ({
        id: r.id,
        user_id: r.userId,
        budget_id: r.budgetId,
        previous_spend: microsToUsd(r.previousSpendMicros),
        reset_at: toIso(r.resetAt),
        next_reset_at: toIsoOrNull(r.nextResetAt),
        level: r.subjectKind as BudgetResetLog["level"],
        subject_id: r.subjectId,
      }));
    },
  };
}

export type BudgetsService = ReturnType<typeof createBudgetsService>;
