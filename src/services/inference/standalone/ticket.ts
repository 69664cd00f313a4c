/**
 * One admitted standalone request (docs/api.md#order-of-checks-on-an-inference-request, docs/behaviour/storage.md): the
 * routing plan its calls are tried on, the budget it reserved, and, exactly once, its settlement: cost, spend, tokens
 * for TPM, and one usage row (written off the request path by the usage writer).
 */
import { costMicros, microsToUsd } from "../../../core/money";
import type { PricingUnit, UnitQuantities } from "../../../core/schemas/pricing";
import { MAX_REPORTED_TOKENS, type NormalizedUsage } from "../../../core/wire/index";
import { logger } from "../../../runtime/logger";
import { failureDetail } from "../../../providers/failures";
import type { Caller } from "../../auth";
import type { CostControl, GovernedPath, Reservation, SpendStamp } from "../../governance";
import type { LimitHold } from "../../governance/rate-limiter";
import type { UsageRowInsert, UsageWriter } from "../../governance/usage-writer";
import type { Estimate } from "../estimate";
import type { Ticket, ToolGrant } from "../pipeline/policy";
import type { PumpEnd } from "../pipeline/sse-pump";
import type { TicketFacts } from "../pipeline/trace";
import type { Attempted, Outcome, Served, Settlement, Unserved } from "../pipeline/types";
import type { Price, PriceBook } from "../prices";
import type { Plan, Route, Router, Target } from "../routing";
import type { UserDirectory } from "../user-directory";
import { type FallbackPolicy, runPlan } from "./fallback";
import { estimateTokens } from "../estimate";
import { logSettled, usageRow } from "./usage-row";

const log = logger("admission");
/** Models already warned about as unpriced (once per process, not per request), up to a bound: names come from clients. */
const warnedUnpriced = new Set<string>();
const WARNED_UNPRICED_LIMIT = 1000;

export interface AdmissionSettings {
  requirePricing: boolean;
  rejectUserMismatch: boolean;
  defaultOutputTokens: number;
  /** Retries, fallbacks and their deadline (config `routing`). */
  fallback: FallbackPolicy;
}

export interface AdmissionDeps {
  router: Router;
  users: UserDirectory;
  prices: PriceBook;
  /** Budgets, limits and rate-limit rules on every level of a request's path (key, user, team, end user). */
  costControl: CostControl;
  usage: UsageWriter;
  settings: AdmissionSettings;
  now: () => Date;
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
  /** The reservation estimate (docs/behaviour/storage.md#estimate). */
  estimate: Estimate;
  /** The request's trace id when it is traced (on its usage row). */
  traceId: string | null;
}

/** What a settlement bills: usage, status and the cost decided other than by tokens. */
interface Bill {
  usage: NormalizedUsage | null;
  /** Tokens are the reservation's estimate (the provider reported none). */
  estimated?: boolean;
  statusCode: number;
  errorMessage?: string | null;
  /**
   * Cost decided by the endpoint instead of tokens × rates (moderations: one request at the input rate; a model priced
   * in another unit: its quantity at the input rate). null: that quantity is unknown, so the cost is too.
   */
  fixedCostMicros?: number | null;
  /**
   * Cost added to the tokens' (gateway tool calls priced per call, docs/behaviour/tools.md#billing); billed even when
   * the model is unpriced.
   */
  extraCostMicros: number;
}

/** Where the request went, for its row: the route that served or was tried last, its price and the tries. */
interface Where {
  route: Route | null;
  price: Price | null;
  attempt: number | null;
  attempts: number | null;
}

const ALREADY_SETTLED: Settlement = { costMicros: null, headers: {} };

/** µ$ of `estimate` at the dearest of `prices` (unpriced ones count 0): the reservation covers whichever serves. */
export function dearestEstimate(prices: Iterable<Price | null>, estimate: Estimate): number {
  let micros = 0;
  for (const p of prices) {
    if (!p) continue;
    // A price in another unit reserves the estimate's quantity of it (none estimated: nothing to reserve).
    const cost =
      p.unit === "token"
        ? costMicros(estimate.promptTokens, estimate.outputTokens, p.inputRate, p.outputRate)
        : costMicros(estimate.units?.[p.unit] ?? 0, 0, p.inputRate, 0);
    micros = Math.max(micros, cost);
  }
  return micros;
}

