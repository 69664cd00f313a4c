/**
 * The tRPC router: the management surface (keys, users, budgets, pricing, usage and its analytics, teams, end users,
 * rate-limit rules, spend alerts, providers, the effective configuration) over the same services and the same zod
 * schemas as the REST routes. Every procedure first runs the mount's `authorize`: the master key at /trpc (the same
 * readCredential + auth.requireMaster as the routes), a console session and its CSRF token at /ui/api/trpc.
 * GatewayErrors become TRPCErrors with the matching code; the gateway's own status, code and detail ride along in
 * `error.data.gateway`. Stack traces are never sent (isDev: false).
 */
import { initTRPC, TRPCError } from "@trpc/server";
import { z } from "zod";
import { GatewayError } from "../../core/errors";
import { alertDeliveriesQuery, createAlertRequest, updateAlertRequest } from "../../core/schemas/alerts";
import { createBudgetRequest, updateBudgetRequest } from "../../core/schemas/budgets";
import { paginationQuery } from "../../core/schemas/common";
import { endUsersQuery } from "../../core/schemas/end-users";
import { createKeyRequest, updateKeyRequest } from "../../core/schemas/keys";
import { pricingAsOfQuery, pricingDeleteQuery, setPricingRequest } from "../../core/schemas/pricing";
import { rateLimitRuleInput, updateRateLimitRequest } from "../../core/schemas/rate-limits";
import { createTeamRequest, updateTeamRequest } from "../../core/schemas/teams";
import { overviewQuery, seriesQuery, summaryQuery } from "../../core/schemas/analytics";
import { usageQuery, userUsageQuery } from "../../core/schemas/usage";
import { createUserRequest, updateUserRequest } from "../../core/schemas/users";
import type { Config } from "../../config/load";
import type { Services } from "../../services";
import { effectiveConfig } from "../../services/config-view";
import type { ProvidersService } from "../../services/providers";
import { issuesToValidation, toGatewayError } from "../errors";

/** Per-request context: the services, and how the mount checks its caller (throws when refused). */
export interface TrpcContext {
  services: Services;
  providers: () => ProvidersService;
  config: Config;
  authorize: () => void | Promise<void>;
}

type TrpcCode = TRPCError["code"];

/** tRPC code by gateway HTTP status; anything else 5xx is INTERNAL_SERVER_ERROR, 4xx BAD_REQUEST. */
const CODE_BY_STATUS: Record<number, TrpcCode> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  402: "PAYMENT_REQUIRED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_SUPPORTED",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  422: "UNPROCESSABLE_CONTENT",
  429: "TOO_MANY_REQUESTS",
  500: "INTERNAL_SERVER_ERROR",
  502: "BAD_GATEWAY",
  503: "SERVICE_UNAVAILABLE",
  504: "GATEWAY_TIMEOUT",
};

/** Maps any thrown value to a TRPCError; non-gateway errors go through the HTTP mapper first (no leaked text). */
export function toTrpcError(err: unknown): TRPCError {
  if (err instanceof TRPCError && !(err.cause instanceof GatewayError) && err.code !== "INTERNAL_SERVER_ERROR")
    return err;
  const cause = err instanceof TRPCError && err.cause ? err.cause : err;
  const gw = toGatewayError(cause);
  const code = CODE_BY_STATUS[gw.status] ?? (gw.status >= 500 ? "INTERNAL_SERVER_ERROR" : "BAD_REQUEST");
  return new TRPCError({ code, message: gw.message, cause: gw });
}

/** The gateway's view of an error, for clients that want the REST status/code/detail. */
export interface GatewayErrorData {
  status: number;
  type: string;
  code: string | null;
  param: string | null;
  detail: unknown;
}

interface IssueLike {
  message: string;
  path?: readonly (PropertyKey | { key: PropertyKey })[];
}

function hasIssues(value: unknown): value is { issues: IssueLike[] } {
  return typeof value === "object" && value !== null && Array.isArray((value as { issues?: unknown }).issues);
}

const t = initTRPC.context<TrpcContext>().create({
  isDev: false,
  errorFormatter({ shape, error }) {
    let gateway: GatewayErrorData | null = null;
    if (error.cause instanceof GatewayError) {
      const gw = error.cause;
      gateway = { status: gw.status, type: gw.type, code: gw.code, param: gw.param, detail: gw.detail };
    } else if (error.code === "BAD_REQUEST" && hasIssues(error.cause)) {
      // Input validation: the same FastAPI-style list as the REST 422s, located under `input`.
      const gw = issuesToValidation("input", error.cause.issues);
      gateway = { status: 400, type: gw.type, code: gw.code, param: gw.param, detail: gw.detail };
      return { ...shape, message: gw.message, data: { ...shape.data, gateway } };
    }
    return { ...shape, data: { ...shape.data, gateway } };
  },
});

