import {
  type AnthropicRequest,
  type AnthropicTool,
  type ChatRequest,
  GATEWAY_ONLY_FIELDS,
  anthropicMessageSchema,
} from "../../../core/wire/index.ts";
import type { Capable } from "../../capabilities.ts";
import type { CallOptions, ProviderModel, ProviderSettings } from "../../types.ts";
import { type UpstreamRequest, requestJson } from "../http.ts";
import type { JsonObject } from "../openai-chat.ts";
import { openEventStream } from "../stream.ts";
import { fromAnthropicMessage, fromAnthropicUsage } from "./from-anthropic.ts";
import { decodeAnthropicNative, decodeAnthropicToChunks } from "./stream.ts";
import { toAnthropicRequest } from "./to-anthropic.ts";

/**
 * The Anthropic Messages wire (docs/behaviour/providers.md#anthropic-messages), shared by every host that serves it:
 * Anthropic itself, Azure Foundry (`azureanthropic`) and Vertex AI (`vertexaianthropic`,
 * docs/behaviour/providers.md#vertex-ai). Hosts differ in URL, auth and small body rules, given as an endpoint object;
 * translation and stream decoding are the same.
 */

export interface AnthropicEndpoint {
  name: string;
  /** URL of a Messages call for `model` (Vertex puts the model and the stream flavour in the URL). */
  messagesUrl(settings: ProviderSettings, model: string, stream: boolean): string | Promise<string>;
  /** Auth and version headers; may fetch (Vertex exchanges a service-account JWT for an access token). */
  auth(settings: ProviderSettings, options: CallOptions): Promise<Record<string, string>>;
  /** Host body rules applied last (Vertex: no `model`, `anthropic_version` in the body). */
  adaptBody?: (body: JsonObject) => JsonObject;
  listModels?: (settings: ProviderSettings, options: CallOptions) => Promise<ProviderModel[]>;
}

export const ANTHROPIC_VERSION = "2023-06-01";

export { fromAnthropicMessage, fromAnthropicUsage } from "./from-anthropic.ts";
export { anthropicStreamError, decodeAnthropicNative, decodeAnthropicToChunks } from "./stream.ts";
export { DEFAULT_MAX_TOKENS, toAnthropicRequest } from "./to-anthropic.ts";

/** /v1/messages accepts tools in OpenAI function shape too (docs/api.md#messages); Anthropic only takes its own. */
function toNativeTool(tool: AnthropicTool): AnthropicTool {
  if (!tool.function) return tool;
  const { function: fn, type: _type, ...rest } = tool;
  const out: AnthropicTool = {
    ...rest,
    name: fn.name,
    input_schema: fn.parameters ?? { type: "object", properties: {} },
  };
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

/** Chat and /v1/messages (JSON and stream) on every host; model listing where the host has one. */
export function createAnthropicWireProvider(endpoint: AnthropicEndpoint): Capable<"chat" | "stream"> {
  const adapt = endpoint.adaptBody ?? ((b: JsonObject) => b);
  async function request(
    s: ProviderSettings,
    o: CallOptions,
    model: string,
    body: JsonObject,
    stream: boolean,
  ): Promise<UpstreamRequest> {
    const url = await endpoint.messagesUrl(s, model, stream);
    return { url, body: adapt(body), headers: await endpoint.auth(s, o) };
  }

  const provider: Capable<"chat" | "stream"> = {
    name: endpoint.name,
    wire: "anthropic",

    async chat(req: ChatRequest, s: ProviderSettings, o: CallOptions = {}) {
      const { body, jsonTool } = toAnthropicRequest(req, false);
      const res = await requestJson(
        await request(s, o, req.model, body, false),
        anthropicMessageSchema,
        s,
        o,
        "inference",
      );
      return { ...res, ...fromAnthropicMessage(res.body, jsonTool) };
    },

    async chatStream(req: ChatRequest, s: ProviderSettings, o: CallOptions = {}) {
      const { body, jsonTool } = toAnthropicRequest(req, true);
      return openEventStream(
        await request(s, o, req.model, body, true),
        decodeAnthropicToChunks(jsonTool),
        s,
        o,
        "inference",
      );
    },

    async messages(req: AnthropicRequest, s: ProviderSettings, o: CallOptions = {}) {
      const up = await request(s, o, req.model, toPassthroughBody(req, false), false);
      const res = await requestJson(up, anthropicMessageSchema, s, o, "inference");
      return { ...res, usage: fromAnthropicUsage(res.body.usage) };
    },

    async messagesStream(req: AnthropicRequest, s: ProviderSettings, o: CallOptions = {}) {
      const up = await request(s, o, req.model, toPassthroughBody(req, true), true);
      return openEventStream(up, decodeAnthropicNative, s, o, "inference");
    },
  };
  if (endpoint.listModels) provider.listModels = endpoint.listModels;
  return provider;
}
