import type { AnthropicRequest, ChatRequest } from "../../core/wire/index.ts";
import { messagesStreamViaChat, messagesViaChat } from "../_shared/anthropic-bridge/index.ts";
import { readEventStream } from "../_shared/aws/eventstream.ts";
import { requestJson } from "../_shared/http.ts";
import { openFramedStream } from "../_shared/stream.ts";
import type { Capable } from "../capabilities.ts";
import type { CallOptions, ProviderSettings } from "../types.ts";
import { bedrockRequest } from "./api.ts";
import { converseResponseSchema, fromConverseResponse, toConverseRequest } from "./chat.ts";
import { decodeConverseStream } from "./stream.ts";

/**
 * AWS Bedrock through the Converse API (docs/behaviour/providers.md#aws-bedrock); /v1/messages is translated through
 * chat.
 */
export const bedrock: Capable<"chat" | "stream"> = {
  name: "bedrock",
  wire: "openai",

  async chat(req: ChatRequest, s: ProviderSettings, o: CallOptions = {}) {
    const { body, jsonTool } = toConverseRequest(req);
    const res = await requestJson(
      bedrockRequest(s, req.model, "converse", body),
      converseResponseSchema,
      s,
      o,
      "inference",
    );
    return { ...res, ...fromConverseResponse(res.body, req.model, jsonTool) };
  },

  async chatStream(req: ChatRequest, s: ProviderSettings, o: CallOptions = {}) {
    const { body, jsonTool } = toConverseRequest(req);
    const up = bedrockRequest(s, req.model, "converse-stream", body);
    return openFramedStream(up, readEventStream, decodeConverseStream(req.model, jsonTool), s, o, "inference");
  },

  messages: (req: AnthropicRequest, s: ProviderSettings, o?: CallOptions) => messagesViaChat(bedrock, req, s, o),
  messagesStream: (req: AnthropicRequest, s: ProviderSettings, o?: CallOptions) =>
    messagesStreamViaChat(bedrock, req, s, o),
};
