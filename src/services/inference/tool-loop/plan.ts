/**
 * Which gateway tools a request asks for (docs/behaviour/tools.md#declaring-a-tool) and what the loop needs to know
 * about them: the first entry of each `otari_*` type taken out of `tools` with its options, the refusals
 * (docs/behaviour/tools.md#refusals: 400, exact baseline texts, in the baseline's order), the cap on rounds, the
 * purpose block's header (docs/behaviour/tools.md#what-the-model-sees), and the request's MCP servers (inline
 * `mcp_servers`; `mcp_server_ids` are resolved by platform mode). Built-in tools and MCP servers combine freely: the
 * loop dispatches each call to the source that offered its name (src/tools/toolset.ts).
 */
import { badRequest } from "../../../core/errors";
import type { GatewayToolFields } from "../../../core/schemas/gateway-tools";
import { builtinSource, type McpServerConfig } from "../../../tools/index";
import {
  GATEWAY_TOOL_TYPES,
  type GatewayToolType,
  type PurposeHintSettings,
  type PurposeLine,
  renderPurposeBlock,
  resolvePurposeHint,
  TOOL_DEFINITIONS,
  type ToolBackend,
  type ToolEntryOptions,
  type ToolName,
  type ToolSource,
} from "../../../tools/types";

/** Gateway tool calls are priced under `otari:code_execution` / `otari:web_search` / `otari:mcp` (docs/behaviour/tools.md#billing). */
export const TOOL_PRICE_PROVIDER = "otari";

/** The cap on rounds (docs/behaviour/tools.md#the-loop). */
export const DEFAULT_MAX_TOOL_ITERATIONS = 10;
export const MAX_TOOL_ITERATIONS_CAP = 25;

export const SANDBOX_NOT_CONFIGURED =
  "otari_code_execution tool requested but no sandbox is configured on this gateway. Set GATEWAY_SANDBOX_URL on the gateway, or remove otari_code_execution from `tools`.";
export const WEB_SEARCH_NOT_CONFIGURED =
  "otari_web_search tool requested but no search backend is configured on this gateway. Set GATEWAY_WEB_SEARCH_URL on the gateway, or remove otari_web_search from `tools`.";

/** One gateway tool of a request. */
export interface PlannedTool {
  name: ToolName;
  backend: ToolBackend;
  options: ToolEntryOptions;
}

export interface ToolPlan {
  /** The built-in tools asked for. */
  tools: PlannedTool[];
  /** The request's inline MCP servers, as written (checked and opened by the gateway tools, index.ts). */
  mcpServers: McpServerConfig[];
  /** Platform mode: the registered MCP servers to resolve through the platform. */
  mcpServerIds: string[];
  /** Opens the request's tool sources (the built-ins' here; index.ts adds the MCP servers' once checked). */
  sources: (() => Promise<ToolSource>)[];
  /** Names an MCP tool must not be offered under: the built-ins' and the client's own functions. */
  reserved: ReadonlySet<string>;
  /** The `tools` entries the gateway took (by identity): every other entry is the client's and is forwarded. */
  taken: ReadonlySet<unknown>;
  maxIterations: number;
  /**
   * The block added to the system prompt (docs/behaviour/tools.md#what-the-model-sees) from the opened sources' lines; null when no source has a line
   * (MCP servers without a `purpose_hint`): the prompt is then left as it is.
   */
  purposeBlock(lines: readonly PurposeLine[]): string | null;
}

/** What planning reads besides the request: the backends (null = not configured) and the env hint chain. */
export interface ToolPlanSettings {
  backends: Record<ToolName, ToolBackend | null>;
  hints: PurposeHintSettings;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const names = (v: unknown): string[] | null =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : null;

/** The per-entry options (docs/behaviour/tools.md#declaring-a-tool); values of the wrong type are ignored. */
function entryOptions(entry: Obj): ToolEntryOptions {
  const max = entry.max_results;
  return {
    purposeHint: str(entry.purpose_hint),
    maxResults: typeof max === "number" && Number.isInteger(max) && max > 0 ? max : null,
    allowedDomains: names(entry.allowed_domains),
    blockedDomains: names(entry.blocked_domains),
  };
}

const isGatewayType = (t: unknown): t is GatewayToolType =>
  typeof t === "string" && Object.hasOwn(GATEWAY_TOOL_TYPES, t);

/** A client tool's function name in any of the three wires (chat nests it under `function`). */
function clientToolName(tool: unknown): string | null {
  if (!isObj(tool)) return null;
  return str(tool.name) ?? (isObj(tool.function) ? str(tool.function.name) : null);
}

/**
 * The request's gateway tools (built-ins and MCP servers), or null when it asks for none. Throws the 400s of
 * docs/behaviour/tools.md#refusals.
 * `mode` decides whether `mcp_server_ids` may be used (platform mode resolves them; standalone refuses them).
 */
export function planTools(
  body: GatewayToolFields & { tools?: unknown },
  settings: ToolPlanSettings,
  mode: "standalone" | "platform",
): ToolPlan | null {
  const mcpServerIds = body.mcp_server_ids ?? [];
  if (mcpServerIds.length && mode === "standalone")
    throw badRequest("mcp_server_ids is only available in platform mode", "invalid_request", "mcp_server_ids");
  const taken = new Map<ToolName, Obj>();
  const clientNames = new Set<string>();
  for (const tool of Array.isArray(body.tools) ? body.tools : []) {
    const type = isObj(tool) ? tool.type : null;
    // Only the first entry of each type is the gateway's; a repeated one is forwarded like any other tool.
    if (isObj(tool) && isGatewayType(type) && !taken.has(GATEWAY_TOOL_TYPES[type]))
      taken.set(GATEWAY_TOOL_TYPES[type], tool);
    else {
      const name = clientToolName(tool);
      if (name) clientNames.add(name);
    }
  }
  // Baseline order: the code tool's checks, then the web tool's.
  if (taken.has("code_execution") && !settings.backends.code_execution)
    throw badRequest(SANDBOX_NOT_CONFIGURED, "tool_not_configured", "tools");
  if (taken.has("web_search") && !settings.backends.web_search)
    throw badRequest(WEB_SEARCH_NOT_CONFIGURED, "tool_not_configured", "tools");
  const mcpServers = body.mcp_servers ?? [];
  if (taken.size === 0 && mcpServers.length === 0 && mcpServerIds.length === 0) return null;

  const tools: PlannedTool[] = [];
  for (const [name, entry] of taken) {
    const backend = settings.backends[name];
    if (backend) tools.push({ name, backend, options: entryOptions(entry) });
  }
  const sources = tools.map((t) =>
    builtinSource(t.backend, t.options, resolvePurposeHint(t.name, t.options.purposeHint, settings.hints)),
  );
  return {
    tools,
    mcpServers,
    mcpServerIds,
    sources,
    reserved: new Set([...clientNames, ...Object.keys(TOOL_DEFINITIONS)]),
    taken: new Set<unknown>(taken.values()),
    maxIterations: Math.min(body.max_tool_iterations ?? DEFAULT_MAX_TOOL_ITERATIONS, MAX_TOOL_ITERATIONS_CAP),
    purposeBlock: (lines) => (lines.length ? renderPurposeBlock(lines, body.tools_header, settings.hints) : null),
  };
}
