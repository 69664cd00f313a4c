/** Users: CRUD, soft delete, revival and per-user usage (docs/api.md#users). */
import { and, desc, eq, isNull } from "drizzle-orm";
import { conflict, notFound } from "../core/errors";
import { microsToUsd } from "../core/money";
import type { Pagination } from "../core/schemas/common";
import type { UsageEntry, UserUsageQuery } from "../core/schemas/usage";
import type { CreateUserInput, UpdateUserInput, UserResponse } from "../core/schemas/users";
import { toIso, toIsoOrNull } from "../core/time";
import type { ServiceDeps } from "./deps";
import { assignBudget, budgetRef, createResetOnRead, teamRef } from "./spend-windows";
import { toUsageEntry } from "./usage";

export function toUserResponse(row: UserRow): UserResponse {
  return {
    user_id: row.userId,
    alias: row.alias,
    spend: microsToUsd(row.spendMicros),
    reserved: microsToUsd(row.reservedMicros),
    budget_id: row.budgetId,
    budget_started_at: toIsoOrNull(row.budgetStartedAt),
    next_budget_reset_at: toIsoOrNull(row.nextBudgetResetAt),
    blocked: row.blocked,
    created_at: toIso(row.createdAt),
    updated_at: toIso(row.updatedAt),
    metadata: row.metadata,
    rpm_limit: row.rpmLimit,
    tpm_limit: row.tpmLimit,
    allowed_models: row.allowedModels,
    team_id: row.teamId,
    max_concurrent: row.maxConcurrent,
    end_user_budget_id: row.endUserBudgetId,
  };
}

export type UserRow = ServiceDeps["store"]["t"]["users"]["$inferSelect"];

const userNotFound = (id: string) => notFound(`User with id '${id}' not found`, "user_not_found");

