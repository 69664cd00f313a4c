/**
 * What the one tool loop (loop.ts) needs from a wire protocol: chat completions, Anthropic messages and OpenAI
 * responses each implement it in a small adapter (chat.ts, messages.ts, responses.ts). The loop itself never looks
 * inside a request, body or stream event.
 */
import type { NormalizedUsage } from "../../../core/wire/index";
import type { ToolCall, ToolOffer, ToolResult } from "./runner";

export interface LoopProtocol<Req, Body, Ev> {
  /** The first request: the client's tools first, then the gateway's function tools; the purpose block placed
   * (docs/behaviour/tools.md#what-the-model-sees). */
  prepare(req: Req, offer: ToolOffer): Req;
  /** A JSON turn's tool calls when it ended in a tool-call stop; [] when it is an answer. */
  calls(body: Body): ToolCall[];
  /** The next round's request: the assistant turn (its calls) and one result per call appended. */
  next(req: Req, body: Body, results: readonly ToolResult[]): Req;
  /**
   * The body with the gateway's own calls removed, so the client sees only its tools' calls
   * (docs/behaviour/tools.md#the-loop).
   */
  handBack(body: Body, owns: (name: string) => boolean): Body;
  /** The body the client gets: the last turn with usage summed over every turn of the loop. */
  finalize(body: Body, turns: readonly Body[]): Body;
  /** Fresh state for a streamed loop (one per request, across its upstream streams). */
  streamState(): StreamLoopState<Req, Ev>;
  /** What a round's request sends as prompt, for its reservation estimate (src/services/inference/estimate.ts). */
  promptParts(req: Req): unknown[];
}

/**
 * A streamed loop as one client stream (docs/behaviour/tools.md#streamed-loops): the events of every round are
 * forwarded as they arrive, except the round's terminal events, which are held until the loop knows whether it goes on.
 */
export interface StreamLoopState<Req, Ev> {
  /** A round's upstream stream starts (1-based). */
  begin(round: number): void;
  /** One upstream event: what to send the client now (renumbered as one message); terminal events are held. */
  push(event: Ev): Ev[];
  /** Once the round's stream ended: its calls when it ended in a tool-call stop, else []. */
  calls(): ToolCall[];
  /** The held terminal events, to end the client's stream with this round, carrying `usage` (summed). */
  release(usage: NormalizedUsage): Ev[];
  /** The next round's request from what this round streamed and the results of its calls. */
  next(req: Req, results: readonly ToolResult[]): Req;
}

/** A tool-call stop: calls were made and the turn was not cut short (some servers say `stop` with calls). */
export const endsInToolCalls = (finish: string | null | undefined, calls: number): boolean =>
  calls > 0 && finish !== "length" && finish !== "content_filter" && finish !== "max_tokens";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Provider usage objects of several turns added up, whatever their wire (numbers summed, nested objects summed
 * the same way, anything else taken from the last turn). Null when no turn carried one.
 */
export function sumUsageObjects(usages: readonly unknown[]): Obj | null {
  const objects = usages.filter(isObj);
  if (objects.length === 0) return null;
  const out: Obj = {};
  for (const u of objects) {
    for (const [k, v] of Object.entries(u)) {
      const prev = out[k];
      if (typeof v === "number") out[k] = (typeof prev === "number" ? prev : 0) + v;
      else if (isObj(v)) out[k] = sumUsageObjects([prev, v].filter(isObj)) ?? v;
      else if (v !== null && v !== undefined) out[k] = v;
      else if (!(k in out)) out[k] = v;
    }
  }
  return out;
}