export class LocalTicket implements Ticket<Route> {
  tools: ToolGrant | null = null;
  private settled = false;
  /** Reservations taken after admission (tool-loop rounds), released at settlement. */
  private readonly topUps: Reservation[] = [];
  /** µ$ reserved for this request so far: the admission's estimate plus every top-up. */
  private reservedMicros: number;
  /** Milliseconds from admission to the first upstream byte of the try that served; null until one did. */
  private firstByteMs: number | null = null;

  constructor(
    private readonly deps: AdmissionDeps,
    private readonly input: AdmitInput,
    /** The request's levels: what it reserved on, and what its usage row names (crash recovery charges those). */
    private readonly path: GovernedPath,
    private readonly plan: Plan,
    private readonly prices: Map<Target, Price | null>,
    /** The estimate on every capped level of the path. */
    private readonly reservation: Reservation,
    estimateMicros: number,
    /** Its limits' hold: concurrency slots until the last byte, tokens for TPM at settlement. */
    private readonly hold: LimitHold,
    private readonly startedAt: Date,
    /** performance.now() when admission began: latency is measured on the monotonic clock. */
    private readonly startedPerf: number,
  ) {
    this.reservedMicros = estimateMicros;
  }

  async attempt<T>(call: (route: Route) => Promise<T>, signal?: AbortSignal): Promise<Attempted<T, Route>> {
    const attempted = await runPlan(this.deps.router, this.plan, this.deps.settings.fallback, call, signal);
    // A stream's opening resolves with its first event; a JSON call with its whole answer, which upstreams send at
    // once. A tool loop's later rounds do not move it.
    if (attempted.ok) this.firstByteMs ??= performance.now() - this.startedPerf;
    return attempted;
  }

  /** Every round of a JSON tool loop is tried through the whole plan: nothing has reached the client yet. */
  again<T>(_served: Served<unknown, Route>, call: (route: Route) => Promise<T>, signal?: AbortSignal) {
    return this.attempt(call, signal);
  }

  /** The target tried first (the request's own model, or its alias's first that the caller may use). */
  get firstTarget(): Target {
    return this.plan.targets[0]!;
  }

  /** The price of `route`'s target, or of the first target before any call. */
  private priceOf(route: Route | null): Price | null {
    return this.prices.get(route ? route.target : this.firstTarget) ?? null;
  }

  /**
   * One more model round of a tool loop, cleared before it starts: the budget must hold what the request has
   * spent so far (`usage` at the price of the route that served last, plus `extraMicros` of tool calls) and the
   * round's estimate (the prompt of its request and the request's output cap). What the reservations held so far
   * does not cover is reserved now, on every capped level of the path; throws the 403 naming the level when a cap
   * would pass. Without a budget cap on the path this costs nothing.
   */
  async beforeRound(
    promptParts: unknown[],
    spent: { usage: NormalizedUsage | null; extraMicros: number },
    served: Served<unknown, Route> | null,
  ): Promise<void> {
    const { costControl } = this.deps;
    if (this.settled || !this.path.capped) return;
    const { promptTokens } = estimateTokens(promptParts, 0, 0);
    const price = this.priceOf(served?.route ?? null);
    const { usage } = spent;
    const sofar =
      (usage && price
        ? costMicros(usage.promptTokens ?? 0, usage.completionTokens ?? 0, price.inputRate, price.outputRate)
        : 0) + spent.extraMicros;
    const need =
      sofar +
      dearestEstimate(this.prices.values(), { promptTokens, outputTokens: this.input.estimate.outputTokens }) -
      this.reservedMicros;
    if (need <= 0) return;
    this.topUps.push(await costControl.reserve(this.path, need, this.free()));
    this.reservedMicros += need;
  }

  /** Every target that may serve is priced at 0/0: no budget applies. */
  private free(): boolean {
    for (const p of this.prices.values()) if (p?.free !== true) return false;
    return true;
  }

  /** Who the request bills, for its trace; the budget decision says whether a budget cap applied on any level. */
  traceFacts(): TicketFacts {
    return {
      keyId: this.path.keyId,
      userId: this.path.userId,
      teamId: this.path.teamId,
      endUserId: this.path.endUserId,
      budgetDecision: this.path.capped ? "allowed" : "unbudgeted",
      captureContent: this.input.caller.kind === "key" ? this.input.caller.key.captureContent : null,
    };
  }

