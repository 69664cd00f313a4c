/**
 * `gateway mcp-probe --url URL [--name N] [--token T] [--allowed a,b] [--call TOOL [--args JSON]]` (hidden): opens
 * one MCP server exactly as a request's `mcp_servers` entry would be (the same URL rules, with this gateway's
 * GATEWAY_MCP_* settings, the same pinned connection and session), prints the tools it would offer the model and,
 * with --call, one call's result text, then closes the session. For checking a server from the machine the gateway
 * runs on, and for testing the compiled binary's MCP client.
 */
import { defineCommand } from "citty";
import { mcpServerConfig } from "../core/schemas/gateway-tools";
import { McpTools } from "../tools/mcp/index";
import { commonArgs } from "./_args";
import { fail, loadCliConfig, parseInput, UsageError } from "./_run";

export const mcpProbeCommand = defineCommand({
  meta: { name: "mcp-probe", description: "Internal: open one MCP server as a request would", hidden: true },
  args: {
    config: commonArgs.config,
    url: { type: "string", description: "The server's Streamable HTTP URL", required: true },
    name: { type: "string", description: "The server's name (prefixes its tools)", default: "probe" },
    token: { type: "string", description: "Sent as `Authorization: Bearer <token>` (https only)" },
    allowed: { type: "string", description: "Comma-separated allowed_tools" },
    call: { type: "string", description: "Call this tool (its offered name) and print the result" },
    args: { type: "string", description: "The call's arguments, a JSON object", default: "{}" },
  },
  run: async ({ args }) => {
    try {
      const config = loadCliConfig({ config: args.config });
      const server = parseInput(mcpServerConfig, {
        name: args.name,
        url: args.url,
        authorization_token: args.token,
        allowed_tools: args.allowed?.split(",").map((t) => t.trim()),
      });
      let callArgs: unknown;
      try {
        callArgs = JSON.parse(args.args);
      } catch {
        throw new UsageError("--args must be a JSON object");
      }
      const mcp = new McpTools(config.envSettings);
      const source = await mcp.open(await mcp.check([server]));
      try {
        const out: { tools: { name: string; description: string }[]; result?: string } = {
          tools: source.tools.map((t) => ({ name: t.name, description: t.description })),
        };
        if (args.call) out.result = await source.call(args.call, callArgs);
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      } finally {
        await source.close();
      }
    } catch (err) {
      fail(err, false);
    }
  },
});
