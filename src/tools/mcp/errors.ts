/** The MCP backend's typed failures. */
import { GatewayError } from "../../core/errors";

/**
 * A request's MCP server could not be opened (connection refused, TLS or HTTP error, no answer in time, a broken
 * initialize or tools/list): the request fails before its first byte with a 502 naming the server and what happened.
 */
export class McpServerUnreachable extends GatewayError {
  readonly server: string;
  readonly reason: string;

  constructor(server: string, reason: string, cause?: unknown) {
    super(502, `MCP server '${server}' unreachable: ${reason}`, { code: "mcp_server_unreachable", cause });
    this.name = "McpServerUnreachable";
    this.server = server;
    this.reason = reason;
  }
}
