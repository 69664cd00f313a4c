/**
 * Standalone mode's admission (docs/api.md#order-of-checks-on-an-inference-request, docs/behaviour/cost-control.md):
 * who pays, may they call this model, within the limits and budgets of every level of the request's path (key,
 * user, team, end user; the estimate reserved on each), then what only the gateway can refuse (a provider that
 * cannot serve the endpoint, gateway tools that are not configured). A refusal once the user is known writes its
 * error row.
 */
import { badRequest, forbidden, GatewayError, notFound } from "../../../core/errors";
import type { LimitHold } from "../../governance/rate-limiter";
import type { Caller } from "../../auth";
import { checkSupport, type Endpoint } from "../pipeline/endpoint";
import type { ModePolicy } from "../pipeline/policy";
import type { InferenceCall } from "../pipeline/types";
import type { Price } from "../prices";
import type { Plan, Route, Target } from "../routing";
import type { GatewayTools } from "../tool-loop";
import type { DirectoryUser } from "../user-directory";
import { type AdmissionDeps, type AdmitInput, dearestEstimate, LocalTicket } from "./ticket";
import { usageRow } from "./usage-row";

/** `provider:*` or an exact `provider:model` entry; null list = everything (docs/behaviour/auth.md#model-allow-lists). */
export function allowed(list: readonly string[] | null, providerName: string, model: string): boolean {
  if (!list) return true;
  const full = `${providerName}:${model}`;
  return list.some((e) => e === full || e === `${providerName}:*` || e === `${providerName}/${model}`);
}

