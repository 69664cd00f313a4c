/**
 * Governance around one inference request (SPEC §3.1 steps 3-6 and 8, §7): who pays, may they call this model,
 * within their rate limits and budget; then, exactly once, settlement: cost, spend, tokens for TPM, and one usage
 * row (written off the request path by the usage writer).
 */
import { GatewayError, badRequest, forbidden, notFound } from "../../core/errors";
import { costMicros, microsToUsd } from "../../core/money";
import { hasUsage, MAX_REPORTED_TOKENS, type NormalizedUsage } from "../../core/wire/index";
import { logger } from "../../platform/logger";
import type { Caller } from "../auth";
import type { BudgetLedger, Reservation } from "../governance/budget-ledger";
import type { RateLimiter, RateScope } from "../governance/rate-limiter";
import type { UsageRowInsert, UsageWriter } from "../governance/usage-writer";
import { type FallbackPolicy, runPlan } from "./fallback";
import type { Price, PriceBook } from "./prices";
import type { Plan, Route, Router, Target } from "./routing";
import { logSettled, usageRow } from "./usage-row";
import { estimateTokens } from "./estimate";
import { failureDetail } from "../../providers/failures";
import type { UsageGuard } from "./usage-guard";
import type { DirectoryUser, UserDirectory } from "./user-directory";

const log = logger("admission");
/** Models already warned about as unpriced (once per process, not per request), up to a bound: names come from clients. */
const warnedUnpriced = new Set<string>();
const WARNED_UNPRICED_LIMIT = 1000;

export interface AdmissionSettings {
  requirePricing: boolean;
  rejectUserMismatch: boolean;
  defaultOutputTokens: number;
  rateLimitRpm: number | null;
  rateLimitTpm: number | null;
  budgetsEnabled: boolean;
  /** Retries, fallbacks and their deadline (config `routing`). */
  fallback: FallbackPolicy;
}

export interface AdmissionDeps {
  router: Router;
  users: UserDirectory;
  prices: PriceBook;
  ledger: BudgetLedger;
  limiter: RateLimiter;
  usage: UsageWriter;
  settings: AdmissionSettings;
  now: () => Date;
  /** Checks upstream usage before it is billed (usage-guard.ts). */
  checkUsage: UsageGuard;
  /** Metric hooks (tokens, cost). */
  onSettled?: (row: UsageRowInsert) => void;
}

export interface AdmitInput {
  caller: Caller;
  endpoint: string;
  requestId: string;
  /**
   * `user` (or `metadata.user_id` on /v1/messages): with the master key, the user billed; with a virtual key, the
   * client's own end-user id, recorded on the row (the key's user is billed).
   */
  requestedUser: string | null | undefined;
  /** The 400 text when the master key names no user. */
  userRequiredMessage: string;
  selector: string;
  /** SPEC §7.3 item 1. */
  estimate: { promptTokens: number; outputTokens: number };
}

export interface Outcome {
  usage: NormalizedUsage | null;
  /** Tokens are the reservation's estimate (the provider reported none). */
  estimated?: boolean;
  statusCode: number;
  errorMessage?: string | null;
  /** Cost decided by the endpoint instead of tokens × rates (moderations: one request at the input rate). */
  fixedCostMicros?: number | null;
  /** Cost added to the tokens' (gateway tool calls priced per call, SPEC §0); billed even when the model is unpriced. */
  extraCostMicros?: number;
}

/** Headers a settled response carries (SPEC §0 cost visibility, §3.0 rate limits). */
export interface SettledInfo {
  costMicros: number | null;
  headers: Record<string, string>;
}

/** µ$ of `estimate` at the dearest of `prices` (unpriced ones count 0): the reservation covers whichever serves. */
function dearestEstimate(prices: Iterable<Price | null>, estimate: AdmitInput["estimate"]): number {
  let micros = 0;
  for (const p of prices)
    if (p)
      micros = Math.max(micros, costMicros(estimate.promptTokens, estimate.outputTokens, p.inputRate, p.outputRate));
  return micros;
}

/** `provider:*` or an exact `provider:model` entry; null list = everything (SPEC §0 allow-lists). */
function allowed(list: string[] | null, providerName: string, model: string): boolean {
  if (!list) return true;
  const full = `${providerName}:${model}`;
  return list.some((e) => e === full || e === `${providerName}:*` || e === `${providerName}/${model}`);
}

export class Admission {
  private settled = false;
  private tries = 0;
  private servedAttempt: number | null = null;
  /** Reservations taken after admission (tool-loop rounds), released at settlement. */
  private readonly topUps: Reservation[] = [];
  /** µ$ reserved for this request so far: the admission's estimate plus every top-up. */
  private reservedMicros: number;
  /** The route that served (or, before any call, the plan's first target). */
  route: Route;
  /** The price of `route`'s model; null = unpriced. */
  price: Price | null;
  readonly startedAt: Date;

