/**
 * What differs between the gateway's modes, behind one interface the pipeline (run.ts) calls: standalone
 * governance (src/services/inference/standalone: keys, users, limits, budgets, routing with retries and
 * fallbacks, usage rows) and platform mode (src/services/platform: resolve through the platform, its attempts, usage
 * reports). The pipeline never asks which mode it runs in.
 */
import type { NormalizedUsage } from "../../../core/wire/index";
import type { ToolPlan } from "../tool-loop/plan";
import type { ToolPrices } from "../tool-loop/runner";
import type { Endpoint } from "./endpoint";
import type { TicketFacts } from "./trace";
import type { Attempted, InferenceCall, Outcome, Served, Settlement, Unserved, Upstream } from "./types";

/** The gateway tools a request may use, and their per-call prices. */
export interface ToolGrant {
  plan: ToolPlan;
  prices: ToolPrices;
}

/** One admitted request: how its upstream calls are tried, and how it settles. */
export interface Ticket<R extends Upstream> {
  /** The gateway tools the request asked for (null: none, or the endpoint takes none). */
  readonly tools: ToolGrant | null;
  /**
   * Tries the request's upstream call (a tool loop's first round) on the routes this mode allows, up to its first
   * byte: standalone retries and falls back, platform walks the resolved attempts. Never throws.
   */
  attempt<T>(call: (route: R) => Promise<T>, signal?: AbortSignal): Promise<Attempted<T, R>>;
  /**
   * A JSON tool loop's later round, after `served` answered the one before: standalone tries its routes again,
   * platform stays on the served attempt (locked in). Never throws.
   */
  again<T>(served: Served<unknown, R>, call: (route: R) => Promise<T>, signal?: AbortSignal): Promise<Attempted<T, R>>;
  /**
   * Clears a tool-loop round before it starts, given its prompt and what the request consumed so far (standalone
   * reserves the round's budget); throws the refusal. Absent: rounds need no clearance.
   */
  beforeRound?(
    promptParts: unknown[],
    spent: { usage: NormalizedUsage | null; extraMicros: number },
    served: Served<unknown, R> | null,
  ): Promise<void>;
  /** The reply's headers once `served` answered (rate-limit state; the platform's ids). */
  headers(served: Served<unknown, R>): Record<string, string>;
  /**
   * Settles the request and records it (usage row and metrics, or the platform's usage report): exactly once,
   * however often it is called. `served`: the last call that succeeded; `tried`: the call that failed, if one did.
   */
  settle(outcome: Outcome, served: Served<unknown, R> | null, tried: Unserved<R> | null): Settlement;
  /** Headers a JSON reply gets after settlement (the budget left). Absent: none. */
  settledHeaders?(): Promise<Record<string, string>>;
  /** Who the request bills and its key's content-capture setting, for its trace (trace.ts). Absent: unknown. */
  traceFacts?(): TicketFacts;
  /** The error the client gets for a failure after admission (platform mode adds the resolve's request id). */
  error(err: unknown): unknown;
}

/** A mode, as the pipeline uses it. `I`: who calls (identified by the HTTP layer); `R`: where a call goes. */
export interface ModePolicy<I, R extends Upstream> {
  /**
   * Admission: whether this caller may make this request and how it will be served, with the gateway tools it may
   * use (refused with a 400 before anything else that costs). Throws the refusal.
   */
  admit<In extends { model: string }, Req, Body, Ev, Q>(
    endpoint: Endpoint<In, Req, Body, Ev, Q>,
    call: InferenceCall<In, I, Q>,
  ): Promise<Ticket<R>>;
}
