/**
 * The built-in tool loop (docs/behaviour/tools.md#the-loop), once for every protocol (see protocol.ts) and for both
 * modes: the caller supplies how a model call is made (standalone: through the admission's routing plan; platform: on
 * one attempt).
 *
 * JSON: call, run the owned calls, append, call again, until the model answers, hands foreign calls back, or the
 * cap is reached (422). Stream: one ProviderStream made of the rounds' streams, whose first event is the first
 * round's (so failures before it are ordinary HTTP errors); later failures are mid-stream errors.
 *
 * Every round is cleared before it starts (`beforeRound`: standalone reserves its budget, and refuses the round
 * when the cap would pass), and a loop whose client left starts nothing more: JSON loops stop at once (`signal`,
 * which also reaches the model call and the tool run in flight), streamed loops after the round in flight.
 */
import { GatewayError } from "../../../core/errors";
import { emptyUsage, type NormalizedUsage } from "../../../core/wire/index";
import type { ProviderResult, ProviderStream } from "../../../providers/types";
import type { ToolPlan } from "./plan";
import type { LoopProtocol } from "./protocol";
import { addUsage, type ToolResult, type ToolRunner } from "./runner";

/** The cap on rounds (docs/behaviour/tools.md#the-loop). */
export function maxIterationsExceeded(n: number): GatewayError {
  return new GatewayError(422, `Exceeded max_tool_iterations=${n}`, { code: "max_tool_iterations_exceeded" });
}

/** The client left a loop before it finished (its usage row's status; nobody reads the answer). */
export function clientDisconnected(): GatewayError {
  return new GatewayError(499, "Client disconnected before the tool loop finished", { code: "client_disconnected" });
}

export interface JsonLoopOptions<Req, Body, Ev> {
  protocol: LoopProtocol<Req, Body, Ev>;
  plan: ToolPlan;
  runner: ToolRunner;
  /** The client's request (gateway-only fields removed); the loop adds the tools and the purpose block. */
  request: Req;
  /** One model call. */
  call: (req: Req) => Promise<ProviderResult<Body>>;
  /**
   * Told once, when the first model response arrived (platform lock-in, docs/behaviour/platform-mode.md#tool-loops).
   */
  onFirstResponse?: () => void;
  /** Runs before each round's model call with its request (1-based); throwing ends the loop with that error. */
  beforeRound?: (req: Req, round: number) => Promise<void>;
  /** The client's request: once it aborts, no round or tool call starts and the one in flight is abandoned. */
  signal?: AbortSignal;
}

/** Runs the loop to its end; the result carries the final body and the usage summed over every round. */
export async function runJsonLoop<Req, Body, Ev>(o: JsonLoopOptions<Req, Body, Ev>): Promise<ProviderResult<Body>> {
  const { protocol, plan, runner } = o;
  let req = protocol.prepare(o.request, runner.offer);
  const turns: Body[] = [];
  for (let round = 1; ; round++) {
    o.signal?.throwIfAborted();
    await o.beforeRound?.(req, round);
    const result = await o.call(req);
    if (round === 1) o.onFirstResponse?.();
    runner.tally.addModel(result.usage);
    turns.push(result.body);
    const calls = protocol.calls(result.body);
    const owned = calls.filter((c) => runner.owns(c.name));
    const done = (body: Body): ProviderResult<Body> => {
      const out = protocol.finalize(body, turns);
      // The round's upstream text still describes the answer only when the answer is that round's body unchanged.
      const raw = out === result.body ? result.raw : undefined;
      return { body: out, usage: runner.tally.usage, status: result.status, headers: result.headers, raw };
    };
    if (owned.length === 0) return done(result.body);
    if (owned.length < calls.length) {
      // Foreign calls: the client runs its tools. The gateway's own calls still run (results discarded, as the
      // baseline does) and are removed from what the client sees.
      await runner.run(owned, o.signal);
      return done(protocol.handBack(result.body, (name) => runner.owns(name)));
    }
    if (round >= plan.maxIterations) throw maxIterationsExceeded(plan.maxIterations);
    req = protocol.next(req, result.body, await runner.run(owned, o.signal));
  }
}

export interface StreamLoopOptions<Req, Ev> {
  protocol: Pick<LoopProtocol<Req, never, Ev>, "streamState">;
  plan: ToolPlan;
  runner: ToolRunner;
  /** The first round's request, as prepared (`protocol.prepare`) and sent. */
  request: Req;
  /** The first round's stream, already open (its first event has arrived). */
  first: ProviderStream<Ev>;
  /** Opens a later round's stream (no fallback: the client has bytes already). */
  open: (req: Req) => Promise<ProviderStream<Ev>>;
  /** Runs before each later round opens (round >= 2); throwing ends the stream with that error (mid-stream). */
  beforeRound?: (req: Req, round: number) => Promise<void>;
}

/**
 * The rounds of a streamed loop as one ProviderStream: `usage` is summed over the rounds so far, `contentSeen`
 * is true once any round produced content. Tool sessions are closed when iteration ends, however it ends.
 */
export class ToolLoopStream<Req, Ev> implements ProviderStream<Ev> {
  private current: ProviderStream<Ev> | null;
  private seen = false;
  private cancelled = false;
  private stopping = false;
  /** Aborted when the client leaves: a tool call running then is abandoned (its session is closed at the end). */
  private readonly gone = new AbortController();

  constructor(private readonly o: StreamLoopOptions<Req, Ev>) {
    this.current = o.first;
  }

  get status(): number {
    return this.o.first.status;
  }

  get headers(): Headers {
    return this.o.first.headers;
  }

  get usage(): NormalizedUsage {
    return addUsage(this.o.runner.tally.usage, this.current?.usage ?? emptyUsage());
  }

  get contentSeen(): boolean {
    return this.seen || (this.current?.contentSeen ?? false);
  }

  /**
   * The client left: the model round in flight is read to its end (its usage is billed), a tool call in flight is
   * abandoned, no further round starts.
   */
  stopAfterRound(): void {
    this.stopping = true;
    this.gone.abort(new Error("client disconnected"));
  }

  async cancel(reason?: unknown): Promise<void> {
    this.cancelled = true;
    await Promise.all([this.current?.cancel(reason), this.o.runner.close()]);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Ev> {
    const { protocol, plan, runner } = this.o;
    const state = protocol.streamState();
    let req = this.o.request;
    let stream: ProviderStream<Ev> = this.o.first;
    try {
      for (let round = 1; ; round++) {
        this.current = stream;
        state.begin(round);
        for await (const event of stream) for (const out of state.push(event)) yield out;
        // The round is over: its usage moves into the tally.
        runner.tally.addModel(stream.usage);
        this.seen ||= stream.contentSeen;
        this.current = null;
        const calls = state.calls();
        const owned = calls.filter((c) => runner.owns(c.name));
        // An answer, or foreign calls for the client (the terminal events go through and the stream ends).
        if (owned.length === 0 || owned.length < calls.length || this.stopping || this.cancelled) {
          for (const out of state.release(runner.tally.usage)) yield out;
          return;
        }
        if (round >= plan.maxIterations) throw maxIterationsExceeded(plan.maxIterations);
        let results: ToolResult[];
        try {
          results = await runner.run(owned, this.gone.signal);
        } catch (err) {
          if (this.stopping) return;
          throw err;
        }
        if (this.cancelled || this.stopping) return;
        req = state.next(req, results);
        await this.o.beforeRound?.(req, round + 1);
        stream = await this.o.open(req);
        if (this.cancelled) {
          await stream.cancel("cancelled between tool rounds");
          return;
        }
      }
    } finally {
      await runner.close();
    }
  }
}
