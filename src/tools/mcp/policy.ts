/**
 * Which MCP server URLs a request may name. The URL comes from the client, so before anything connects:
 * - http or https only, and not plain http when an `authorization_token` is set (the token would travel in clear);
 * - every address the host resolves to passes the SSRF guard (../ssrf.ts), except that loopback is allowed unless
 *   GATEWAY_MCP_ALLOW_LOOPBACK=false; a name that does not resolve is refused;
 * - GATEWAY_MCP_ALLOW_PRIVATE_HOSTS=true turns the address checks off (not the scheme and token checks).
 * A refusal is a 422 whose message names the server, the host, the address, the reason and the variable that would
 * allow it; the URL itself is not repeated (its query may carry a secret). A server that passes keeps the address
 * that was checked: the session connects there and nowhere else.
 */
import type { z } from "zod";
import { validationError } from "../../core/errors";
import type { mcpServerConfig } from "../../core/schemas/gateway-tools";
import { type CheckedTarget, checkUrl, classifyAddress, SsrfBlocked } from "../ssrf";

export type McpServerConfig = z.infer<typeof mcpServerConfig>;

export const ALLOW_LOOPBACK_VARIABLE = "GATEWAY_MCP_ALLOW_LOOPBACK";
export const ALLOW_PRIVATE_VARIABLE = "GATEWAY_MCP_ALLOW_PRIVATE_HOSTS";

export interface McpUrlPolicy {
  allowLoopback: boolean;
  allowPrivateHosts: boolean;
  /** Resolver (tests); default: the system resolver, all answers. */
  resolve?: (host: string) => Promise<string[]>;
}

/** A request's MCP server that may be connected to, and where. */
export interface CheckedMcpServer {
  config: McpServerConfig;
  target: CheckedTarget;
}

/** The 422 of a refused entry, shaped like any body validation error (the entry's `url`, or `name`). */
function refused(index: number, field: "url" | "name", msg: string) {
  return validationError([{ type: "value_error", loc: ["body", "mcp_servers", index, field], msg }]);
}

async function checkOne(server: McpServerConfig, index: number, policy: McpUrlPolicy): Promise<CheckedMcpServer> {
  const who = `MCP server '${server.name}'`;
  let url: URL;
  try {
    url = new URL(server.url);
  } catch {
    throw refused(index, "url", `${who}: the url is not a valid URL`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw refused(index, "url", `${who}: only http and https URLs are allowed (scheme '${url.protocol.slice(0, -1)}')`);
  if (url.protocol === "http:" && server.authorization_token)
    throw refused(
      index,
      "url",
      `${who}: plain http is refused when an authorization_token is set (host '${host}'); use https`,
    );
  try {
    const target = await checkUrl(url, {
      allowPrivate: policy.allowPrivateHosts,
      overrideVariable: ALLOW_PRIVATE_VARIABLE,
      resolve: policy.resolve,
      classify: (address) => {
        const reason = classifyAddress(address);
        return reason === "loopback" && policy.allowLoopback ? null : reason;
      },
    });
    return { config: server, target };
  } catch (err) {
    if (!(err instanceof SsrfBlocked)) throw err;
    if (err.reason === "unresolvable host")
      throw refused(
        index,
        "url",
        `${who}: host '${host}' does not resolve (unresolvable hosts are refused; ${ALLOW_PRIVATE_VARIABLE}=true disables the address checks)`,
      );
    const where =
      err.address && err.address !== host ? `host '${host}' resolves to ${err.address}, which is` : `host '${host}' is`;
    const fix =
      err.reason === "loopback"
        ? `loopback MCP servers are refused while ${ALLOW_LOOPBACK_VARIABLE}=false`
        : `set ${ALLOW_PRIVATE_VARIABLE}=true to allow private and local hosts`;
    throw refused(index, "url", `${who}: ${where} ${err.reason}; ${fix}`);
  }
}

/**
 * Checks a request's MCP servers (in parallel: one DNS lookup each); throws the 422 of the first refused entry.
 * Names must be unique: they prefix the tools' names and label the servers' purpose lines.
 */
export async function checkMcpServers(
  servers: readonly McpServerConfig[],
  policy: McpUrlPolicy,
): Promise<CheckedMcpServer[]> {
  const seen = new Set<string>();
  servers.forEach((s, i) => {
    if (seen.has(s.name)) throw refused(i, "name", `MCP server name '${s.name}' is used by more than one entry`);
    seen.add(s.name);
  });
  const settled = await Promise.allSettled(servers.map((s, i) => checkOne(s, i, policy)));
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
  return settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
}
