/**
 * Gateway-only request fields shared by chat, messages and responses (docs/api.md#chat-completions,
 * docs/behaviour/tools.md): never forwarded upstream.
 */
import { z } from "zod";

export const mcpServerConfig = z
  .object({
    name: z.string().min(1).max(128),
    url: z.string().url(),
    authorization_token: z.string().nullish(),
    purpose_hint: z.string().max(2000).nullish(),
    allowed_tools: z.array(z.string()).nullish(),
  })
  .meta({ id: "McpServerConfig" });

export const gatewayToolFields = {
  mcp_servers: z.array(mcpServerConfig).nullish().describe("Inline MCP servers whose tools the gateway runs"),
  mcp_server_ids: z.array(z.uuid()).nullish().describe("Platform-registered MCP servers (platform mode only)"),
  tools_header: z.string().max(4000).nullish().describe("Lead-in of the tool hint block added to the system prompt"),
  max_tool_iterations: z
    .number()
    .int()
    .min(1)
    .max(25)
    .nullish()
    .describe("Cap on gateway tool-loop rounds (default 10)"),
};

export type GatewayToolFields = { [K in keyof typeof gatewayToolFields]?: z.infer<(typeof gatewayToolFields)[K]> };
