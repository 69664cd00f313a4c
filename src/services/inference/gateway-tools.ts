/**
 * Gateway-only request fields (SPEC §3.3, §9): checked after admission (SPEC §3.1 step 7) and never forwarded.
 * The built-in tool loop and MCP are not wired into the inference services yet, so a request that asks for them
 * is refused plainly instead of being forwarded to a provider that would misread it.
 */
import { badRequest } from "../../core/errors";
import type { GatewayToolFields } from "../../core/schemas/gateway-tools";

const GATEWAY_TOOL_TYPES = new Set(["otari_code_execution", "otari_web_search"]);

export function refuseUnavailableTools(body: GatewayToolFields & { tools?: unknown }, mode: "standalone" | "platform" = "standalone"): void {
  if (body.mcp_server_ids?.length) {
    // Platform mode can resolve the ids (SPEC §10.2 item 8), but the MCP loop that would use them is not wired yet.
    if (mode === "platform") throw badRequest("mcp_server_ids is not supported by this gateway yet", "tool_not_configured", "mcp_server_ids");
    throw badRequest("mcp_server_ids is only available in platform mode", "invalid_request", "mcp_server_ids");
  }
  if (body.mcp_servers?.length) throw badRequest("mcp_servers is not supported by this gateway yet", "tool_not_configured", "mcp_servers");
  if (!Array.isArray(body.tools)) return;
  for (const tool of body.tools) {
    const type = tool && typeof tool === "object" && "type" in tool ? tool.type : null;
    if (typeof type === "string" && GATEWAY_TOOL_TYPES.has(type)) throw badRequest(`${type} is not available on this gateway yet`, "tool_not_configured", "tools");
  }
}

/** The body without gateway-only fields, for providers that receive it verbatim. */
export function withoutGatewayFields<T extends GatewayToolFields>(body: T): T {
  const copy = { ...body };
  delete copy.mcp_servers;
  delete copy.mcp_server_ids;
  delete copy.tools_header;
  delete copy.max_tool_iterations;
  return copy;
}
