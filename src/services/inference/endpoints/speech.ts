/**
 * POST /v1/audio/speech: the audio bytes streamed to the client as the provider sends them. Billed per character of
 * `input` when the model's price is per `character` (docs/behaviour/storage.md#units); otherwise its cost is left
 * unknown, since speech answers report no tokens.
 */
import type { NormalizedUsage, SpeechRequest } from "../../../core/wire/index";
import type { Endpoint } from "../pipeline/endpoint";
import { USER_REQUIRED } from "./chat";

/** Speech reports no tokens: nothing to bill by tokens (null prompt and completion). */
const NO_TOKENS: NormalizedUsage = {
  promptTokens: null,
  completionTokens: null,
  totalTokens: null,
  cacheReadTokens: null,
  cacheWriteTokens: null,
  reasoningTokens: null,
};

export const speech: Endpoint<SpeechRequest, SpeechRequest, ReadableStream<Uint8Array>> = {
  path: "/v1/audio/speech",
  operation: "speech",
  promptFields: ["input"],
  user: (body) => body.user,
  userRequired: USER_REQUIRED,
  estimate: (body) => ({ promptTokens: 0, outputTokens: 0, units: { character: body.input.length } }),
  upstream: ({ user: _user, ...rest }) => rest,
  json: "speech",
  bytes: true,
  billing: {
    usage: () => NO_TOKENS,
    perRequest: false,
    units: (_audio, request) => ({ character: (request as SpeechRequest).input.length }),
  },
};
