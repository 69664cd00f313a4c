/**
 * Rate-limit rules: CRUD for the API's rules, config.yml's shown read-only (docs/behaviour/cost-control.md).
 * A rule's scope and scope_id are fixed at creation (its counters are keyed by them); PATCH changes its limits and
 * model.
 */
import { and, eq, isNull } from "drizzle-orm";
import { conflict, notFound, validationError } from "../core/errors";
import type { RateLimitRuleInput, RateLimitRuleResponse, UpdateRateLimitInput } from "../core/schemas/rate-limits";
import { toIsoOrNull } from "../core/time";
import { uuid } from "../runtime/crypto";
import type { ServiceDeps } from "./deps";
import { CONFIG_RULE_PREFIX, configRules, fromRuleRow, type RateRule } from "./governance/rate-rules";
import { keyNotFound } from "./keys";
import { teamRef } from "./spend-windows";

export function toRateLimitResponse(r: RateRule): RateLimitRuleResponse {
  return {
    id: r.id,
    scope: r.scope,
    scope_id: r.scopeId,
    model: r.model,
    rpm: r.rpm,
    tpm: r.tpm,
    max_concurrent: r.maxConcurrent,
    source: r.source,
    created_at: toIsoOrNull(r.createdAt),
    updated_at: toIsoOrNull(r.updatedAt),
  };
}

const ruleNotFound = (id: string) => notFound(`Rate-limit rule '${id}' not found`, "rate_limit_not_found");

export function createRateLimitsService(deps: ServiceDeps & { configured: readonly RateLimitRuleInput[] }) {
  const { store, now, changed } = deps;
  const { db, t } = store;
  const fromConfig = configRules(deps.configured);

  /** 404 unless the rule's subject exists (a live user, a key, a team). */
  async function checkSubject(input: RateLimitRuleInput): Promise<void> {
    const id = input.scope_id;
    if (id == null || input.scope === "global") return;
    if (input.scope === "team") await teamRef(db, t, id);
    else if (input.scope === "key") {
      const [key] = await db.select({ id: t.apiKeys.id }).from(t.apiKeys).where(eq(t.apiKeys.id, id));
      if (!key) throw keyNotFound(id);
    } else {
      const [user] = await db
        .select({ id: t.users.userId })
        .from(t.users)
        .where(and(eq(t.users.userId, id), isNull(t.users.deletedAt)));
      if (!user) throw notFound(`User with id '${id}' not found`, "user_not_found");
    }
  }

  async function apiRow(id: string) {
    if (id.startsWith(CONFIG_RULE_PREFIX) && fromConfig.some((r) => r.id === id))
      throw conflict(`Rate-limit rule '${id}' comes from config.yml and is read-only here`, "read_only");
    const [row] = await db.select().from(t.rateLimitRules).where(eq(t.rateLimitRules.id, id));
    if (!row) throw ruleNotFound(id);
    return row;
  }

  return {
    async create(input: RateLimitRuleInput): Promise<RateLimitRuleResponse> {
      await checkSubject(input);
      const at = now();
      const [row] = await db
        .insert(t.rateLimitRules)
        .values({
          id: uuid(),
          scope: input.scope,
          scopeId: input.scope_id ?? null,
          model: input.model ?? null,
          rpmLimit: input.rpm ?? null,
          tpmLimit: input.tpm ?? null,
          maxConcurrent: input.max_concurrent ?? null,
          createdAt: at,
          updatedAt: at,
        })
        .returning();
      changed("rate_limits");
      return toRateLimitResponse(fromRuleRow(row!));
    },

    /** config.yml's rules first (in file order), then the API's, oldest first. */
    async list(): Promise<RateLimitRuleResponse[]> {
      const rows = await db.select().from(t.rateLimitRules).orderBy(t.rateLimitRules.createdAt, t.rateLimitRules.id);
      return [...fromConfig, ...rows.map(fromRuleRow)].map(toRateLimitResponse);
    },

    async get(id: string): Promise<RateLimitRuleResponse> {
      const configured = fromConfig.find((r) => r.id === id);
      if (configured) return toRateLimitResponse(configured);
      const [row] = await db.select().from(t.rateLimitRules).where(eq(t.rateLimitRules.id, id));
      if (!row) throw ruleNotFound(id);
      return toRateLimitResponse(fromRuleRow(row));
    },

    /** Absent or null fields are unchanged; `0` removes a limit and `""` the model, if a limit remains. */
    async update(id: string, input: UpdateRateLimitInput): Promise<RateLimitRuleResponse> {
      const row = await apiRow(id);
      const patch = {
        model: input.model === "" ? null : (input.model ?? row.model),
        rpmLimit: input.rpm === 0 ? null : (input.rpm ?? row.rpmLimit),
        tpmLimit: input.tpm === 0 ? null : (input.tpm ?? row.tpmLimit),
        maxConcurrent: input.max_concurrent === 0 ? null : (input.max_concurrent ?? row.maxConcurrent),
        updatedAt: now(),
      };
      if (patch.rpmLimit === null && patch.tpmLimit === null && patch.maxConcurrent === null)
        throw validationError([
          { type: "value_error", loc: ["body"], msg: "a rule keeps at least one of rpm, tpm, max_concurrent" },
        ]);
      const [updated] = await db.update(t.rateLimitRules).set(patch).where(eq(t.rateLimitRules.id, id)).returning();
      changed("rate_limits");
      return toRateLimitResponse(fromRuleRow(updated!));
    },

    async remove(id: string): Promise<void> {
      await apiRow(id);
      await db.delete(t.rateLimitRules).where(eq(t.rateLimitRules.id, id));
      changed("rate_limits");
    },
  };
}

export type RateLimitsService = ReturnType<typeof createRateLimitsService>;