  constructor(
    private readonly deps: AdmissionDeps,
    readonly input: AdmitInput,
    readonly userId: string,
    readonly endUserId: string | null,
    readonly apiKeyId: string | null,
    private readonly plan: Plan,
    private readonly prices: Map<Target, Price | null>,
    readonly maxBudgetMicros: number | null,
    private readonly reservation: Reservation | null,
    estimateMicros: number,
    private readonly scopes: RateScope[],
    readonly rateHeaders: Record<string, string>,
    startedAt: Date,
  ) {
    const first = plan.targets[0]!;
    this.route = deps.router.pick(first);
    this.price = prices.get(first) ?? null;
    this.startedAt = startedAt;
    this.reservedMicros = estimateMicros;
  }

  /**
   * One more model round of a tool loop, cleared before it starts: the budget must hold what the request has
   * spent so far (`usage` at the serving route's price, plus `extraMicros` of tool calls) and the round's estimate
   * (the prompt of its request, `promptParts`, and the request's output cap). What the reservations held so far does
   * not cover is reserved now; throws the 403 when the cap would pass. Without a budget cap this costs nothing.
   */
  async reserveRound(promptParts: unknown[], usage: NormalizedUsage | null, extraMicros: number): Promise<void> {
    if (this.maxBudgetMicros === null || this.settled) return;
    const { promptTokens } = estimateTokens(promptParts, 0, 0);
    const price = this.price;
    const spent =
      (usage && price
        ? costMicros(usage.promptTokens ?? 0, usage.completionTokens ?? 0, price.inputRate, price.outputRate)
        : 0) + extraMicros;
    const need =
      spent +
      dearestEstimate(this.prices.values(), { promptTokens, outputTokens: this.input.estimate.outputTokens }) -
      this.reservedMicros;
    if (need <= 0) return;
    const reservation = await this.deps.ledger.reserve({
      userId: this.userId,
      estimateMicros: need,
      maxBudgetMicros: this.maxBudgetMicros,
      free: this.free(),
    });
    if (reservation) this.topUps.push(reservation);
    this.reservedMicros += need;
  }

  /** Every target that may serve is priced at 0/0: the budget never applies. */
  private free(): boolean {
    for (const p of this.prices.values()) if (p?.free !== true) return false;
    return true;
  }

  /**
   * Calls the provider through the plan: retries and fallbacks up to the first byte (SPEC §0 routing). The
   * request is then billed at the price of the target that served.
   */
  async attempt<T>(call: (route: Route) => Promise<T>): Promise<T> {
    const served = await runPlan(this.deps.router, this.plan, this.deps.settings.fallback, call, (n, target, route) => {
      this.tries = n;
      this.route = route;
      this.price = this.prices.get(target) ?? null;
    });
    this.servedAttempt = served.attempt;
    return served.value;
  }

  /** Tokens the reservation assumed, for settlement without provider usage (SPEC §6.3), within what a row can hold. */
  estimatedUsage(): NormalizedUsage {
    const promptTokens = Math.min(this.input.estimate.promptTokens, MAX_REPORTED_TOKENS);
    const outputTokens = Math.min(this.input.estimate.outputTokens, MAX_REPORTED_TOKENS);
    return {
      promptTokens,
      completionTokens: outputTokens,
      totalTokens: promptTokens + outputTokens,
      cacheReadTokens: null,
      cacheWriteTokens: null,
      reasoningTokens: null,
    };
  }

  /** Upstream usage of the route that serves, checked before anything bills it (usage-guard.ts). */
  checkedUsage(usage: NormalizedUsage): NormalizedUsage {
    return this.deps.checkUsage(usage, this.route.providerName);
  }