export function createStandalonePolicy(deps: AdmissionDeps, tools: GatewayTools): ModePolicy<Caller, Route> {
  const { settings, costControl } = deps;

  /**
   * Who is billed. The master key names the user (it must exist). A virtual key always bills its own user: a `user`
   * value is the client app's end-user id (LibreChat, Open WebUI and agent frameworks send their own there), kept
   * on the row and never looked up, so a key can neither spend another user's budget nor fail on an unknown id.
   */
  async function resolveUser(
    input: AdmitInput,
  ): Promise<{ userId: string; endUserId: string | null; user: DirectoryUser }> {
    const { caller, requestedUser } = input;
    let userId: string;
    let endUserId: string | null = null;
    if (caller.kind === "master") {
      if (!requestedUser) throw badRequest(input.userRequiredMessage, "user_required", "user");
      userId = requestedUser;
    } else {
      if (requestedUser && settings.rejectUserMismatch && requestedUser !== caller.key.userId) {
        throw forbidden("'user' field does not match the authenticated API key's user", "user_mismatch");
      }
      if (!caller.key.userId) throw new GatewayError(500, "API key has no associated user", { code: "internal_error" });
      userId = caller.key.userId;
      endUserId = requestedUser || null;
    }
    const user = await deps.users.get(userId);
    if (!user || user.deleted) throw notFound(`User '${userId}' not found`, "user_not_found");
    return { userId, endUserId, user };
  }

  /** Writes the error row for a refusal after the user is known (docs/behaviour/errors.md#usage-rows-for-failures). */
  function refusalRow(
    input: AdmitInput,
    who: { userId: string; endUserId: string | null; apiKeyId: string | null; teamId: string | null },
    err: GatewayError,
    providerName: string | null,
    model: string,
  ) {
    deps.usage.enqueue(
      usageRow({
        requestId: input.requestId,
        endpoint: input.endpoint,
        ...who,
        timestamp: deps.now(),
        provider: providerName,
        model,
        status: "error",
        statusCode: err.status,
        errorMessage: err.message,
        traceId: input.traceId,
      }),
    );
  }

  /**
   * Runs the checks in docs/api.md#order-of-checks-on-an-inference-request order on every level of the request's
   * path (key, user, team, end user: docs/behaviour/cost-control.md): limits and rate-limit rules taken, then the
   * estimate reserved, all or none; throws the refusal, having given back whatever it took.
   */
  async function admitCaller(input: AdmitInput): Promise<LocalTicket> {
    const startedPerf = performance.now();
    const startedAt = deps.now();
    const { userId, endUserId, user } = await resolveUser(input);
    const key = input.caller.kind === "key" ? input.caller.key : null;
    const who = { userId, endUserId, apiKeyId: key?.id ?? null, teamId: user.teamId };
    let providerName: string | null = null;
    let model = input.selector;
    let hold: LimitHold | null = null;
    try {
      const resolved = costControl.resolve({ key, user, endUserId });
      const path = resolved instanceof Promise ? await resolved : resolved;
      who.teamId = path.teamId;
      // Rate-limit rules count per model, so the selector is resolved first; a bad one is refused after the limits.
      let plan: Plan | null = null;
      let badSelector: unknown = null;
      try {
        plan = deps.router.plan(input.selector);
      } catch (err) {
        badSelector = err;
      }
      const first = plan?.targets[0];
      const limited = costControl.limit(path, first?.providerName ?? "", first?.model ?? "");
      hold = limited instanceof Promise ? await limited : limited;
      if (!plan || !first) throw badSelector;
      providerName = first.providerName;
      model = first.model;
      // The allow-lists on the path narrow an alias's chain to the targets it may call (docs/behaviour/auth.md#model-allow-lists).
      const lists = path.allowLists;
      const targets = lists.some((l) => l !== null)
        ? plan.targets.filter((t) => lists.every((l) => allowed(l, t.providerName, t.model)))
        : plan.targets;
      if (targets.length === 0)
        throw forbidden(
          `Model '${first.providerName}:${first.model}' is not allowed for this key`,
          "model_not_allowed",
        );
      if (user.blocked) throw forbidden(`User '${userId}' is blocked`, "user_blocked");

      const at = startedAt.getTime();
      const prices = new Map<Target, Price | null>();
      let unpriced = false;
      let free = true;
      for (const t of targets) {
        const peeked = deps.prices.peek(t.pricingKeys, at);
        const p = peeked !== undefined ? peeked : await deps.prices.lookup(t.pricingKeys, at);
        prices.set(t, p);
        if (!p) unpriced = true;
        if (p?.free !== true) free = false;
      }
      const estimateMicros = dearestEstimate(prices.values(), input.estimate);
      const reservation = await costControl.reserve(path, estimateMicros, free);
      if (unpriced && settings.requirePricing) {
        costControl.release(reservation);
        const t = targets.find((x) => prices.get(x) === null)!;
        throw new GatewayError(402, `No pricing configured for model '${t.providerName}:${t.model}'`, {
          code: "pricing_not_configured",
        });
      }
      return new LocalTicket(
        deps,
        input,
        path,
        targets === plan.targets ? plan : { ...plan, targets },
        prices,
        reservation,
        estimateMicros,
        hold,
        startedAt,
        startedPerf,
      );
    } catch (err) {
      hold?.release(0);
      if (err instanceof GatewayError) refusalRow(input, who, err, providerName, model);
      throw err;
    }
  }

  return {
    async admit<In extends { model: string }, Req, Body, Ev, Q>(
      e: Endpoint<In, Req, Body, Ev, Q>,
      call: InferenceCall<In, Caller, Q>,
    ) {
      const { body } = call;
      const ticket = await admitCaller({
        caller: call.identity,
        endpoint: e.path,
        requestId: call.requestId,
        requestedUser: e.user(body),
        userRequiredMessage: e.userRequired,
        selector: body.model,
        estimate: e.estimate(body, settings.defaultOutputTokens),
        traceId: call.traceId ?? null,
      });
      // After auth and budget, as the baseline has it (docs/api.md#order-of-checks-on-an-inference-request): the
      // first target must serve the endpoint (every fallback target is checked again when tried), and the gateway
      // tools must be configured.
      try {
        const first = ticket.firstTarget;
        checkSupport(e, first.provider, first.providerName, e.stream?.requested(body) === true);
        const plan = e.loop ? await tools.plan(e.loop.fields(body)) : null;
        if (plan) ticket.tools = { plan, prices: await tools.prices(plan) };
      } catch (err) {
        ticket.settle({ kind: "failed", error: err, usage: null, extraMicros: 0, clientLeft: false }, null, null);
        throw err;
      }
      return ticket;
    },
  };
}