/** Maps errors of everything below it (auth, resolvers) to TRPCErrors with the right code. */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) throw toTrpcError(result.error);
  return result;
});

/** The caller checked before the input is parsed (as the REST routes do it). */
const authorized = t.middleware(async ({ ctx, next }) => {
  await ctx.authorize();
  return next();
});

const procedure = t.procedure.use(mapErrors).use(authorized);

const page = paginationQuery.prefault({});
const keyId = z.object({ key_id: z.string() });
const userId = z.object({ user_id: z.string() });
const budgetId = z.object({ budget_id: z.string() });
const modelKey = z.object({ model_key: z.string().min(1) });
const teamId = z.object({ team_id: z.string() });
const ruleId = z.object({ id: z.string() });

/** What deletions return (as the CLI's `--json` does). */
const deleted = (id: string) => ({ deleted: true as const, id });

const keysRouter = t.router({
  list: procedure.input(page).query(({ ctx, input }) => ctx.services.keys.list(input)),
  get: procedure.input(keyId).query(({ ctx, input }) => ctx.services.keys.get(input.key_id)),
  create: procedure.input(createKeyRequest).mutation(({ ctx, input }) => ctx.services.keys.create(input)),
  update: procedure
    .input(keyId.extend({ data: updateKeyRequest }))
    .mutation(({ ctx, input }) => ctx.services.keys.update(input.key_id, input.data)),
  delete: procedure.input(keyId).mutation(async ({ ctx, input }) => {
    await ctx.services.keys.remove(input.key_id);
    return deleted(input.key_id);
  }),
  rotate: procedure.input(keyId).mutation(({ ctx, input }) => ctx.services.keys.rotate(input.key_id)),
  revoke: procedure.input(keyId).mutation(({ ctx, input }) => ctx.services.keys.revoke(input.key_id)),
});

const usersRouter = t.router({
  list: procedure.input(page).query(({ ctx, input }) => ctx.services.users.list(input)),
  get: procedure.input(userId).query(({ ctx, input }) => ctx.services.users.get(input.user_id)),
  create: procedure.input(createUserRequest).mutation(({ ctx, input }) => ctx.services.users.create(input)),
  update: procedure
    .input(userId.extend({ data: updateUserRequest }))
    .mutation(({ ctx, input }) => ctx.services.users.update(input.user_id, input.data)),
  delete: procedure.input(userId).mutation(async ({ ctx, input }) => {
    await ctx.services.users.remove(input.user_id);
    return deleted(input.user_id);
  }),
  usage: procedure
    .input(userUsageQuery.extend(userId.shape))
    .query(({ ctx, input }) => ctx.services.users.usage(input.user_id, input)),
});

const budgetsRouter = t.router({
  list: procedure.input(page).query(({ ctx, input }) => ctx.services.budgets.list(input)),
  get: procedure.input(budgetId).query(({ ctx, input }) => ctx.services.budgets.get(input.budget_id)),
  create: procedure
    .input(createBudgetRequest.prefault({}))
    .mutation(({ ctx, input }) => ctx.services.budgets.create(input)),
  update: procedure
    .input(budgetId.extend({ data: updateBudgetRequest }))
    .mutation(({ ctx, input }) => ctx.services.budgets.update(input.budget_id, input.data)),
  delete: procedure.input(budgetId).mutation(async ({ ctx, input }) => {
    await ctx.services.budgets.remove(input.budget_id);
    return deleted(input.budget_id);
  }),
  resetLogs: procedure
    .input(paginationQuery.extend(budgetId.shape))
    .query(({ ctx, input }) => ctx.services.budgets.resetLogs(input.budget_id, input)),
});

const pricingRouter = t.router({
  list: procedure.input(page).query(({ ctx, input }) => ctx.services.pricing.list(input)),
  get: procedure
    .input(modelKey.extend(pricingAsOfQuery.shape))
    .query(({ ctx, input }) => ctx.services.pricing.get(input.model_key, input.as_of)),
  history: procedure.input(modelKey).query(({ ctx, input }) => ctx.services.pricing.history(input.model_key)),
  set: procedure.input(setPricingRequest).mutation(({ ctx, input }) => ctx.services.pricing.set(input)),
  delete: procedure.input(modelKey.extend(pricingDeleteQuery.shape)).mutation(async ({ ctx, input }) => {
    await ctx.services.pricing.remove(input.model_key, input.effective_at);
    return deleted(input.model_key);
  }),
});

