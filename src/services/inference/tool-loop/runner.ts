/**
 * One request's tool sessions (docs/behaviour/tools.md#declaring-a-tool, docs/behaviour/tools.md#the-loop): opened
 * before the response starts (a backend that cannot be reached is the 502 of docs/behaviour/tools.md#refusals), one
 * call at a time, closed at the end whatever happened. A call's arguments are parsed as JSON (invalid -> `{}`); an
 * exception other than a transport failure becomes `[tool error] <message>`. It also keeps the request's tally: usage
 * summed over the loop's model calls and the tool calls made, for the one usage row (docs/behaviour/tools.md#billing).
 */
import { costMicros } from "../../../core/money";
import { emptyUsage, hasUsage, type NormalizedUsage } from "../../../core/wire/index";
import { logger } from "../../../runtime/logger";
import { TOOL_ERROR_PREFIX, ToolBackendUnreachable, type ToolName, type ToolSession } from "../../../tools/types";
import type { ToolPlan } from "./plan";

const log = logger("tool-loop");

/** A model's call of a tool, as the protocols carry it (arguments still a JSON string). */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface ToolResult {
  call: ToolCall;
  /**
   * The text for the model (docs/behaviour/tools.md#result-text, docs/behaviour/tools.md#web-search-backend;
   * `[tool error]` included).
   */
  output: string;
}

/**
 * Per-call price in µ$ per million calls (docs/behaviour/tools.md#billing: `otari:<tool>`'s input price), by tool;
 * absent = unpriced.
 */
export type ToolPrices = Partial<Record<ToolName, number>>;

const addField = (a: number | null, b: number | null): number | null =>
  a === null && b === null ? null : (a ?? 0) + (b ?? 0);

/** Usage of two model calls added field by field (null only when neither said anything). */
export function addUsage(a: NormalizedUsage, b: NormalizedUsage): NormalizedUsage {
  return {
    promptTokens: addField(a.promptTokens, b.promptTokens),
    completionTokens: addField(a.completionTokens, b.completionTokens),
    totalTokens: addField(a.totalTokens, b.totalTokens),
    cacheReadTokens: addField(a.cacheReadTokens, b.cacheReadTokens),
    cacheWriteTokens: addField(a.cacheWriteTokens, b.cacheWriteTokens),
    reasoningTokens: addField(a.reasoningTokens, b.reasoningTokens),
  };
}

/** What a request's loop has consumed so far: model usage over its calls, and gateway tool calls made. */
export class Tally {
  usage: NormalizedUsage = emptyUsage();
  readonly calls: Record<ToolName, number> = { code_execution: 0, web_search: 0 };

  /** `check`: each round's upstream usage is checked before it is added (src/services/inference/usage-guard.ts). */
  constructor(
    private readonly prices: ToolPrices = {},
    private readonly check: (usage: NormalizedUsage) => NormalizedUsage = (u) => u,
  ) {}

  addModel(usage: NormalizedUsage): void {
    this.usage = addUsage(this.usage, this.check(usage));
  }

  /** The summed usage, or null when no model call reported any. */
  usageOrNull(): NormalizedUsage | null {
    return hasUsage(this.usage) ? this.usage : null;
  }

  /** The tool calls' cost in µ$ (0 when no tool is priced). */
  toolCostMicros(): number {
    let total = 0;
    for (const name of Object.keys(this.calls) as ToolName[]) {
      const rate = this.prices[name];
      if (rate !== undefined && this.calls[name] > 0) total += costMicros(this.calls[name], 0, rate, 0);
    }
    return total;
  }
}

/** `work`, or the signal's reason as soon as it aborts (the work itself goes on until its owner stops it). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Parses a call's JSON arguments; anything that is not valid JSON is `{}` (docs/behaviour/tools.md#the-loop). */
export function parseArguments(text: string): unknown {
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

/** Told when a tool call starts; the function returned is told when it ends, with its failure if it failed (tracing). */
export type ToolCallObserver = (name: string, callId: string) => (error?: unknown) => void;

export class ToolRunner {
  private closed = false;

  private constructor(
    private readonly sessions: Map<string, ToolSession>,
    readonly tally: Tally,
    private readonly observe: ToolCallObserver | undefined,
  ) {}

  /** Opens a session per planned tool; if one fails, those already open are closed and the failure is thrown. */
  static async open(plan: ToolPlan, tally: Tally, observe?: ToolCallObserver): Promise<ToolRunner> {
    const sessions = new Map<string, ToolSession>();
    try {
      for (const tool of plan.tools) sessions.set(tool.name, await tool.backend.openSession(tool.options));
    } catch (err) {
      await Promise.all([...sessions.values()].map((s) => s.close()));
      throw err;
    }
    return new ToolRunner(sessions, tally, observe);
  }

  /** True when the gateway runs this function name (the model's call is "owned"). */
  owns(name: string): boolean {
    return this.sessions.has(name);
  }

  /**
   * Runs owned calls one after the other. A transport failure (ToolBackendUnreachable, a 502) is thrown. When
   * `signal` aborts (the client left), no further call starts and the one running is abandoned at once with the
   * signal's reason: closing the runner then ends it in its backend.
   */
  async run(calls: readonly ToolCall[], signal?: AbortSignal): Promise<ToolResult[]> {
    const out: ToolResult[] = [];
    for (const call of calls) {
      const session = this.sessions.get(call.name);
      if (!session) continue;
      signal?.throwIfAborted();
      this.tally.calls[call.name as ToolName]++;
      const ended = this.observe?.(call.name, call.id);
      let output: string;
      try {
        const running = session.run(parseArguments(call.arguments));
        output = await (signal ? untilAborted(running, signal) : running);
        ended?.();
      } catch (err) {
        ended?.(err);
        if (signal?.aborted) throw signal.reason;
        if (err instanceof ToolBackendUnreachable) {
          log.warn("tool backend unreachable", { tool: err.tool, reason: err.reason });
          throw err;
        }
        const message = err instanceof Error ? err.message : String(err);
        log.warn("tool call failed", { tool: call.name, error: message });
        output = `${TOOL_ERROR_PREFIX}${message}`;
      }
      out.push({ call, output });
    }
    return out;
  }

  /** Closes every session (never throws; safe to call twice). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.sessions.values()].map((s) => s.close().catch(() => undefined)));
  }
}
