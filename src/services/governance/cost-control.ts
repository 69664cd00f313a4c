/**
 * Cost control at every level (docs/behaviour/cost-control.md): the one object an inference request's admission
 * and settlement call, whatever the route. `resolve` finds the request's levels (key -> user -> team, and the end
 * user when an end-user budget applies) from cached rows; `limit` takes every RPM/TPM/concurrency limit on them
 * and every matching rate-limit rule, all or none; `reserve` takes the estimate on every capped budget, all or
 * none; `settle` charges the exact cost on every level once. Levels a request does not have cost it nothing; the
 * ones it has are served from memory (cached rows, budget leases, concurrency slots) almost always.
 */
import type { Config } from "../../config/load";
import { forbidden } from "../../core/errors";
import type { RateLimitRuleInput } from "../../core/schemas/rate-limits";
import type { Store } from "../../db/client";
import type { ChangeTopic } from "../deps";
import { type AlertOutcome, createSpendAlerts, type SpendAlerts } from "./alerts";
import { type BudgetLedger, createBudgetLedger, type Reservation, type SpendStamp } from "./budget-ledger";
import { type BudgetInfo, createGovernanceDirectory, type GovernanceDirectory, type TeamInfo } from "./directory";
import { createRateLimiter, type LimitHold, type RateLimiter, type RateScope } from "./rate-limiter";
import { matchRules, type RateRule } from "./rate-rules";
import { type BudgetSubject, endUserSubjectId, type SubjectRef } from "./subjects";

/** What a key contributes to a request's path (an api_keys row has all of it). */
export interface PathKey {
  id: string;
  budgetId: string | null;
  nextBudgetResetAt: Date | null;
  maxConcurrent: number | null;
  endUserBudgetId: string | null;
  rpmLimit: number | null;
  tpmLimit: number | null;
  allowedModels: string[] | null;
}

/** What the billed user contributes (from the user directory's cached row). */
export interface PathUser {
  userId: string;
  budgetId: string | null;
  nextResetAt: Date | null;
  teamId: string | null;
  maxConcurrent: number | null;
  endUserBudgetId: string | null;
  rpmLimit: number | null;
  tpmLimit: number | null;
  allowedModels: string[] | null;
}

export interface PathInput {
  /** The caller's key; null with the master key. */
  key: PathKey | null;
  user: PathUser;
  /** The client's end-user id (`user` with a virtual key); null when none was sent. */
  endUserId: string | null;
}

/** A request's levels, resolved once at admission. */
export interface GovernedPath {
  readonly keyId: string | null;
  readonly userId: string;
  /** Stamp it on the usage row (usage_logs.team_id): crash recovery charges the team named there. */
  readonly teamId: string | null;
  readonly endUserId: string | null;
  /** Allow-lists on the path (key, user, team; null = all): a model must be allowed by each of them. */
  readonly allowLists: readonly (readonly string[] | null)[];
  /** The budget levels, in path order. */
  readonly budgets: readonly BudgetSubject[];
  /** Some level has a budget cap that is enforced (`budget_strategy` not `disabled`). */
  readonly capped: boolean;
  /** The levels' own RPM/TPM/concurrency limits (rate-limit rules are added per model by `limit`). */
  readonly limits: readonly RateScope[];
}

export interface CostControlHooks {
  budgetExceeded?(): void;
  rateLimited?(): void;
  reservationsReleased?(n: number): void;
  /** A level's budget window was reset (bump the change feed so cached rows reload). */
  subjectReset?(subject: SubjectRef): void;
  alert?(outcome: AlertOutcome): void;
}

export interface CostControlOptions {
  store: Store;
  /** `budget_strategy`. */
  strategy: "for_update" | "cas" | "disabled";
  reservationTtlSeconds: number;
  /** The usage journal's id (crash recovery of spend); null without a journal. */
  journalId: string | null;
  /** `rate_limit_rpm` / `rate_limit_tpm`: a user's limits when it has none of its own. */
  defaultRpm: number | null;
  defaultTpm: number | null;
  /** config.yml's `rate_limits`. */
  rateLimits: readonly RateLimitRuleInput[];
  hooks?: CostControlHooks;
  /** The alert sender's timings (config.yml's `alert_delivery`; tests shorten them). */
  alerts?: Partial<Parameters<typeof createSpendAlerts>[0]>;
}

