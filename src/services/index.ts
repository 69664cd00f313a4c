/** Builds the service layer once; HTTP routes, tRPC procedures and CLI commands all call these same objects. */
import type { RateLimitRuleInput } from "../core/schemas/rate-limits";
import type { Store } from "../db/client";
import { createAlertsService } from "./alerts";
import { createAnalyticsService } from "./analytics";
import { createAuthService } from "./auth";
import { createBudgetsService } from "./budgets";
import type { ChangeTopic, ServiceDeps } from "./deps";
import { createEndUsersService } from "./end-users";
import { createKeysService } from "./keys";
import type { MasterKey } from "./master-key";
import { createPricingService } from "./pricing";
import { createRateLimitsService } from "./rate-limits";
import { createTeamsService } from "./teams";
import { createSessionsService } from "./sessions";
import { createUsageService } from "./usage";
import { createUsersService } from "./users";

export interface ServicesOptions {
  store: Store;
  masterKey: MasterKey;
  isKnownProvider: (name: string) => boolean;
  now?: () => Date;
  /** Extra listeners for committed changes (e.g. the cross-process change feed). */
  onChange?: (topic: ChangeTopic) => void;
  onAuthFailure?: Parameters<typeof createAuthService>[0]["onFailure"];
  /** Writes spend settled in memory, so user reads are exact (the budget ledger batches its writes). */
  flushSpend?: () => Promise<void>;
  /** config.yml's `rate_limits` (shown read-only by the rate-limits service). */
  rateLimits?: readonly RateLimitRuleInput[];
  /** How long a console sign-in lasts (config `ui_session_ttl_seconds`). */
  sessionTtlSeconds?: number;
}

export function createServices(opts: ServicesOptions) {
  const now = opts.now ?? (() => new Date());
  const auth = createAuthService({ store: opts.store, masterKey: opts.masterKey, now, onFailure: opts.onAuthFailure });
  const changed = (topic: ChangeTopic) => {
    if (topic === "keys" || topic === "users") auth.invalidate();
    opts.onChange?.(topic);
  };
  const deps: ServiceDeps = {
    store: opts.store,
    now,
    changed,
    flushSpend: opts.flushSpend ?? (() => Promise.resolve()),
  };
  return {
    store: opts.store,
    now,
    auth,
    keys: createKeysService(deps),
    users: createUsersService(deps),
    budgets: createBudgetsService(deps),
    pricing: createPricingService({ ...deps, isKnownProvider: opts.isKnownProvider }),
    usage: createUsageService(deps),
    teams: createTeamsService(deps),
    endUsers: createEndUsersService(deps),
    rateLimits: createRateLimitsService({ ...deps, configured: opts.rateLimits ?? [] }),
    alerts: createAlertsService(deps),
    analytics: createAnalyticsService(deps),
    sessions: createSessionsService({
      ...deps,
      masterKey: opts.masterKey,
      ttlSeconds: opts.sessionTtlSeconds ?? 43_200,
    }),
  };
}

export type Services = ReturnType<typeof createServices>;
