/**
 * Rate-limit rules (docs/behaviour/cost-control.md#rate-limit-rules): `{scope, scope_id, model, rpm, tpm,
 * max_concurrent}` from the API (table rate_limit_rules) and from config.yml's `rate_limits` (read-only, ids
 * `config-<n>`). Each rule keeps its own counters, one per subject it applies to: `global` one for everything,
 * `team`/`user`/`key` one per team/user/key (only scope_id's when set). `model` narrows the requests it counts.
 */
import type { RateLimitRuleInput } from "../../core/schemas/rate-limits";
import type { Store } from "../../db/client";
import type { LimitLevel, RateScope } from "./rate-limiter";

export interface RateRule {
  id: string;
  scope: LimitLevel;
  scopeId: string | null;
  /** `provider:model`, `provider:*`, or null = every model. */
  model: string | null;
  rpm: number | null;
  tpm: number | null;
  maxConcurrent: number | null;
  source: "api" | "config";
  createdAt: Date | null;
  updatedAt: Date | null;
}

type RuleRow = Store["t"]["rateLimitRules"]["$inferSelect"];

export const CONFIG_RULE_PREFIX = "config-";

export function fromRuleRow(row: RuleRow): RateRule {
  return {
    id: row.id,
    scope: row.scope as LimitLevel,
    scopeId: row.scopeId,
    model: row.model,
    rpm: row.rpmLimit,
    tpm: row.tpmLimit,
    maxConcurrent: row.maxConcurrent,
    source: "api",
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** config.yml's `rate_limits`, numbered from 1 in file order. */
export function configRules(list: readonly RateLimitRuleInput[]): RateRule[] {
  return list.map((r, i) => ({
    id: `${CONFIG_RULE_PREFIX}${i + 1}`,
    scope: r.scope,
    scopeId: r.scope_id ?? null,
    model: r.model ?? null,
    rpm: r.rpm ?? null,
    tpm: r.tpm ?? null,
    maxConcurrent: r.max_concurrent ?? null,
    source: "config",
    createdAt: null,
    updatedAt: null,
  }));
}

/** Who a request is, for matching rules. */
export interface RuleSubjects {
  keyId: string | null;
  userId: string;
  teamId: string | null;
  provider: string;
  model: string;
}

function modelMatches(rule: string | null, provider: string, model: string): boolean {
  if (rule === null) return true;
  const colon = rule.indexOf(":");
  if (rule.slice(0, colon) !== provider) return false;
  const name = rule.slice(colon + 1);
  return name === "*" || name === model;
}

/** The counters of every rule that applies to a request (none when no rule does: no allocation). */
export function matchRules(rules: readonly RateRule[], who: RuleSubjects): RateScope[] {
  let out: RateScope[] | null = null;
  for (const r of rules) {
    const subject =
      r.scope === "global" ? "*" : r.scope === "team" ? who.teamId : r.scope === "user" ? who.userId : who.keyId;
    if (subject === null) continue;
    if (r.scopeId !== null && r.scopeId !== subject) continue;
    if (!modelMatches(r.model, who.provider, who.model)) continue;
    out ??= [];
    out.push({
      scope: `rule:${r.id}`,
      subject,
      rpm: r.rpm,
      tpm: r.tpm,
      maxConcurrent: r.maxConcurrent,
      level: r.scope,
      rule: r.id,
    });
  }
  return out ?? NO_SCOPES;
}

const NO_SCOPES: RateScope[] = [];