/** The options the gateway's config gives (the runtime adds its store, journal and metric hooks). */
export function costControlOptions(
  config: Config,
  store: Store,
  journalId: string | null,
  hooks: CostControlHooks = {},
): CostControlOptions {
  return {
    store,
    strategy: config.budget_strategy,
    reservationTtlSeconds: config.reservation_ttl_seconds,
    journalId,
    defaultRpm: config.rate_limit_rpm ?? null,
    defaultTpm: config.rate_limit_tpm ?? null,
    rateLimits: config.rate_limits,
    hooks,
    alerts: {
      pollMs: config.alert_delivery.poll_interval_ms,
      sendTimeoutMs: config.alert_delivery.send_timeout_ms,
      claimMs: 3 * config.alert_delivery.send_timeout_ms,
    },
  };
}

const NO_LIMITS: LimitHold = { headers: {}, release: () => undefined };

const teamBlocked = (teamId: string) => forbidden(`Team '${teamId}' is blocked`, "team_blocked");

export function createCostControl(o: CostControlOptions) {
  const hooks = o.hooks ?? {};
  const directory: GovernanceDirectory = createGovernanceDirectory(o.store, o.rateLimits);
  const alerts: SpendAlerts = createSpendAlerts({ store: o.store, onOutcome: hooks.alert, ...o.alerts });
  const ledger: BudgetLedger = createBudgetLedger({
    store: o.store,
    journalId: o.journalId,
    reservationTtlSeconds: o.reservationTtlSeconds,
    strategy: o.strategy,
    metrics: {
      budgetExceeded: hooks.budgetExceeded,
      reservationsReleased: hooks.reservationsReleased,
      subjectReset: hooks.subjectReset,
      refused: alerts.refused,
      flushed: alerts.observe,
    },
  });
  const limiter: RateLimiter = createRateLimiter({
    store: o.store.dialect === "pg" ? o.store : null,
    metrics: { rateLimitHit: hooks.rateLimited },
  });

  /** A level's limits as a rate scope, or nothing when it has none. */
  function scope(
    out: RateScope[],
    level: "key" | "user" | "team",
    subject: string,
    rpm: number | null,
    tpm: number | null,
    maxConcurrent: number | null,
  ) {
    if (rpm || tpm || maxConcurrent) out.push({ scope: level, subject, rpm, tpm, maxConcurrent });
  }

  function build(input: PathInput, team: TeamInfo | null, caps: (number | null)[], endUserDuration: number | null) {
    const { key, user, endUserId } = input;
    const budgets: BudgetSubject[] = [];
    const limits: RateScope[] = [];
    if (key) {
      budgets.push({
        kind: "key",
        id: key.id,
        label: key.id,
        maxMicros: caps[0] ?? null,
        nextResetAt: key.nextBudgetResetAt,
      });
      scope(limits, "key", key.id, key.rpmLimit, key.tpmLimit, key.maxConcurrent);
    }
    budgets.push({
      kind: "user",
      id: user.userId,
      label: user.userId,
      maxMicros: caps[1] ?? null,
      nextResetAt: user.nextResetAt,
    });
    scope(
      limits,
      "user",
      user.userId,
      user.rpmLimit ?? o.defaultRpm,
      user.tpmLimit ?? o.defaultTpm,
      user.maxConcurrent,
    );
    if (team) {
      budgets.push({
        kind: "team",
        id: team.teamId,
        label: team.teamId,
        maxMicros: caps[2] ?? null,
        nextResetAt: team.nextResetAt,
      });
      scope(limits, "team", team.teamId, team.rpmLimit, team.tpmLimit, team.maxConcurrent);
    }
    const endUserBudget = key?.endUserBudgetId ?? user.endUserBudgetId;
    if (endUserId && endUserBudget) {
      budgets.push({
        kind: "end_user",
        id: endUserSubjectId(user.userId, endUserId),
        label: endUserId,
        maxMicros: caps[3] ?? null,
        endUser: { userId: user.userId, endUserId, budgetId: endUserBudget, durationSec: endUserDuration },
      });
    }
    const path: GovernedPath = {
      keyId: key?.id ?? null,
      userId: user.userId,
      teamId: team?.teamId ?? null,
      endUserId,
      allowLists: [key?.allowedModels ?? null, user.allowedModels, team?.allowedModels ?? null],
      budgets,
      capped: o.strategy !== "disabled" && budgets.some((b) => b.maxMicros !== null),
      limits,
    };
    return path;
  }

  /** The path's own limits and every rule matching `provider:model`, all or none. */
  function limitWith(
    rules: readonly RateRule[],
    path: GovernedPath,
    provider: string,
    model: string,
  ): LimitHold | Promise<LimitHold> {
    const matched = rules.length
      ? matchRules(rules, { keyId: path.keyId, userId: path.userId, teamId: path.teamId, provider, model })
      : null;
    const scopes = matched?.length ? [...path.limits, ...matched] : path.limits;
    if (scopes.length === 0) return NO_LIMITS;
    return limiter.admit(scopes);
  }

  /** The budgets of the key, user, team and end-user levels (null = none), read from the cache. */
  function budgetsOf(ids: (string | null)[]): (BudgetInfo | null)[] | Promise<(BudgetInfo | null)[]> {
    const out = ids.map((id) => (id ? directory.budget(id) : null));
    return out.some((b) => b instanceof Promise) ? Promise.all(out) : (out as (BudgetInfo | null)[]);
  }

  function finish(input: PathInput, team: TeamInfo | null): GovernedPath | Promise<GovernedPath> {
    if (team?.blocked) throw teamBlocked(team.teamId);
    const { key, user, endUserId } = input;
    const endUserBudget = endUserId ? (key?.endUserBudgetId ?? user.endUserBudgetId) : null;
    const found = budgetsOf([key?.budgetId ?? null, user.budgetId, team?.budgetId ?? null, endUserBudget]);
    const done = (b: (BudgetInfo | null)[]) =>
      build(
        input,
        team,
        b.map((x) => x?.maxMicros ?? null),
        b[3]?.durationSec ?? null,
      );
    return found instanceof Promise ? found.then(done) : done(found);
  }

  return {
    ledger,
    limiter,
    alerts,
    /**
     * The request's levels, from cached rows (a value, not a promise, when every row is cached). Throws 403
     * `team_blocked` when the user's team is blocked. A team deleted meanwhile counts as none.
     */
    resolve(input: PathInput): GovernedPath | Promise<GovernedPath> {
      const team = input.user.teamId ? directory.team(input.user.teamId) : null;
      return team instanceof Promise ? team.then((row) => finish(input, row)) : finish(input, team);
    },

    /**
     * Takes every limit on the path and every rate-limit rule matching `provider:model`, all or none; throws the
     * 429 naming the limit. Release the hold once the response's last byte is out, with its total tokens.
     */
    limit(path: GovernedPath, provider: string, model: string): LimitHold | Promise<LimitHold> {
      const rules = directory.rules();
      return rules instanceof Promise
        ? rules.then((list) => limitWith(list, path, provider, model))
        : limitWith(rules, path, provider, model);
    },

    /** Reserves the estimate on every capped budget of the path, or throws 403 `budget_exceeded` naming the level. */
    reserve(path: GovernedPath, estimateMicros: number, free: boolean): Promise<Reservation> {
      return ledger.reservePath(path.budgets, estimateMicros, free);
    },

    /** Charges the exact cost on every level, once; journal the stamp with the usage row (usage.enqueue). */
    settle(reservation: Reservation, costMicros: number): SpendStamp | null {
      return ledger.settlePath(reservation, costMicros);
    },

    /** No charge (the call failed before any token). */
    release(reservation: Reservation): void {
      ledger.release(reservation);
    },

    /** X-Gateway-Budget-Remaining-USD: µ$ left on the tightest capped level; null without a cap. */
    remaining(reservation: Reservation): Promise<number | null> {
      return ledger.remaining(reservation);
    },

    /** A team's allow-list (null = every model, or no such team), from the cache (model listings narrow by it). */
    async teamModels(teamId: string): Promise<readonly string[] | null> {
      return (await directory.team(teamId))?.allowedModels ?? null;
    },

    /** A committed management change (here or through the change feed). */
    changed(topic: ChangeTopic): void {
      if (topic === "budgets") directory.invalidate("budgets");
      if (topic === "teams") directory.invalidate("teams");
      if (topic === "rate_limits") directory.invalidate("rules");
      if (topic === "alerts") alerts.invalidate();
      if (topic === "budgets" || topic === "users" || topic === "keys" || topic === "teams") ledger.invalidate();
    },

    /** Call at start, before the usage journal is replayed. */
    async start(): Promise<void> {
      await ledger.resume();
      await directory.loadRules();
      await alerts.start();
    },

    /** Periodic: stale reservations and leases of dead processes, due window resets, old rate windows. */
    async sweep(): Promise<void> {
      await ledger.sweep();
      await limiter.sweep();
    },

    async close(): Promise<void> {
      // The ledger's last write-back may cross a threshold: the alerts record it before they close.
      await ledger.close();
      await alerts.close();
      await limiter.close();
    },
  };
}

export type CostControl = ReturnType<typeof createCostControl>;
