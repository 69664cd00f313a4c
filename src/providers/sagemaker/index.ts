import { GatewayError } from "../../core/errors.ts";
import { isCanonicalCompletion } from "../../core/wire/canonical.ts";
import {
  type AnthropicRequest,
  type ChatRequest,
  chatCompletionSchema,
  fromOpenAIUsage,
} from "../../core/wire/index.ts";
import { messagesStreamViaChat, messagesViaChat } from "../_shared/anthropic-bridge/index.ts";
import { awsStreamException } from "../_shared/aws/errors.ts";
import { type EventStreamMessage, readEventStream } from "../_shared/aws/eventstream.ts";
import { ProviderFailure } from "../_shared/errors.ts";
import { requestJson } from "../_shared/http.ts";
import { decodeOpenAIChunks, normalizeCompletion, toOpenAIBody } from "../_shared/openai-chat.ts";
import { readSse } from "../_shared/sse.ts";
import { type StreamState, openFramedStream } from "../_shared/stream.ts";
import type { Capable } from "../capabilities.ts";
import type { CallOptions, ProviderSettings } from "../types.ts";
import { sagemakerRequest } from "./api.ts";

/**
 * Amazon SageMaker real-time endpoints serving the OpenAI chat wire (api.ts). A stream arrives as eventstream
 * `PayloadPart` frames whose bytes are the container's SSE, cut anywhere (a part may end mid-line), so the parts are
 * read as one byte stream. Exceptions in the stream: `ModelStreamError` (the container failed) and
 * `InternalStreamFailure`. Embeddings are not offered: an endpoint's embedding body is the container's own.
 */

const text = new TextDecoder();

/** Exception shape -> the status its failure is mapped as. */
const STREAM_EXCEPTION_STATUS: Record<string, number> = { modelstreamerror: 424, internalstreamfailure: 500 };

async function* payloadBytes(frames: AsyncIterable<EventStreamMessage>): AsyncGenerator<Uint8Array> {
  for await (const frame of frames) {
    const messageType = String(frame.headers[":message-type"] ?? "event");
    if (messageType === "exception") {
      const type = String(frame.headers[":exception-type"] ?? "InternalStreamFailure");
      throw awsStreamException(type, text.decode(frame.payload), STREAM_EXCEPTION_STATUS[type.toLowerCase()] ?? 500);
    }
    if (messageType === "error")
      throw new GatewayError(502, "LLM provider error", {
        code: "provider_error",
        cause: new ProviderFailure(
          `error frame in stream: ${String(frame.headers[":error-code"])}: ${String(frame.headers[":error-message"])}`,
          null,
        ),
      });
    if (frame.headers[":event-type"] === "PayloadPart") yield frame.payload;
  }
}

const decodePayloadParts = (maxEventBytes: number) => (frames: AsyncIterable<EventStreamMessage>, state: StreamState) =>
  decodeOpenAIChunks(readSse(payloadBytes(frames), maxEventBytes), state);

export const sagemaker: Capable<"chat" | "stream"> = {
  name: "sagemaker",
  wire: "openai",

  async chat(req: ChatRequest, s: ProviderSettings, o: CallOptions = {}) {
    const up = sagemakerRequest(s, req.model, "invocations", toOpenAIBody(req, false, true));
    const res = await requestJson(up, chatCompletionSchema, s, o, "inference", isCanonicalCompletion);
    // A canonical body needs no normalising (and must stay the text it was parsed from: `raw` goes out as is).
    const completion = res.raw === undefined ? normalizeCompletion(res.body) : res.body;
    return { ...res, body: completion, usage: fromOpenAIUsage(completion.usage) };
  },

  async chatStream(req: ChatRequest, s: ProviderSettings, o: CallOptions = {}) {
    const up = sagemakerRequest(s, req.model, "invocations-response-stream", toOpenAIBody(req, true, true));
    return openFramedStream(up, readEventStream, decodePayloadParts(s.maxEventBytes), s, o, "inference");
  },

  messages: (req: AnthropicRequest, s: ProviderSettings, o?: CallOptions) => messagesViaChat(sagemaker, req, s, o),
  messagesStream: (req: AnthropicRequest, s: ProviderSettings, o?: CallOptions) =>
    messagesStreamViaChat(sagemaker, req, s, o),
};