export function createUsersService({ store, now, changed, flushSpend }: ServiceDeps) {
  const { db, t } = store;
  const resetOnRead = createResetOnRead(store);

  /**
   * Reads show a due period reset as applied (docs/behaviour/storage.md#budget-periods): the same CAS the budget ledger
   * uses.
   */
  async function applyDueReset(row: UserRow, at: Date): Promise<UserRow> {
    if (!(await resetOnRead("user", row.userId, row, at))) return row;
    const [fresh] = await db.select().from(t.users).where(eq(t.users.userId, row.userId));
    changed("users");
    return fresh ?? row;
  }

  /** A live (not soft-deleted) user, with any due reset applied. */
  async function liveRow(userId: string): Promise<UserRow> {
    await flushSpend();
    const [row] = await db
      .select()
      .from(t.users)
      .where(and(eq(t.users.userId, userId), isNull(t.users.deletedAt)));
    if (!row) throw userNotFound(userId);
    return applyDueReset(row, now());
  }

  return {
    /** Creates a user, or revives a soft-deleted one with the request's fields and zero spend; 409 if live. */
    async create(input: CreateUserInput): Promise<UserResponse> {
      const at = now();
      const window = await assignBudget(db, t, input.budget_id ?? "", at);
      const fields = {
        alias: input.alias ?? null,
        ...window,
        teamId: await teamRef(db, t, input.team_id ?? ""),
        maxConcurrent: input.max_concurrent || null,
        endUserBudgetId: await budgetRef(db, t, input.end_user_budget_id ?? ""),
        blocked: input.blocked,
        metadata: input.metadata,
        rpmLimit: input.rpm_limit ?? null,
        tpmLimit: input.tpm_limit ?? null,
        allowedModels: input.allowed_models ?? null,
        spendMicros: 0,
        reservedMicros: 0,
        deletedAt: null,
        updatedAt: at,
      };
      const row = await store.tx(async (tx) => {
        const [existing] = await tx.select().from(t.users).where(eq(t.users.userId, input.user_id));
        if (existing && !existing.deletedAt) throw conflict(`User with id '${input.user_id}' already exists`);
        if (existing) {
          await tx
            .delete(t.budgetReservations)
            .where(
              and(eq(t.budgetReservations.subjectKind, "user"), eq(t.budgetReservations.subjectId, input.user_id)),
            );
          const [revived] = await tx.update(t.users).set(fields).where(eq(t.users.userId, input.user_id)).returning();
          return revived!;
        }
        const [created] = await tx
          .insert(t.users)
          .values({ userId: input.user_id, createdAt: at, ...fields })
          .returning();
        return created!;
      });
      changed("users");
      return toUserResponse(row);
    },

    async list({ skip, limit }: Pagination): Promise<UserResponse[]> {
      await flushSpend();
      const rows = await db
        .select()
        .from(t.users)
        .where(isNull(t.users.deletedAt))
        .orderBy(t.users.createdAt, t.users.userId)
        .limit(limit)
        .offset(skip);
      const at = now();
      const fresh = await Promise.all(rows.map((r) => applyDueReset(r, at)));
      return fresh.map(toUserResponse);
    },

    async get(userId: string): Promise<UserResponse> {
      return toUserResponse(await liveRow(userId));
    },

    /**
     * Absent or null fields are unchanged; assigning a budget (even the same one) restarts its window; "" removes a
     * budget, team or end-user budget, and max_concurrent 0 the limit.
     */
    async update(userId: string, input: UpdateUserInput): Promise<UserResponse> {
      await liveRow(userId);
      const at = now();
      const patch: Partial<UserRow> = { updatedAt: at };
      if (input.alias != null) patch.alias = input.alias;
      if (input.blocked != null) patch.blocked = input.blocked;
      if (input.metadata != null) patch.metadata = input.metadata;
      if (input.rpm_limit != null) patch.rpmLimit = input.rpm_limit;
      if (input.tpm_limit != null) patch.tpmLimit = input.tpm_limit;
      if (input.allowed_models != null) patch.allowedModels = input.allowed_models;
      if (input.max_concurrent != null) patch.maxConcurrent = input.max_concurrent || null;
      if (input.budget_id != null) Object.assign(patch, await assignBudget(db, t, input.budget_id, at));
      if (input.team_id != null) patch.teamId = await teamRef(db, t, input.team_id);
      if (input.end_user_budget_id != null) patch.endUserBudgetId = await budgetRef(db, t, input.end_user_budget_id);
      const [row] = await db.update(t.users).set(patch).where(eq(t.users.userId, userId)).returning();
      changed("users");
      return toUserResponse(row!);
    },

    /** Soft delete: the user row, its keys and its usage stay; every key is deactivated. */
    async remove(userId: string): Promise<void> {
      await liveRow(userId);
      const at = now();
      await store.tx(async (tx) => {
        await tx.update(t.users).set({ deletedAt: at, updatedAt: at }).where(eq(t.users.userId, userId));
        await tx.update(t.apiKeys).set({ isActive: false }).where(eq(t.apiKeys.userId, userId));
      });
      changed("users");
      changed("keys");
    },

    /** Newest first; works for soft-deleted users, 404 only when the user never existed. */
    async usage(userId: string, { skip, limit, end_user_id }: UserUsageQuery): Promise<UsageEntry[]> {
      const [row] = await db.select({ id: t.users.userId }).from(t.users).where(eq(t.users.userId, userId));
      if (!row) throw userNotFound(userId);
      const byUser = eq(t.usageLogs.userId, userId);
      const rows = await db
        .select()
        .from(t.usageLogs)
        .where(end_user_id ? and(byUser, eq(t.usageLogs.endUserId, end_user_id)) : byUser)
        .orderBy(desc(t.usageLogs.timestamp), desc(t.usageLogs.id))
        .limit(limit)
        .offset(skip);
      return rows.map(toUsageEntry);
    },
  };
}

export type UsersService = ReturnType<typeof createUsersService>;
