/**
 * The gateway tools on the inference routes (docs/behaviour/tools.md): a mode's admission asks `await tools.plan(body)`
 * among its route-specific checks (400s, MCP URL refusals 422s; docs/api.md#order-of-checks-on-an-inference-request); the pipeline (src/services/inference/pipeline/run.ts) runs the loop when
 * the request has gateway tools.
 *
 *   plan.ts       which tools, the refusals (docs/behaviour/tools.md#refusals), the cap, the purpose block
 *   runner.ts     the request's tool sources and its tally (usage summed, tool calls counted and priced)
 *   loop.ts       the loop, JSON and streamed, over a protocol adapter
 *   chat.ts / messages.ts / responses.ts   the adapters (injected tools, purpose hints, turns, stream events)
 */
import type { Config } from "../../../config/load";
import type { McpServerConfig, ToolBackends, ToolKind, ToolSettings } from "../../../tools/index";
import type { PriceBook } from "../prices";
import { planTools, TOOL_PRICE_PROVIDER, type ToolPlan } from "./plan";
import type { ToolPrices } from "./runner";

export { chatLoop } from "./chat";
export { clientDisconnected, maxIterationsExceeded, runJsonLoop, ToolLoopStream } from "./loop";
export { messagesLoop } from "./messages";
export * from "./plan";
export type { LoopProtocol } from "./protocol";
export { responsesLoop } from "./responses";
export {
  addUsage,
  parseArguments,
  Tally,
  type ToolCall,
  type ToolOffer,
  type ToolPrices,
  type ToolResult,
  ToolRunner,
} from "./runner";

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
  backends: ToolBackends;
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
    /**
     * The request's gateway tools (null: none), or a 400 of docs/behaviour/tools.md#refusals. MCP servers are checked here
     * against the URL rules (422 on a refused entry); platform mode passes `resolveIds`, which resolves
     * `mcp_server_ids` through the platform (the resolved servers pass the same rules, after the inline ones).
     */
    async plan(
      body: Parameters<typeof planTools>[0],
      mode: "standalone" | "platform" = "standalone",
      resolveIds?: (ids: string[]) => Promise<McpServerConfig[]>,
    ): Promise<ToolPlan | null> {
      const plan = planTools(body, { backends: deps.backends, hints }, mode);
      if (!plan) return null;
      const resolved = plan.mcpServerIds.length && resolveIds ? await resolveIds(plan.mcpServerIds) : [];
      const servers = [...plan.mcpServers, ...resolved];
      // `mcp_server_ids` that resolved to no server, and nothing else: no loop to run.
      if (servers.length === 0) return plan.tools.length ? plan : null;
      const checked = await deps.backends.mcp.check(servers);
      const open = () => deps.backends.mcp.open(checked, { reserved: plan.reserved });
      return { ...plan, mcpServers: servers, sources: [...plan.sources, open] };
    },
    /**
     * The plan's tools' per-call prices (docs/behaviour/tools.md#billing: USD per million calls), priced under
     * `otari:<kind>`.
     */
    async prices(plan: ToolPlan, at = Date.now()): Promise<ToolPrices> {
      const prices: ToolPrices = {};
      if (!deps.prices) return prices;
      const kinds: ToolKind[] = plan.tools.map((t) => t.name);
      if (plan.mcpServers.length) kinds.push("mcp");
      for (const kind of kinds) {
        const price = await deps.prices.lookup(
          [`${TOOL_PRICE_PROVIDER}:${kind}`, `${TOOL_PRICE_PROVIDER}/${kind}`],
          at,
        );
        if (price) prices[kind] = price.inputRate;
      }
      return prices;
    },
  };
}

export type GatewayTools = ReturnType<typeof createGatewayTools>;
