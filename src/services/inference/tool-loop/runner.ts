/**
 * One request's tools (docs/behaviour/tools.md#the-loop): every source of the plan (built-in sessions, MCP servers) opened
 * together before the response starts (a backend or MCP server that cannot be reached is a 502), what the model is
 * offered, one call at a time dispatched to the source that offered its name, all closed at the end. A call's arguments are
 * parsed as JSON (invalid -> `{}`); an exception other than a transport failure becomes `[tool error] <message>`.
 * It also keeps the request's tally: usage summed over the loop's model calls and the tool calls made, for the
 * one usage row (docs/behaviour/tools.md#billing).
 */
import { costMicros } from "../../../core/money";
import { emptyUsage, hasUsage, type NormalizedUsage } from "../../../core/wire/index";
import { logger } from "../../../runtime/logger";
import {
  type FunctionToolDefinition,
  TOOL_ERROR_PREFIX,
  ToolBackendUnreachable,
  type ToolKind,
  ToolSet,
} from "../../../tools/index";
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

/** Per-call price in µ$ per million calls (docs/behaviour/tools.md#billing: `otari:<kind>`'s input price), by tool kind; absent = unpriced. */
export type ToolPrices = Partial<Record<ToolKind, number>>;

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
  readonly calls: Record<ToolKind, number> = { code_execution: 0, web_search: 0, mcp: 0 };

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
    for (const name of Object.keys(this.calls) as ToolKind[]) {
      const rate = this.prices[name];
      if (rate !== undefined && this.calls[name] > 0) total += costMicros(this.calls[name], 0, rate, 0);
    }
    return total;
  }
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

/** What the model is offered: the gateway's function tools and the purpose block (null: the prompt stays as it is). */
export interface ToolOffer {
  definitions: readonly FunctionToolDefinition[];
  purposeBlock: string | null;
  /** The client's `tools` entries the gateway took: every other entry is forwarded. */
  taken: ReadonlySet<unknown>;
}

/** Told when a tool call starts; the function returned is told when it ends, with its failure if it failed (tracing). */
export type ToolCallObserver = (name: string, callId: string) => (error?: unknown) => void;

export class ToolRunner {
  private closed = false;

  private constructor(
    private readonly tools: ToolSet,
    readonly tally: Tally,
    readonly offer: ToolOffer,
    private readonly observe: ToolCallObserver | undefined,
  ) {}

  /** Opens every source of the plan; if one fails, the others are closed and the failure is thrown. */
  static async open(plan: ToolPlan, tally: Tally, observe?: ToolCallObserver): Promise<ToolRunner> {
    const tools = await ToolSet.open(plan.sources);
    const offer = { definitions: tools.definitions, purposeBlock: plan.purposeBlock(tools.hints), taken: plan.taken };
    return new ToolRunner(tools, tally, offer, observe);
  }

  /** True when the gateway runs this function name (the model's call is "owned"). */
  owns(name: string): boolean {
    return this.tools.owns(name);
  }

  /**
   * Runs owned calls one after the other. A transport failure (ToolBackendUnreachable, a 502) is thrown. When
   * `signal` aborts (the client left), no further call starts and the one running is abandoned at once with the
   * signal's reason: closing the runner then ends it in its backend.
   */
  async run(calls: readonly ToolCall[], signal?: AbortSignal): Promise<ToolResult[]> {
    const out: ToolResult[] = [];
    for (const call of calls) {
      const kind = this.tools.kindOf(call.name);
      if (!kind) continue;
      signal?.throwIfAborted();
      this.tally.calls[kind]++;
      const ended = this.observe?.(call.name, call.id);
      let output: string;
      try {
        output = await this.tools.call(call.name, parseArguments(call.arguments), signal);
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

  /** Closes every source (never throws; safe to call twice). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tools.close();
  }
}