  /** Rate-limit state (docs/api.md#cross-cutting-rules), the same whichever route served. */
  headers(): Record<string, string> {
    return this.hold.headers;
  }

  settle(outcome: Outcome, served: Served<unknown, Route> | null, tried: Unserved<Route> | null): Settlement {
    if (this.settled) return ALREADY_SETTLED;
    const route = tried?.route ?? served?.route ?? null;
    const where: Where = {
      route,
      price: this.priceOf(route),
      attempt: served?.attempt ?? null,
      attempts: tried?.attempts ?? served?.attempt ?? null,
    };
    const extraCostMicros = outcome.extraMicros;
    switch (outcome.kind) {
      case "answered": {
        const { usage } = outcome;
        if (outcome.perRequest) {
          const fixedCostMicros = where.price ? Math.round(where.price.inputRate / 1_000_000) : 0;
          return this.finish({ usage, statusCode: 200, fixedCostMicros, extraCostMicros }, "success", where);
        }
        if (where.price && where.price.unit !== "token") {
          const fixedCostMicros = this.unitCost(where.price, outcome.units);
          return this.finish({ usage, statusCode: 200, fixedCostMicros, extraCostMicros }, "success", where);
        }
        // A completed call without usage is billed at the reservation estimate, as a stream would be
        // (docs/behaviour/streaming.md#settlement-of-a-stream, normal end without usage): it produced tokens, so it is
        // never free.
        if (usage) return this.finish({ usage, statusCode: 200, extraCostMicros }, "success", where);
        return this.finish(
          { usage: this.estimatedUsage(), estimated: true, statusCode: 200, extraCostMicros },
          "success",
          where,
        );
      }
      case "streamed":
        return this.settleStream(outcome.end, extraCostMicros, where);
      case "failed":
        // No charge unless tokens were produced or tools ran (docs/behaviour/streaming.md#settlement-of-a-stream), one
        // error row.
        return this.finish({ usage: outcome.usage, extraCostMicros, ...failureDetail(outcome.error) }, "error", where);
    }
  }

  /** The cost of an answer priced in a unit other than tokens; null (and a warning) when it reported none of it. */
  private unitCost(price: Price, units: UnitQuantities | null): number | null {
    const unit = price.unit as Exclude<PricingUnit, "token">;
    const quantity = units?.[unit];
    if (quantity !== undefined) return costMicros(quantity, 0, price.inputRate, 0);
    log.warn(`Pricing for '${price.modelKey}' is per ${unit}, but the answer reported no ${unit}s; cost left unknown`, {
      request_id: this.input.requestId,
    });
    return null;
  }

  /**
   * How a stream's ending becomes its usage row and budget settlement
   * (docs/behaviour/streaming.md#settlement-of-a-stream).
   */
  private settleStream(end: PumpEnd, extraCostMicros: number, where: Where): Settlement {
    const usage = end.usage;
    switch (end.kind) {
      case "completed":
        return end.usageSeen
          ? this.finish({ usage, statusCode: 200, extraCostMicros }, "success", where)
          : this.finish(
              { usage: this.estimatedUsage(), estimated: true, statusCode: 200, extraCostMicros },
              "success",
              where,
            );
      case "upstream_error": {
        const detail = failureDetail(end.error);
        if (end.usageSeen) return this.finish({ usage, ...detail, extraCostMicros }, "error", where);
        if (end.contentSeen)
          return this.finish(
            { usage: this.estimatedUsage(), estimated: true, ...detail, extraCostMicros },
            "error",
            where,
          );
        this.finish({ usage: null, ...detail, extraCostMicros }, "error", where);
        return ALREADY_SETTLED;
      }
      case "client_gone":
        if (end.cutAtShutdown) {
          const errorMessage = "stream cut at shutdown (grace period over)";
          return end.usageSeen
            ? this.finish({ usage, statusCode: 499, errorMessage, extraCostMicros }, "error", where)
            : this.finish(
                {
                  usage: this.estimatedUsage(),
                  estimated: true,
                  statusCode: 499,
                  errorMessage: `${errorMessage}; billed reservation estimate`,
                  extraCostMicros,
                },
                "error",
                where,
              );
        }
        return end.usageSeen
          ? this.finish(
              { usage, statusCode: 200, errorMessage: "client disconnected before end of stream", extraCostMicros },
              "success",
              where,
            )
          : this.finish(
              {
                usage: this.estimatedUsage(),
                estimated: true,
                statusCode: 499,
                errorMessage: "client disconnected; billed reservation estimate",
                extraCostMicros,
              },
              "error",
              where,
            );
    }
  }

