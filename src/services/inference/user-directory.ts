/**
 * Users for the hot path: one read per user at most once per `ttlMs`, dropped at once on a local change, so a user
 * blocked, re-budgeted or moved to another team elsewhere (CLI, replica) is seen within `ttlMs`. Budget caps and
 * teams are the cost-control directory's (governance/directory.ts).
 */
import { eq } from "drizzle-orm";
import type { Store } from "../../db/client";
import type { PathUser } from "../governance";

/** What a request's path needs of its billed user (cost control), and whether it may call at all. */
export interface DirectoryUser extends PathUser {
  deleted: boolean;
  blocked: boolean;
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
    const [row] = await db.select().from(t.users).where(eq(t.users.userId, userId));
    const user: DirectoryUser | null = row
      ? {
          userId: row.userId,
          deleted: row.deletedAt !== null,
          blocked: row.blocked,
          budgetId: row.budgetId,
          nextResetAt: row.nextBudgetResetAt,
          teamId: row.teamId,
          maxConcurrent: row.maxConcurrent,
          endUserBudgetId: row.endUserBudgetId,
          rpmLimit: row.rpmLimit,
          tpmLimit: row.tpmLimit,
          allowedModels: row.allowedModels,
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
