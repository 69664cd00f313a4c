/**
 * MCP servers as a tool source: a request's `mcp_servers` (inline, or resolved from `mcp_server_ids` by the
 * platform) are checked when the body is validated, then opened with the request's other tools.
 *
 *   const mcp = new McpTools(settings)                            // once, at start-up; loads nothing
 *   const servers = await mcp.check(body.mcp_servers)              // the URL rules (policy.ts): 422 on a refused entry
 *   const source = await mcp.open(servers, { reserved })           // one session per server (session.ts): 502 when one
 *                                                                  // cannot be opened; a ToolSource (../types.ts)
 *
 * The URL checks (DNS and the address rules) are imported by the first `check`, the SDK by the first `open`: a gateway
 * whose requests never name an MCP server loads neither.
 */
import type { EnvSettings } from "../../config/load";
import type { ToolSource } from "../types";
import type { CheckedMcpServer, McpServerConfig } from "./policy";
import type { McpTimeouts } from "./session";

export { McpServerUnreachable } from "./errors";
export type { CheckedMcpServer, McpServerConfig } from "./policy";
export type { McpTimeouts } from "./session";

/** The EnvSettings fields MCP reads. */
export type McpSettings = Pick<EnvSettings, "mcpAllowLoopback" | "mcpAllowPrivateHosts">;

export const DEFAULT_MCP_TIMEOUTS: McpTimeouts = { connectMs: 10_000, callMs: 60_000, closeMs: 5_000 };

export interface McpToolsOptions {
  timeouts?: Partial<McpTimeouts>;
  /** Resolver for the URL checks (tests); default: the system resolver. */
  resolve?: (host: string) => Promise<string[]>;
}

export class McpTools {
  private readonly timeouts: McpTimeouts;

  constructor(
    private readonly settings: McpSettings,
    private readonly options: McpToolsOptions = {},
  ) {
    this.timeouts = { ...DEFAULT_MCP_TIMEOUTS, ...options.timeouts };
  }

  /** A request's servers that may be connected to, each with its checked address; the 422 of the first refused. */
  async check(servers: readonly McpServerConfig[]): Promise<CheckedMcpServer[]> {
    const { checkMcpServers } = await import("./policy");
    return checkMcpServers(servers, {
      allowLoopback: this.settings.mcpAllowLoopback,
      allowPrivateHosts: this.settings.mcpAllowPrivateHosts,
      resolve: this.options.resolve,
    });
  }

  /**
   * Opens a session on each server and lists its tools; `reserved` are names the offered tools must not take (the
   * built-in tools', the client's own functions). Throws McpServerUnreachable (502) when a server cannot be opened.
   */
  async open(servers: readonly CheckedMcpServer[], o: { reserved?: ReadonlySet<string> } = {}): Promise<ToolSource> {
    const { openMcpSource } = await import("./session");
    return openMcpSource(servers, { timeouts: this.timeouts, reserved: o.reserved });
  }
}
