/**
 * Standalone mode's admission (docs/api.md#order-of-checks-on-an-inference-request, docs/behaviour/storage.md): who pays, may they call this model, within their rate
 * limits and budget (the estimate reserved), then what only the gateway can refuse (a provider that cannot serve
 * the endpoint, gateway tools that are not configured). A refusal once the user is known writes its error row.
 */
import { badRequest, forbidden, GatewayError, notFound } from "../../../core/errors";
import type { RateScope } from "../../governance/rate-limiter";
import type { Caller } from "../../auth";
import { checkSupport, type Endpoint } from "../pipeline/endpoint";
import type { ModePolicy } from "../pipeline/policy";
import type { InferenceCall } from "../pipeline/types";
import type { Price } from "../prices";
import type { Route, Target } from "../routing";
import type { GatewayTools } from "../tool-loop";
import type { DirectoryUser } from "../user-directory";
import { type AdmissionDeps, type AdmitInput, dearestEstimate, LocalTicket } from "./ticket";
import { usageRow } from "./usage-row";

/** `provider:*` or an exact `provider:model` entry; null list = everything (SPEC §0 allow-lists). */
function allowed(list: string[] | null, providerName: string, model: string): boolean {
  if (!list) return true;
  const full = `${providerName}:${model}`;
  return list.some((e) => e === full || e === `${providerName}:*` || e === `${providerName}/${model}`);
}

export function createStandalonePolicy(deps: AdmissionDeps, tools: GatewayTools): ModePolicy<Caller, Route> {
  const { settings } = deps;

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

  /** Writes the error row for a refusal after the user is known (SPEC §4.4 last paragraph). */
  function refusalRow(
    input: AdmitInput,
    userId: string,
    endUserId: string | null,
    apiKeyId: string | null,
    err: GatewayError,
    providerName: string | null,
    model: string,
  ) {
    deps.usage.enqueue(
      usageRow({
        requestId: input.requestId,
        endpoint: input.endpoint,
        apiKeyId,
        userId,
        endUserId,
        timestamp: deps.now(),
        provider: providerName,
        model,
        status: "error",
        statusCode: err.status,
        errorMessage: err.message,
      }),
    );
  }

  /** Runs the checks in SPEC §3.1 order and reserves the estimate; throws the refusal. */
  async function admitCaller(input: AdmitInput): Promise<LocalTicket> {
    const startedPerf = performance.now();
    const startedAt = deps.now();
    const { userId, endUserId, user } = await resolveUser(input);
    const key = input.caller.kind === "key" ? input.caller.key : null;
    const apiKeyId = key?.id ?? null;
    let providerName: string | null = null;
    let model = input.selector;
    try {
      const scopes: RateScope[] = [];
      if (key && (key.rpmLimit || key.tpmLimit))
        scopes.push({ scope: "key", subject: key.id, rpm: key.rpmLimit, tpm: key.tpmLimit });
      const userRpm = user.rpmLimit ?? settings.rateLimitRpm;
      const userTpm = user.tpmLimit ?? settings.rateLimitTpm;
      if (userRpm || userTpm) scopes.push({ scope: "user", subject: userId, rpm: userRpm, tpm: userTpm });
      const checked = scopes.length ? deps.limiter.check(scopes) : {};
      const rateHeaders = checked instanceof Promise ? await checked : checked;

      const plan = deps.router.plan(input.selector);
      const first = plan.targets[0]!;
      providerName = first.providerName;
      model = first.model;
      // A key or user allow-list narrows an alias's chain to the targets it may call (SPEC §0 allow-lists).
      const keyList = key?.allowedModels ?? null;
      const targets =
        keyList || user.allowedModels
          ? plan.targets.filter(
              (t) => allowed(keyList, t.providerName, t.model) && allowed(user.allowedModels, t.providerName, t.model),
            )
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
      const capped = settings.budgetsEnabled && user.hasBudget && user.maxBudgetMicros !== null;
      const reservation = await deps.ledger.reserve({
        userId,
        estimateMicros,
        maxBudgetMicros: capped ? user.maxBudgetMicros : null,
        free,
        nextResetAt: user.nextResetAt,
      });
      if (unpriced && settings.requirePricing) {
        deps.ledger.release(reservation);
        const t = targets.find((x) => prices.get(x) === null)!;
        throw new GatewayError(402, `No pricing configured for model '${t.providerName}:${t.model}'`, {
          code: "pricing_not_configured",
        });
      }
      return new LocalTicket(
        deps,
        input,
        userId,
        endUserId,
        apiKeyId,
        targets === plan.targets ? plan : { ...plan, targets },
        prices,
        capped ? user.maxBudgetMicros : null,
        reservation,
        estimateMicros,
        scopes,
        rateHeaders,
        startedAt,
        startedPerf,
      );
    } catch (err) {
      if (err instanceof GatewayError) refusalRow(input, userId, endUserId, apiKeyId, err, providerName, model);
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
