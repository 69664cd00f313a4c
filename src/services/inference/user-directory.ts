/**
 * Users and their budgets for the hot path: one joined read per user at most once per `ttlMs`, dropped at once on
 * a local change, so a user blocked or re-budgeted elsewhere (CLI, replica) is seen within `ttlMs`.
 */
import { eq } from "drizzle-orm";
import type { Store } from "../../db/client";

export interface DirectoryUser {
  userId: string;
  deleted: boolean;
  blocked: boolean;
  maxBudgetMicros: number | null;
  hasBudget: boolean;
  nextResetAt: Date | null;
  rpmLimit: number | null;
  tpmLimit: number | null;
  allowedModels: string[] | null;
}

interface Entry {
  user: DirectoryUser | null;
  at: number;
}

export function createUserDirectory(store: Store, ttlMs = 1000) {
  const { db, t } = store;
  const cache = new Map<string, Entry>();
  const inflight = new Map<string, Promise<DirectoryUser | null>>();

  async function load(userId: string): Promise<DirectoryUser | null> {
    const [row] = await db
      .select({ user: t.users, maxBudget: t.budgets.maxBudgetMicros, budgetId: t.budgets.budgetId })
      .from(t.users)
      .leftJoin(t.budgets, eq(t.users.budgetId, t.budgets.budgetId))
      .where(eq(t.users.userId, userId));
    const user: DirectoryUser | null = row
      ? {
          userId: row.user.userId,
          deleted: row.user.deletedAt !== null,
          blocked: row.user.blocked,
          hasBudget: row.budgetId !== null,
          maxBudgetMicros: row.budgetId !== null ? row.maxBudget : null,
          nextResetAt: row.user.nextBudgetResetAt,
          rpmLimit: row.user.rpmLimit,
          tpmLimit: row.user.tpmLimit,
          allowedModels: row.user.allowedModels,
        }
      : null;
    if (cache.size > 100_000) cache.clear();
    cache.set(userId, { user, at: Date.now() });
    return user;
  }

  return {
    async get(userId: string): Promise<DirectoryUser | null> {
      const hit = cache.get(userId);
      if (hit && Date.now() - hit.at < ttlMs) return hit.user;
      let pending = inflight.get(userId);
      if (!pending) {
        pending = load(userId).finally(() => inflight.delete(userId));
        inflight.set(userId, pending);
      }
      return pending;
    },
    invalidate(userId?: string) {
      if (userId) cache.delete(userId);
      else cache.clear();
    },
  };
}

export type UserDirectory = ReturnType<typeof createUserDirectory>;