  /**
   * Tokens the reservation assumed, for settlement without provider usage
   * (docs/behaviour/streaming.md#settlement-of-a-stream), within what a row can hold.
   */
  private estimatedUsage(): NormalizedUsage {
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

  /** Settles at actual usage (or releases when there is none and the call failed), then records the request. */
  private finish(bill: Bill, status: "success" | "error", where: Where): Settlement {
    this.settled = true;
    const u = bill.usage;
    const price = where.price;
    const prompt = u?.promptTokens ?? null;
    const completion = u?.completionTokens ?? null;
    const billable = u !== null && (prompt !== null || completion !== null);
    const tokensCost =
      bill.fixedCostMicros !== undefined
        ? bill.fixedCostMicros
        : billable && price
          ? costMicros(prompt ?? 0, completion ?? 0, price.inputRate, price.outputRate)
          : null;
    const extra = bill.extraCostMicros;
    const cost = extra > 0 ? (tokensCost ?? 0) + extra : tokensCost;
    const { costControl } = this.deps;
    // Top-ups go back first, so the cost comes out of the request's whole reservation.
    for (const r of this.topUps) costControl.release(r);
    let stamp: SpendStamp | null = null;
    if (billable || bill.fixedCostMicros !== undefined || extra > 0)
      stamp = costControl.settle(this.reservation, cost ?? 0);
    else costControl.release(this.reservation);
    // No prompt count means no total (moderations: prompt/total null, completion 0; docs/api.md#moderations).
    const total = u?.totalTokens ?? (prompt !== null ? prompt + (completion ?? 0) : null);
    // The concurrency slots go back here, whatever ended the request (settlement runs once on every path).
    this.hold.release(total ?? 0);
    const { path } = this;
    const first = this.firstTarget;
    const providerName = where.route?.providerName ?? first.providerName;
    const model = where.route?.model ?? first.model;
    if (!price && billable && bill.fixedCostMicros === undefined) this.warnUnpriced(`${providerName}:${model}`);
    this.record(
      usageRow({
        requestId: this.input.requestId,
        endpoint: this.input.endpoint,
        apiKeyId: path.keyId,
        userId: path.userId,
        endUserId: path.endUserId,
        teamId: path.teamId,
        timestamp: this.startedAt,
        provider: providerName,
        model,
        status,
        statusCode: bill.statusCode,
        errorMessage: bill.errorMessage,
        usage: { prompt, completion, total, source: u },
        costMicros: cost,
        estimated: bill.estimated,
        attempt: where.attempt,
        attempts: where.attempts,
        latencyMs: performance.now() - this.startedPerf,
        ttfbMs: this.firstByteMs,
        traceId: this.input.traceId,
      }),
      stamp,
    );
    return { costMicros: cost, headers: cost === null ? {} : { "X-Gateway-Cost-USD": microsToUsd(cost).toFixed(6) } };
  }

  /** The record stage: the usage row (journaled with the spend's number, so a crash cannot lose that spend), metrics. */
  private record(row: UsageRowInsert, stamp: SpendStamp | null): void {
    this.deps.usage.enqueue(row, stamp);
    this.deps.onSettled?.(row);
    logSettled(row);
  }

  private warnUnpriced(modelKey: string): void {
    if (warnedUnpriced.has(modelKey) || warnedUnpriced.size >= WARNED_UNPRICED_LIMIT) return;
    warnedUnpriced.add(modelKey);
    log.warn(`No pricing configured for '${modelKey}'. Usage will be tracked without cost.`, {
      request_id: this.input.requestId,
    });
  }

  /** X-Gateway-Budget-Remaining-USD after settlement: what the tightest capped level has left (absent without a cap). */
  async settledHeaders(): Promise<Record<string, string>> {
    if (!this.path.capped) return {};
    const left = await this.deps.costControl.remaining(this.reservation);
    return left === null ? {} : { "X-Gateway-Budget-Remaining-USD": microsToUsd(left).toFixed(6) };
  }

  error(err: unknown): unknown {
    return err;
  }
}
