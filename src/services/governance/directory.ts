/**
 * Budgets, teams and rate-limit rules for the hot path: each read at most once per `ttlMs` (and at once after a
 * local change), so a change made elsewhere (CLI, replica) applies within that time. A fresh entry is returned
 * as a value, not a promise; rules are refreshed in the background and never awaited by a request.
 */
import { eq } from "drizzle-orm";
import type { RateLimitRuleInput } from "../../core/schemas/rate-limits";
import type { Store } from "../../db/client";
import { logger } from "../../runtime/logger";
import { configRules, fromRuleRow, type RateRule } from "./rate-rules";

const log = logger("governance-directory");

export interface BudgetInfo {
  maxMicros: number | null;
  durationSec: number | null;
}

export interface TeamInfo {
  teamId: string;
  budgetId: string | null;
  nextResetAt: Date | null;
  blocked: boolean;
  rpmLimit: number | null;
  tpmLimit: number | null;
  maxConcurrent: number | null;
  allowedModels: string[] | null;
}

interface Entry<T> {
  value: T | null;
  at: number;
}

/** A per-id cache: the value while fresh, else one load shared by every caller meanwhile. */
function cached<T>(load: (id: string) => Promise<T | null>, ttlMs: number) {
  const entries = new Map<string, Entry<T>>();
  const inflight = new Map<string, Promise<T | null>>();
  return {
    get(id: string): T | null | Promise<T | null> {
      const hit = entries.get(id);
      if (hit && Date.now() - hit.at < ttlMs) return hit.value;
      let pending = inflight.get(id);
      if (!pending) {
        pending = load(id)
          .then((value) => {
            if (entries.size > 100_000) entries.clear();
            entries.set(id, { value, at: Date.now() });
            return value;
          })
          .finally(() => inflight.delete(id));
        inflight.set(id, pending);
      }
      return pending;
    },
    clear: () => entries.clear(),
  };
}

export function createGovernanceDirectory(store: Store, configured: readonly RateLimitRuleInput[], ttlMs = 1000) {
  const { db, t } = store;
  const fromConfig = configRules(configured);
  let rules: RateRule[] = fromConfig;
  let rulesAt = Number.NEGATIVE_INFINITY;
  let loadingRules: Promise<void> | null = null;

  const budgets = cached<BudgetInfo>(async (id) => {
    const [row] = await db.select().from(t.budgets).where(eq(t.budgets.budgetId, id));
    return row ? { maxMicros: row.maxBudgetMicros, durationSec: row.budgetDurationSec } : null;
  }, ttlMs);

  const teams = cached<TeamInfo>(async (id) => {
    const [row] = await db.select().from(t.teams).where(eq(t.teams.teamId, id));
    return row
      ? {
          teamId: row.teamId,
          budgetId: row.budgetId,
          nextResetAt: row.nextBudgetResetAt,
          blocked: row.blocked,
          rpmLimit: row.rpmLimit,
          tpmLimit: row.tpmLimit,
          maxConcurrent: row.maxConcurrent,
          allowedModels: row.allowedModels,
        }
      : null;
  }, ttlMs);

  function loadRules(): Promise<void> {
    loadingRules ??= db
      .select()
      .from(t.rateLimitRules)
      .orderBy(t.rateLimitRules.createdAt, t.rateLimitRules.id)
      .then((rows) => {
        rules = [...fromConfig, ...rows.map(fromRuleRow)];
        rulesAt = Date.now();
      })
      .catch((err: unknown) => log.warn("could not read rate-limit rules", { error: String(err) }))
      .finally(() => {
        loadingRules = null;
      });
    return loadingRules;
  }

  return {
    budget: budgets.get,
    team: teams.get,
    /**
     * The rules as last read (config.yml's first). A list past its ttl is refreshed in the background; after a
     * change was reported (`invalidate`), the next caller waits for the fresh list, so a change binds at once.
     */
    rules(): readonly RateRule[] | Promise<readonly RateRule[]> {
      if (rulesAt === Number.NEGATIVE_INFINITY) return loadRules().then(() => rules);
      if (Date.now() - rulesAt >= ttlMs) void loadRules();
      return rules;
    },
    loadRules,
    invalidate(what: "budgets" | "teams" | "rules") {
      if (what === "budgets") budgets.clear();
      else if (what === "teams") teams.clear();
      else rulesAt = Number.NEGATIVE_INFINITY;
    },
  };
}

export type GovernanceDirectory = ReturnType<typeof createGovernanceDirectory>;
