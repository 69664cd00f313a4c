/**
 * The built-in tools' public face: build the backends once from the settings (never from process.env) and hand
 * them to the tool loop. See types.ts for the contract.
 *
 *   const tools = createToolBackends(config.envSettings);  // at start-up; starts nothing
 *   tools.code_execution  // RemoteSandbox (GATEWAY_SANDBOX_URL), EmbeddedSandbox (default) or null (embedded off, no URL)
 *   tools.web_search      // WebSearch (GATEWAY_WEB_SEARCH_URL) or null
 *   tools.mcp             // McpTools: a request's MCP servers checked and opened (always available)
 *   await tools.shutdown() // on drain: stops the embedded sandbox's workers
 */
import type { EnvSettings } from "../config/load";
import { EmbeddedSandbox } from "./code-execution/embedded";
import { RemoteSandbox } from "./code-execution/remote";
import { McpTools } from "./mcp/index";
import type { ToolBackend, ToolName } from "./types";
import { WebSearch, webSearchOptions } from "./web-search/backend";

export * from "./types";
export { EmbeddedSandbox } from "./code-execution/embedded";
export { RemoteSandbox } from "./code-execution/remote";
export { type CheckedMcpServer, type McpServerConfig, McpServerUnreachable, McpTools } from "./mcp/index";
export { builtinSource, ToolSet } from "./toolset";
export { WebSearch, webSearchOptions } from "./web-search/backend";

/** The EnvSettings fields the tools read (docs/configuration.md#environment-only-variables). */
export type ToolSettings = Pick<
  EnvSettings,
  | "sandboxUrl"
  | "sandboxEmbedded"
  | "sandboxTimeoutS"
  | "sandboxMemoryMb"
  | "sandboxQueueTimeoutS"
  | "sandboxRequireConfinement"
  | "webSearchUrl"
  | "webSearchEngines"
  | "webSearchMaxResults"
  | "webSearchExtract"
  | "webSearchAllowPrivateHosts"
  | "mcpAllowLoopback"
  | "mcpAllowPrivateHosts"
>;

export type ToolBackends = Record<ToolName, ToolBackend | null> & { mcp: McpTools; shutdown(): Promise<void> };

/**
 * code_execution: the remote sandbox when `sandboxUrl` is set, else the embedded one unless `sandboxEmbedded` is
 * false (then null: the caller answers the 400 of docs/behaviour/tools.md#refusals). web_search: null without
 * `webSearchUrl` (the same 400). Invalid GATEWAY_WEB_SEARCH_MAX_RESULTS is reported once, here, through `warn`.
 */
export function createToolBackends(settings: ToolSettings, warn?: (message: string) => void): ToolBackends {
  const code_execution: ToolBackend | null = settings.sandboxUrl
    ? new RemoteSandbox({ baseUrl: settings.sandboxUrl })
    : settings.sandboxEmbedded
      ? new EmbeddedSandbox({
          timeoutS: settings.sandboxTimeoutS,
          memoryMb: settings.sandboxMemoryMb,
          queueTimeoutS: settings.sandboxQueueTimeoutS,
          requireConfinement: settings.sandboxRequireConfinement,
        })
      : null;
  const web_search = settings.webSearchUrl
    ? new WebSearch(webSearchOptions({ ...settings, webSearchUrl: settings.webSearchUrl }, warn))
    : null;
  return {
    code_execution,
    web_search,
    mcp: new McpTools(settings),
    shutdown: async () => {
      await Promise.all([code_execution?.shutdown(), web_search?.shutdown()]);
    },
  };
}
