/**
 * The built-in tools on the inference routes (docs/behaviour/tools.md): a mode's admission asks `tools.plan(body)`
 * among its route-specific checks (400s, docs/api.md#order-of-checks-on-an-inference-request); the pipeline
 * (src/services/inference/pipeline/run.ts) runs the loop when the request has gateway tools.
 *
 *   plan.ts       which tools, the refusals (docs/behaviour/tools.md#refusals), the cap, the purpose block
 *   runner.ts     the request's tool sessions and its tally (usage summed, tool calls counted and priced)
 *   loop.ts       the loop, JSON and streamed, over a protocol adapter
 *   chat.ts / messages.ts / responses.ts   the adapters (injected tools, purpose hints, turns, stream events)
 */
import type { Config } from "../../../config/load";
import type { ToolBackend, ToolName } from "../../../tools/types";
import type { ToolSettings } from "../../../tools/index";
import type { PriceBook } from "../prices";
import { planTools, TOOL_PRICE_PROVIDER, type ToolPlan } from "./plan";
import type { ToolPrices } from "./runner";

export { chatLoop } from "./chat";
export { clientDisconnected, maxIterationsExceeded, runJsonLoop, ToolLoopStream } from "./loop";
export { messagesLoop } from "./messages";
export * from "./plan";
export type { LoopProtocol } from "./protocol";
export { responsesLoop } from "./responses";
export { addUsage, parseArguments, Tally, type ToolCall, type ToolPrices, type ToolResult, ToolRunner } from "./runner";

/**
 * The tool settings of a Config: the env's, with `sandbox.embedded` from the YAML unless GATEWAY_SANDBOX_EMBEDDED
 * (or OTARI_SANDBOX_EMBEDDED) is set (env wins, docs/configuration.md#sources-and-precedence).
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
    /** The request's gateway tools (null: none), or the 400 of docs/behaviour/tools.md#refusals. */
    plan: (body: Parameters<typeof planTools>[0], mode: "standalone" | "platform" = "standalone"): ToolPlan | null =>
      planTools(body, { backends: deps.backends, hints }, mode),
    /**
     * The plan's tools' per-call prices (docs/behaviour/tools.md#billing: USD per million calls), priced under
     * `otari:<tool>`.
     */
    async prices(plan: ToolPlan, at = Date.now()): Promise<ToolPrices> {
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
      return prices;
    },
  };
}

export type GatewayTools = ReturnType<typeof createGatewayTools>;