const usageRouter = t.router({
  list: procedure.input(usageQuery.prefault({})).query(({ ctx, input }) => ctx.services.usage.list(input)),
  /** Keyset pages: the rows and the cursor of the next page. */
  page: procedure.input(usageQuery.prefault({})).query(({ ctx, input }) => ctx.services.usage.page(input)),
  summary: procedure.input(summaryQuery.prefault({})).query(({ ctx, input }) => ctx.services.analytics.summary(input)),
  series: procedure.input(seriesQuery.prefault({})).query(({ ctx, input }) => ctx.services.analytics.series(input)),
});

const teamsRouter = t.router({
  list: procedure.input(page).query(({ ctx, input }) => ctx.services.teams.list(input)),
  get: procedure.input(teamId).query(({ ctx, input }) => ctx.services.teams.get(input.team_id)),
  create: procedure.input(createTeamRequest).mutation(({ ctx, input }) => ctx.services.teams.create(input)),
  update: procedure
    .input(teamId.extend({ data: updateTeamRequest }))
    .mutation(({ ctx, input }) => ctx.services.teams.update(input.team_id, input.data)),
  delete: procedure.input(teamId).mutation(async ({ ctx, input }) => {
    await ctx.services.teams.remove(input.team_id);
    return deleted(input.team_id);
  }),
  usage: procedure
    .input(paginationQuery.extend(teamId.shape))
    .query(({ ctx, input }) => ctx.services.teams.usage(input.team_id, input)),
});

const endUsersRouter = t.router({
  list: procedure.input(endUsersQuery.prefault({})).query(({ ctx, input }) => ctx.services.endUsers.list(input)),
});

const rateLimitsRouter = t.router({
  list: procedure.query(({ ctx }) => ctx.services.rateLimits.list()),
  get: procedure.input(ruleId).query(({ ctx, input }) => ctx.services.rateLimits.get(input.id)),
  create: procedure.input(rateLimitRuleInput).mutation(({ ctx, input }) => ctx.services.rateLimits.create(input)),
  update: procedure
    .input(ruleId.extend({ data: updateRateLimitRequest }))
    .mutation(({ ctx, input }) => ctx.services.rateLimits.update(input.id, input.data)),
  delete: procedure.input(ruleId).mutation(async ({ ctx, input }) => {
    await ctx.services.rateLimits.remove(input.id);
    return deleted(input.id);
  }),
});

const alertsRouter = t.router({
  list: procedure.query(({ ctx }) => ctx.services.alerts.list()),
  get: procedure.input(ruleId).query(({ ctx, input }) => ctx.services.alerts.get(input.id)),
  create: procedure.input(createAlertRequest).mutation(({ ctx, input }) => ctx.services.alerts.create(input)),
  update: procedure
    .input(ruleId.extend({ data: updateAlertRequest }))
    .mutation(({ ctx, input }) => ctx.services.alerts.update(input.id, input.data)),
  delete: procedure.input(ruleId).mutation(async ({ ctx, input }) => {
    await ctx.services.alerts.remove(input.id);
    return deleted(input.id);
  }),
  test: procedure.input(ruleId).mutation(({ ctx, input }) => ctx.services.alerts.test(input.id)),
  deliveries: procedure
    .input(ruleId.extend({ query: alertDeliveriesQuery }))
    .query(({ ctx, input }) => ctx.services.alerts.deliveries(input.id, input.query)),
});

export const appRouter = t.router({
  keys: keysRouter,
  users: usersRouter,
  budgets: budgetsRouter,
  pricing: pricingRouter,
  usage: usageRouter,
  teams: teamsRouter,
  endUsers: endUsersRouter,
  rateLimits: rateLimitsRouter,
  alerts: alertsRouter,
  overview: procedure
    .input(overviewQuery.prefault({}))
    .query(({ ctx, input }) => ctx.services.analytics.overview(input)),
  providers: procedure.query(({ ctx }) => ctx.providers().list()),
  settings: procedure.query(({ ctx }) => effectiveConfig(ctx.config)),
});

export type AppRouter = typeof appRouter;
