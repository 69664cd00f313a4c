/**
 * The built-in tools on the inference routes (SPEC §9): the endpoint services ask `tools.plan(body)` at SPEC §3.1
 * step 7 (400s) and, when the request has gateway tools, hand the call to `relayToolLoop` (standalone) or to the
 * platform walker (src/services/platform) instead of a plain relay.
 *
 *   plan.ts       which tools, the §9.1 refusals, the cap, the purpose block
 *   runner.ts     the request's tool sessions and its tally (usage summed, tool calls counted and priced)
 *   loop.ts       the loop, JSON and streamed, over a protocol adapter
 *   chat.ts / messages.ts / responses.ts   the adapters (injected tools, purpose hints, turns, stream events)
 */
import type { Config } from "../../../config/load";
import type { NormalizedUsage } from "../../../core/wire/index";
import type { ProviderResult, ProviderStream } from "../../../providers/types";
import type { ToolBackend, ToolName } from "../../../tools/types";
import type { ToolSettings } from "../../../tools/index";
import type { Admission } from "../admission";
import type { SseFraming } from "../framing";
import type { PriceBook } from "../prices";
import { guarded, sseReply } from "../relay";
import type { Reply } from "../reply";
import type { Route } from "../routing";
import type { StreamSettings } from "../stream-settings";
import { settleStream } from "../stream-settlement";
import { clientDisconnected, runJsonLoop, ToolLoopStream } from "./loop";
import { planTools, TOOL_PRICE_PROVIDER, type ToolPlan } from "./plan";
import type { LoopProtocol } from "./protocol";
import { Tally, type ToolPrices, ToolRunner } from "./runner";

export { chatLoop } from "./chat";
export { clientDisconnected, maxIterationsExceeded, runJsonLoop, ToolLoopStream } from "./loop";
export { messagesLoop } from "./messages";
export * from "./plan";
export type { LoopProtocol } from "./protocol";
export { responsesLoop } from "./responses";
export { addUsage, parseArguments, Tally, type ToolCall, type ToolPrices, type ToolResult, ToolRunner } from "./runner";

/**
 * The tool settings of a Config: the env's, with `sandbox.embedded` from the YAML unless GATEWAY_SANDBOX_EMBEDDED
 * (or OTARI_SANDBOX_EMBEDDED) is set (env wins, SPEC §8.1).
 */
export function toolSettingsOf(config: Config): ToolSettings {
  const env = config.env;
  const envSet = ["OTARI_SANDBOX_EMBEDDED", "GATEWAY_SANDBOX_EMBEDDED"].some((k) => (env[k] ?? "").trim() !== "");
  return {
    ...config.envSettings,
    sandboxEmbedded: envSet ? config.envSettings.sandboxEmbedded : config.sandbox.embedded,
  };
}

export interface ToolLoopDeps {
  backends: Record<ToolName, ToolBackend | null>;
  config: Config;
  /** Standalone: the price book (tool calls priced under `otari:<tool>`); absent in platform mode. */
  prices?: PriceBook;
}

export function createGatewayTools(deps: ToolLoopDeps) {
  const hints = {
    sandboxPurposeHint: deps.config.envSettings.sandboxPurposeHint,
    webSearchPurposeHint: deps.config.envSettings.webSearchPurposeHint,
    toolsHeader: deps.config.envSettings.toolsHeader,
  };
  return {
    /** SPEC §3.1 step 7: the request's gateway tools (null: none), or the §9.1 400. */
    plan: (body: Parameters<typeof planTools>[0], mode: "standalone" | "platform" = "standalone"): ToolPlan | null =>
      planTools(body, { backends: deps.backends, hints }, mode),
    /**
     * A fresh tally with the plan's tools' per-call prices (SPEC §0: USD per million calls); `check` vets each
     * round's upstream usage.
     */
    async tally(plan: ToolPlan, check: (usage: NormalizedUsage) => NormalizedUsage, at = Date.now()): Promise<Tally> {
      const prices: ToolPrices = {};
      if (deps.prices) {
        for (const t of plan.tools) {
          const price = await deps.prices.lookup(
            [`${TOOL_PRICE_PROVIDER}:${t.name}`, `${TOOL_PRICE_PROVIDER}/${t.name}`],
            at,
          );
          if (price) prices[t.name] = price.inputRate;
        }
      }
      return new Tally(prices, check);
    },
  };
}

export type GatewayTools = ReturnType<typeof createGatewayTools>;

export interface LoopRelay<Req, Body, Ev> {
  protocol: LoopProtocol<Req, Body, Ev>;
  plan: ToolPlan;
  tally: Tally;
  /** The client's request, gateway-only fields removed. */
  request: Req;
  stream: boolean;
  /** One model call; `signal` aborts it (the client left). */
  call: (route: Route, req: Req, signal?: AbortSignal) => Promise<ProviderResult<Body>>;
  open: (route: Route, req: Req) => Promise<ProviderStream<Ev>>;
  framing: SseFraming<Ev>;
  /** The client's request signal: a JSON loop stops when it aborts. */
  signal?: AbortSignal;
}

/**
 * A standalone request with gateway tools: sessions opened before any byte (502 when a backend is unreachable),
 * every model call of a JSON loop through the routing plan (fallbacks allowed: nothing reached the client yet), a
 * streamed loop's first call through the plan and later rounds on the route that served. Each round reserves its
 * budget before it starts (refused: the 403, as an HTTP error or, mid-stream, the in-stream error). A JSON loop
 * whose client left stops at once. One settlement: usage summed over the rounds, plus the tool calls' cost.
 */
export async function relayToolLoop<Req, Body, Ev>(
  admission: Admission,
  streaming: StreamSettings,
  o: LoopRelay<Req, Body, Ev>,
): Promise<Reply> {
  const { protocol, plan, tally, signal } = o;
  const runner = await guarded(admission, () => ToolRunner.open(plan, tally));
  const beforeRound = (req: Req) =>
    admission.reserveRound(protocol.promptParts(req), tally.usageOrNull(), tally.toolCostMicros());
  if (!o.stream) {
    let result: ProviderResult<Body>;
    try {
      const call = (req: Req) => admission.attempt((route) => o.call(route, req, signal));
      result = await runJsonLoop({ protocol, plan, runner, request: o.request, call, beforeRound, signal });
    } catch (err) {
      const failure = signal?.aborted ? clientDisconnected() : err;
      admission.fail(failure, tally.usageOrNull(), false, tally.toolCostMicros());
      throw failure;
    } finally {
      await runner.close();
    }
    const settled = admission.succeed(tally.usageOrNull(), tally.toolCostMicros());
    const headers = { ...settled.headers, ...(await admission.budgetHeaders()) };
    return { kind: "json", body: result.body, raw: result.raw, headers };
  }
  const request = protocol.prepare(o.request, plan);
  let first: ProviderStream<Ev>;
  try {
    await beforeRound(request);
    first = await admission.attempt((route) => o.open(route, request));
  } catch (err) {
    await runner.close();
    admission.fail(err);
    throw err;
  }
  const stream = new ToolLoopStream<Req, Ev>({
    protocol,
    plan,
    runner,
    request,
    first,
    open: (req) => o.open(admission.route, req),
    beforeRound,
  });
  return sseReply(
    stream,
    streaming,
    o.framing,
    (end) => settleStream(admission, end, tally.toolCostMicros()).costMicros,
    admission.rateHeaders,
    () => stream.stopAfterRound(),
  );
}