  /** Settles at actual usage (or releases when there is none and the call failed); once per request. */
  finish(outcome: Outcome, status: "success" | "error"): SettledInfo {
    if (this.settled) return { costMicros: null, headers: {} };
    this.settled = true;
    const u = outcome.usage && !outcome.estimated ? this.checkedUsage(outcome.usage) : outcome.usage;
    const prompt = u?.promptTokens ?? null;
    const completion = u?.completionTokens ?? (this.input.endpoint === "/v1/embeddings" && u ? 0 : null);
    const billable = u !== null && (prompt !== null || completion !== null);
    const tokensCost =
      outcome.fixedCostMicros !== undefined
        ? outcome.fixedCostMicros
        : billable && this.price
          ? costMicros(prompt ?? 0, completion ?? 0, this.price.inputRate, this.price.outputRate)
          : null;
    const extra = outcome.extraCostMicros ?? 0;
    const cost = extra > 0 ? (tokensCost ?? 0) + extra : tokensCost;
    const { ledger, limiter } = this.deps;
    // Top-ups go back first, so the cost comes out of the request's whole reservation.
    for (const r of this.topUps) ledger.release(r);
    let spendSeq: number | null = null;
    if (billable || outcome.fixedCostMicros != null || extra > 0)
      spendSeq = ledger.settle(this.reservation, { userId: this.userId, actualMicros: cost ?? 0 });
    else ledger.release(this.reservation);
    // No prompt count means no total (moderations: prompt/total null, completion 0; SPEC §3.7).
    const total = u?.totalTokens ?? (prompt !== null ? prompt + (completion ?? 0) : null);
    if (total) limiter.recordTokens(this.scopes, total);
    if (
      !this.price &&
      billable &&
      this.input.endpoint !== "/v1/moderations" &&
      warnedUnpriced.size < WARNED_UNPRICED_LIMIT
    ) {
      const modelKey = `${this.route.providerName}:${this.route.model}`;
      if (!warnedUnpriced.has(modelKey)) {
        warnedUnpriced.add(modelKey);
        log.warn(`No pricing configured for '${modelKey}'. Usage will be tracked without cost.`, {
          request_id: this.input.requestId,
        });
      }
    }
    const row = usageRow({
      requestId: this.input.requestId,
      endpoint: this.input.endpoint,
      apiKeyId: this.apiKeyId,
      userId: this.userId,
      endUserId: this.endUserId,
      timestamp: this.startedAt,
      provider: this.route.providerName,
      model: this.route.model,
      status,
      statusCode: outcome.statusCode,
      errorMessage: outcome.errorMessage,
      usage: { prompt, completion, total, source: u },
      costMicros: cost,
      estimated: outcome.estimated,
      attempt: this.servedAttempt,
      attempts: this.tries || null,
    });
    // Journaled with the spend's number: a crash before the ledger's next flush cannot lose that spend.
    this.deps.usage.enqueue(row, spendSeq);
    this.deps.onSettled?.(row);
    logSettled(row);
    const headers: Record<string, string> = { ...this.rateHeaders };
    if (cost !== null) headers["X-Gateway-Cost-USD"] = microsToUsd(cost).toFixed(6);
    return { costMicros: cost, headers };
  }

  /**
   * A completed non-stream call. A provider that reported no usage is billed at the reservation estimate, as a
   * stream would be (SPEC §6.3 "normal end, no usage"): it produced tokens, so it is never free.
   */
  succeed(usage: NormalizedUsage | null, extraCostMicros = 0): SettledInfo {
    if (usage && hasUsage(usage)) return this.finish({ usage, statusCode: 200, extraCostMicros }, "success");
    return this.finish({ usage: this.estimatedUsage(), estimated: true, statusCode: 200, extraCostMicros }, "success");
  }

  /** A failed call: no charge unless tokens were produced or tools ran (SPEC §6.3), one error row. */
  fail(err: unknown, usage: NormalizedUsage | null = null, estimated = false, extraCostMicros = 0): void {
    this.finish({ usage, estimated, extraCostMicros, ...failureDetail(err) }, "error");
  }

  /** X-Gateway-Budget-Remaining-USD after settlement (absent without a budget cap). */
  async budgetHeaders(): Promise<Record<string, string>> {
    if (this.maxBudgetMicros === null) return {};
    const state = await this.deps.ledger.usage(this.userId);
    if (!state) return {};
    return {
      "X-Gateway-Budget-Remaining-USD": microsToUsd(Math.max(this.maxBudgetMicros - state.spendMicros, 0)).toFixed(6),
    };
  }
}

export function createAdmissions(deps: AdmissionDeps) {
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

  return {
    /** Runs the checks in SPEC §3.1 order and reserves the estimate; throws the refusal. */
    async admit(input: AdmitInput): Promise<Admission> {
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
                (t) =>
                  allowed(keyList, t.providerName, t.model) && allowed(user.allowedModels, t.providerName, t.model),
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
        return new Admission(
          deps,
          input,
          userId,
          endUserId,
          apiKeyId,
          { ...plan, targets },
          prices,
          capped ? user.maxBudgetMicros : null,
          reservation,
          estimateMicros,
          scopes,
          rateHeaders,
          startedAt,
        );
      } catch (err) {
        if (err instanceof GatewayError) refusalRow(input, userId, endUserId, apiKeyId, err, providerName, model);
        throw err;
      }
    },
  };
}

export type Admissions = ReturnType<typeof createAdmissions>;
