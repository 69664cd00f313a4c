import { z } from "zod";
import {
  type AnthropicRequest,
  type AnthropicTool,
  type ChatRequest,
  GATEWAY_ONLY_FIELDS,
  anthropicMessageSchema,
} from "../../core/wire/index.ts";
import type { JsonObject } from "../_shared/openai-chat.ts";
import { type UpstreamRequest, joinUrl, requestJson } from "../_shared/http.ts";
import { openEventStream } from "../_shared/stream.ts";
import type { CallOptions, Provider, ProviderModel, ProviderSettings } from "../types.ts";
import { fromAnthropicMessage, fromAnthropicUsage } from "./from-anthropic.ts";
import { decodeAnthropicNative, decodeAnthropicToChunks } from "./stream.ts";
import { toAnthropicRequest } from "./to-anthropic.ts";

/** Anthropic Messages API (SPEC §5.4.1; https://docs.anthropic.com/en/api/messages). */

export const ANTHROPIC_VERSION = "2023-06-01";

function request(s: ProviderSettings, path: string, body?: unknown): UpstreamRequest {
  const headers: Record<string, string> = { "anthropic-version": ANTHROPIC_VERSION };
  if (s.apiKey) headers["x-api-key"] = s.apiKey;
  return { url: joinUrl(s.apiBase, path), method: body === undefined ? "GET" : "POST", body, headers };
}

/** /v1/messages accepts tools in OpenAI function shape too (SPEC §3.4); Anthropic only takes its own. */
function toNativeTool(tool: AnthropicTool): AnthropicTool {
  if (!tool.function) return tool;
  const { function: fn, type: _type, ...rest } = tool;
  const out: AnthropicTool = { ...rest, name: fn.name, input_schema: fn.parameters ?? { type: "object", properties: {} } };
  if (fn.description) out.description = fn.description;
  return out;
}

/** The client's body minus gateway-only fields, forwarded as-is otherwise. */
export function toPassthroughBody(req: AnthropicRequest, stream: boolean): JsonObject {
  const body: JsonObject = { ...req, stream };
  for (const key of [...GATEWAY_ONLY_FIELDS, "user"]) delete body[key];
  if (req.tools) body["tools"] = req.tools.map(toNativeTool);
  if (!stream) delete body["stream"];
  return body;
}

const modelListSchema = z.object({
  data: z.array(z.object({ id: z.string(), created_at: z.string().nullish() }).loose()),
});

export const anthropic: Provider = {
  name: "anthropic",
  wire: "anthropic",
  capabilities: {
    chat: true,
    stream: true,
    embeddings: false,
    moderations: false,
    responses: false,
    models: true,
    messagesPassthrough: true,
  },

  async chat(req: ChatRequest, s: ProviderSettings, o: CallOptions = {}) {
    const { body, jsonTool } = toAnthropicRequest(req, false);
    const res = await requestJson(request(s, "/v1/messages", body), anthropicMessageSchema, s, o, "inference");
    return { ...res, ...fromAnthropicMessage(res.body, jsonTool) };
  },

  async chatStream(req: ChatRequest, s: ProviderSettings, o: CallOptions = {}) {
    const { body, jsonTool } = toAnthropicRequest(req, true);
    return openEventStream(request(s, "/v1/messages", body), decodeAnthropicToChunks(jsonTool), s, o, "inference");
  },

  async messages(req: AnthropicRequest, s: ProviderSettings, o: CallOptions = {}) {
    const body = toPassthroughBody(req, false);
    const res = await requestJson(request(s, "/v1/messages", body), anthropicMessageSchema, s, o, "inference");
    return { ...res, usage: fromAnthropicUsage(res.body.usage) };
  },

  async messagesStream(req: AnthropicRequest, s: ProviderSettings, o: CallOptions = {}) {
    const body = toPassthroughBody(req, true);
    return openEventStream(request(s, "/v1/messages", body), decodeAnthropicNative, s, o, "inference");
  },

  async listModels(s: ProviderSettings, o: CallOptions = {}): Promise<ProviderModel[]> {
    const res = await requestJson(request(s, "/v1/models?limit=1000"), modelListSchema, s, o, "passthrough");
    return res.body.data.map((m) => {
      const created = m.created_at ? Date.parse(m.created_at) : Number.NaN;
      return { id: m.id, created: Number.isNaN(created) ? null : Math.floor(created / 1000), ownedBy: "anthropic" };
    });
  },
};
