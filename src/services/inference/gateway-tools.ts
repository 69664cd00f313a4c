/**
 * Gateway-only request fields (docs/api.md#chat-completions, docs/behaviour/tools.md): read by the gateway (the tool
 * loop, tool-loop/plan.ts) and never forwarded to a provider.
 */
import type { GatewayToolFields } from "../../core/schemas/gateway-tools";

/** The body without gateway-only fields, for providers that receive it verbatim (the body itself when it has none). */
export function withoutGatewayFields<T extends GatewayToolFields>(body: T): T {
  if (
    body.mcp_servers === undefined &&
    body.mcp_server_ids === undefined &&
    body.tools_header === undefined &&
    body.max_tool_iterations === undefined
  )
    return body;
  const copy = { ...body };
  delete copy.mcp_servers;
  delete copy.mcp_server_ids;
  delete copy.tools_header;
  delete copy.max_tool_iterations;
  return copy;
}
