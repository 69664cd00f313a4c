/**
 * End users (docs/behaviour/cost-control.md#end-users): the client's own end-user ids of a billed user, with
 * their spend window on the end-user budget that applied when each was first seen.
 */
import { and, desc, eq, exists, type SQL } from "drizzle-orm";
import { notFound } from "../core/errors";
import { microsToUsd } from "../core/money";
import type { EndUserResponse, EndUsersQuery } from "../core/schemas/end-users";
import { toIso, toIsoOrNull } from "../core/time";
import type { ServiceDeps } from "./deps";
import { keyNotFound } from "./keys";
import { createResetOnRead } from "./spend-windows";

type EndUserRow = ServiceDeps["store"]["t"]["endUsers"]["$inferSelect"];

function toEndUserResponse(row: EndUserRow): EndUserResponse {
  return {
    user_id: row.userId,
    end_user_id: row.endUserId,
    budget_id: row.budgetId,
    spend: microsToUsd(row.spendMicros),
    reserved: microsToUsd(row.reservedMicros),
    budget_started_at: toIsoOrNull(row.budgetStartedAt),
    next_budget_reset_at: toIsoOrNull(row.nextBudgetResetAt),
    created_at: toIso(row.createdAt),
  };
}

export function createEndUsersService({ store, now, flushSpend }: ServiceDeps) {
  const { db, t } = store;
  const resetOnRead = createResetOnRead(store);

  return {
    /** Newest first; `key_id` keeps the end users that made requests through that key (404 for unknown ids). */
    async list({ skip, limit, user_id, key_id }: EndUsersQuery): Promise<EndUserResponse[]> {
      const where: SQL[] = [];
      if (user_id !== undefined) {
        const [user] = await db.select({ id: t.users.userId }).from(t.users).where(eq(t.users.userId, user_id));
        if (!user) throw notFound(`User with id '${user_id}' not found`, "user_not_found");
        where.push(eq(t.endUsers.userId, user_id));
      }
      if (key_id !== undefined) {
        const [key] = await db.select({ userId: t.apiKeys.userId }).from(t.apiKeys).where(eq(t.apiKeys.id, key_id));
        if (!key) throw keyNotFound(key_id);
        where.push(
          exists(
            db
              .select({ one: t.usageLogs.id })
              .from(t.usageLogs)
              .where(
                and(
                  eq(t.usageLogs.endUserId, t.endUsers.endUserId),
                  eq(t.usageLogs.userId, t.endUsers.userId),
                  eq(t.usageLogs.apiKeyId, key_id),
                ),
              ),
          ),
        );
      }
      await flushSpend();
      const rows = await db
        .select()
        .from(t.endUsers)
        .where(where.length ? and(...where) : undefined)
        .orderBy(desc(t.endUsers.createdAt), t.endUsers.id)
        .limit(limit)
        .offset(skip);
      const at = now();
      const shown = await Promise.all(
        rows.map(async (row) => {
          if (!(await resetOnRead("end_user", row.id, row, at))) return row;
          const [fresh] = await db.select().from(t.endUsers).where(eq(t.endUsers.id, row.id));
          return fresh ?? row;
        }),
      );
      return shown.map(toEndUserResponse);
    },
  };
}

export type EndUsersService = ReturnType<typeof createEndUsersService>;
