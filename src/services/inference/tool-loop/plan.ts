/**
 * Which gateway tools a request asks for (docs/behaviour/tools.md#declaring-a-tool) and what the loop needs to know
 * about them: the first entry of each `otari_*` type taken out of `tools` with its options, the refusals
 * (docs/behaviour/tools.md#refusals: 400, exact baseline texts, in the baseline's order), the cap on rounds, and the
 * purpose-hint block (docs/behaviour/tools.md#what-the-model-sees). MCP is not run by this gateway: `mcp_servers` stays
 * a 400 of its own (after the combination rules, whose texts name it).
 */
import { badRequest } from "../../../core/errors";
import type { GatewayToolFields } from "../../../core/schemas/gateway-tools";
import {
  GATEWAY_TOOL_TYPES,
  type GatewayToolType,
  type PurposeHintSettings,
  renderPurposeBlock,
  resolvePurposeHint,
  type ToolBackend,
  type ToolEntryOptions,
  type ToolName,
} from "../../../tools/types";

/**
 * Gateway tool calls are priced under `otari:code_execution` / `otari:web_search` (docs/behaviour/tools.md#billing).
 */
export const TOOL_PRICE_PROVIDER = "otari";

/** The cap on rounds (docs/behaviour/tools.md#the-loop). */
export const DEFAULT_MAX_TOOL_ITERATIONS = 10;
export const MAX_TOOL_ITERATIONS_CAP = 25;

export const SANDBOX_NOT_CONFIGURED =
  "otari_code_execution tool requested but no sandbox is configured on this gateway. Set GATEWAY_SANDBOX_URL on the gateway, or remove otari_code_execution from `tools`.";
export const WEB_SEARCH_NOT_CONFIGURED =
  "otari_web_search tool requested but no search backend is configured on this gateway. Set GATEWAY_WEB_SEARCH_URL on the gateway, or remove otari_web_search from `tools`.";
export const SANDBOX_MCP_CONFLICT =
  "otari_code_execution and mcp_servers cannot be combined in the same request yet; pick one. Multi-backend dispatch is a planned refinement.";
export const WEB_SEARCH_CONFLICT =
  "otari_web_search cannot be combined with otari_code_execution or mcp_servers in the same request yet; pick one.";

/** One gateway tool of a request. */
export interface PlannedTool {
  name: ToolName;
  backend: ToolBackend;
  options: ToolEntryOptions;
}

export interface ToolPlan {
  tools: PlannedTool[];
  /** The `tools` entries the gateway took (by identity): every other entry is the client's and is forwarded. */
  taken: ReadonlySet<unknown>;
  maxIterations: number;
  /** The block added to the system prompt (docs/behaviour/tools.md#what-the-model-sees). */
  purposeBlock: string;
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

/**
 * The request's gateway tools, or null when it asks for none (then MCP fields are still refused as before).
 * Throws the 400s of docs/behaviour/tools.md#refusals. `mode` decides the text for `mcp_server_ids` (standalone:
 * platform-only field).
 */
export function planTools(
  body: GatewayToolFields & { tools?: unknown },
  settings: ToolPlanSettings,
  mode: "standalone" | "platform",
): ToolPlan | null {
  if (body.mcp_server_ids?.length) {
    if (mode === "platform")
      throw badRequest("mcp_server_ids is not supported by this gateway yet", "tool_not_configured", "mcp_server_ids");
    throw badRequest("mcp_server_ids is only available in platform mode", "invalid_request", "mcp_server_ids");
  }
  const taken = new Map<ToolName, Obj>();
  for (const tool of Array.isArray(body.tools) ? body.tools : []) {
    const type = isObj(tool) ? tool.type : null;
    // Only the first entry of each type is the gateway's; a repeated one is forwarded like any other tool.
    if (isObj(tool) && isGatewayType(type) && !taken.has(GATEWAY_TOOL_TYPES[type]))
      taken.set(GATEWAY_TOOL_TYPES[type], tool);
  }
  const mcp = (body.mcp_servers?.length ?? 0) > 0;
  // Baseline order: the code tool's checks, then the web tool's.
  if (taken.has("code_execution")) {
    if (!settings.backends.code_execution) throw badRequest(SANDBOX_NOT_CONFIGURED, "tool_not_configured", "tools");
    if (mcp) throw badRequest(SANDBOX_MCP_CONFLICT, "invalid_request", "tools");
  }
  if (taken.has("web_search")) {
    if (!settings.backends.web_search) throw badRequest(WEB_SEARCH_NOT_CONFIGURED, "tool_not_configured", "tools");
    if (taken.has("code_execution") || mcp) throw badRequest(WEB_SEARCH_CONFLICT, "invalid_request", "tools");
  }
  if (mcp) throw badRequest("mcp_servers is not supported by this gateway yet", "tool_not_configured", "mcp_servers");
  if (taken.size === 0) return null;

  const tools: PlannedTool[] = [];
  for (const [name, entry] of taken) {
    const backend = settings.backends[name];
    if (backend) tools.push({ name, backend, options: entryOptions(entry) });
  }
  const hints = tools.map((t) => ({
    name: t.name,
    hint: resolvePurposeHint(t.name, t.options.purposeHint, settings.hints),
  }));
  return {
    tools,
    taken: new Set<unknown>(taken.values()),
    maxIterations: Math.min(body.max_tool_iterations ?? DEFAULT_MAX_TOOL_ITERATIONS, MAX_TOOL_ITERATIONS_CAP),
    purposeBlock: renderPurposeBlock(hints, body.tools_header, settings.hints),
  };
}
