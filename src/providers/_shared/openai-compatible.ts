import { z } from "zod";
import {
  type AnthropicRequest,
  type ChatRequest,
  type EmbeddingRequest,
  GATEWAY_ONLY_FIELDS,
  type ModerationRequest,
  type ModerationResponse,
  type ImageRequest,
  imageResponseSchema,
  type RerankRequest,
  type SpeechRequest,
  type TranscriptionRequest,
  type TranscriptionResponse,
  transcriptionResponseSchema,
  type ResponsesRequest,
  chatCompletionSchema,
  embeddingResponseSchema,
  fromOpenAIUsage,
  moderationResponseSchema,
  responsesObjectSchema,
} from "../../core/wire/index.ts";
import { isCanonicalCompletion } from "../../core/wire/canonical.ts";
import { CAPABILITIES, CAPABILITY_MEMBERS, type Capability } from "../capabilities.ts";
import type { CallOptions, Provider, ProviderModel, ProviderSettings } from "../types.ts";
import { messagesStreamViaChat, messagesViaChat } from "./anthropic-bridge/index.ts";
import { malformedBodyError } from "./errors.ts";
import { type UpstreamRequest, joinUrl, requestBytes, requestJson, requestText } from "./http.ts";
import {
  type ChatBodyAdapter,
  type JsonObject,
  decodeOpenAIChunks,
  normalizeCompletion,
  toOpenAIBody,
} from "./openai-chat.ts";
import { openAIBatchMembers } from "./openai-batches.ts";
import { decodeResponsesEvents, fromResponsesUsage } from "./openai-responses.ts";
import { fromRerankUpstream, rerankBody, rerankUpstreamSchema } from "./rerank.ts";
import { openEventStream } from "./stream.ts";

/**
 * The OpenAI-compatible base (docs/behaviour/providers.md#openai-format-providers): most providers are a dialect object
 * on it. Paths are relative to the resolved base: /chat/completions, /embeddings, /moderations, /responses, /models,
 * /files and /batches, /rerank, /images/generations, /audio/speech, /audio/transcriptions.
 */
export interface OpenAIDialect {
  name: string;
  /** What the upstream serves beyond or instead of the default (chat, stream, embeddings, models: on; the rest off). */
  serves?: Partial<Record<Capability, boolean>>;
  /** Whether the upstream accepts `stream_options.include_usage` (default true; Mistral: false). */
  streamUsage?: boolean;
  /** The base the paths hang off, from the configured `api_base` (e.g. Ollama adds `/v1`). */
  resolveBase?: (settings: ProviderSettings) => string;
  /**
   * The full URL of `path` (`/chat/completions`, `/embeddings`...) for `model` (null for GET listings), when a
   * provider needs more than base + path (Azure: deployment in the path, api-version query). Wins over resolveBase.
   */
  resolveUrl?: (settings: ProviderSettings, path: string, model: string | null) => string;
  /** Auth headers; default `Authorization: Bearer <key>` when a key is set. */
  authHeaders?: (settings: ProviderSettings) => Record<string, string>;
  adaptChatBody?: ChatBodyAdapter;
  /** Extra embedding request fields the provider accepts beyond model/input/encoding_format/dimensions. */
  embeddingFields?: readonly string[];
  /** The embedding body in the provider's own spelling (applied last). */
  adaptEmbeddingBody?: (body: JsonObject) => JsonObject;
  /** The rerank body in the provider's own spelling (Voyage: `top_k`). */
  adaptRerankBody?: (body: JsonObject) => JsonObject;
  /** Provider moderation body -> OpenAI shape; default: the body is already OpenAI's. */
  adaptModeration?: (raw: unknown, model: string) => ModerationResponse;
}

const SERVED_BY_DEFAULT: Record<Capability, boolean> = {
  chat: true,
  stream: true,
  embeddings: true,
  moderations: false,
  responses: false,
  models: true,
  batches: false,
  rerank: false,
  images: false,
  speech: false,
  transcription: false,
};

const modelListSchema = z.object({
  data: z.array(z.object({ id: z.string(), created: z.number().nullish(), owned_by: z.string().nullish() }).loose()),
});

const bearer = (s: ProviderSettings): Record<string, string> =>
  s.apiKey ? { authorization: `Bearer ${s.apiKey}` } : {};

/** Drops gateway-only fields and `user` (consumed by the gateway) from a body forwarded verbatim. */
function withoutGatewayFields(body: JsonObject): JsonObject {
  const out: JsonObject = { ...body };
  for (const key of [...GATEWAY_ONLY_FIELDS, "user"]) delete out[key];
  return out;
}

/** The upload as the multipart form OpenAI takes: the file under its name, other fields as text (repeated as came). */
function transcriptionForm(req: TranscriptionRequest): FormData {
  const form = new FormData();
  for (const [key, value] of Object.entries(req)) {
    if (
      value === undefined ||
      value === null ||
      key === "user" ||
      (GATEWAY_ONLY_FIELDS as readonly string[]).includes(key)
    )
      continue;
    for (const item of Array.isArray(value) ? value : [value])
      if (item instanceof File) form.append(key, item, item.name);
      else form.append(key, String(item));
  }
  return form;
}

/** A JSON transcript, checked (a 502 when it is not one). */
function parseTranscript(text: string): TranscriptionResponse {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw malformedBodyError("passthrough", `not JSON (${text.slice(0, 80)})`, err);
  }
  const parsed = transcriptionResponseSchema.safeParse(json);
  if (!parsed.success) throw malformedBodyError("passthrough", parsed.error.message.slice(0, 300));
  return parsed.data;
}

/** The tokens a transcript reports (gpt-4o-transcribe); none for one billed by duration or in a text format. */
function transcriptUsage(json: TranscriptionResponse | null) {
  const usage = json?.usage;
  if (usage?.type !== "tokens") return fromOpenAIUsage(null);
  return fromOpenAIUsage({ prompt_tokens: usage.input_tokens, completion_tokens: usage.output_tokens });
}

export function createOpenAICompatibleProvider(dialect: OpenAIDialect): Provider {
  const serves = { ...SERVED_BY_DEFAULT, ...dialect.serves };
  const streamUsage = dialect.streamUsage ?? true;
  const base = (s: ProviderSettings) => (dialect.resolveBase ? dialect.resolveBase(s) : s.apiBase);
  const auth = dialect.authHeaders ?? bearer;
  const adapt = dialect.adaptChatBody ?? ((b: JsonObject) => b);
  const adaptEmbedding = dialect.adaptEmbeddingBody ?? ((b: JsonObject) => b);

  // base + path depends on the settings alone (which never change), so it is joined once per settings and path.
  const urls = new WeakMap<ProviderSettings, Map<string, string>>();
  function urlFor(s: ProviderSettings, path: string): string {
    let byPath = urls.get(s);
    if (!byPath) {
      byPath = new Map();
      urls.set(s, byPath);
    }
    let url = byPath.get(path);
    if (url === undefined) {
      url = joinUrl(base(s), path);
      byPath.set(path, url);
    }
    return url;
  }

  function request(s: ProviderSettings, path: string, body?: JsonObject): UpstreamRequest {
    const model = typeof body?.["model"] === "string" ? body["model"] : null;
    const url = dialect.resolveUrl ? dialect.resolveUrl(s, path, model) : urlFor(s, path);
    return { url, method: body === undefined ? "GET" : "POST", body, headers: auth(s) };
  }

  // Every member is written once; the adapter gets the members of what this upstream serves and no others.
  const members: Required<Omit<Provider, "name" | "wire">> = {
    async chat(req: ChatRequest, s: ProviderSettings, o: CallOptions = {}) {
      const body = adapt(toOpenAIBody(req, false, streamUsage));
      const res = await requestJson(
        request(s, "/chat/completions", body),
        chatCompletionSchema,
        s,
        o,
        "inference",
        isCanonicalCompletion,
      );
      // A canonical body needs no normalising (and must stay the text it was parsed from: `raw` goes out as is).
      const completion = res.raw === undefined ? normalizeCompletion(res.body) : res.body;
      return { ...res, body: completion, usage: fromOpenAIUsage(completion.usage) };
    },

    async chatStream(req: ChatRequest, s: ProviderSettings, o: CallOptions = {}) {
      const body = adapt(toOpenAIBody(req, true, streamUsage));
      return openEventStream(request(s, "/chat/completions", body), decodeOpenAIChunks, s, o, "inference");
    },

    messages: (req: AnthropicRequest, s: ProviderSettings, o?: CallOptions) => messagesViaChat(members, req, s, o),
    messagesStream: (req: AnthropicRequest, s: ProviderSettings, o?: CallOptions) =>
      messagesStreamViaChat(members, req, s, o),

    async embed(req: EmbeddingRequest, s: ProviderSettings, o: CallOptions = {}) {
      const body: JsonObject = { model: req.model, input: req.input };
      for (const key of ["encoding_format", "dimensions", ...(dialect.embeddingFields ?? [])])
        if (req[key] !== undefined && req[key] !== null) body[key] = req[key];
      const res = await requestJson(
        request(s, "/embeddings", adaptEmbedding(body)),
        embeddingResponseSchema,
        s,
        o,
        "passthrough",
      );
      // An embedding has no output, so the total is the input (Voyage reports only total_tokens).
      const prompt = res.body.usage?.prompt_tokens ?? res.body.usage?.total_tokens ?? null;
      const usage = fromOpenAIUsage({
        prompt_tokens: prompt,
        completion_tokens: 0,
        total_tokens: res.body.usage?.total_tokens,
      });
      return { ...res, usage };
    },

    async moderate(req: ModerationRequest, s: ProviderSettings, o: CallOptions = {}) {
      const body = { model: req.model, input: req.input };
      const schema = dialect.adaptModeration ? z.unknown() : moderationResponseSchema;
      const res = await requestJson(request(s, "/moderations", body), schema, s, o, "passthrough");
      const out = dialect.adaptModeration
        ? dialect.adaptModeration(res.body, req.model)
        : moderationResponseSchema.parse(res.body);
      return { ...res, body: out, usage: fromOpenAIUsage(null) };
    },

    async responses(req: ResponsesRequest, s: ProviderSettings, o: CallOptions = {}) {
      const body = { ...withoutGatewayFields(req), stream: false };
      const res = await requestJson(request(s, "/responses", body), responsesObjectSchema, s, o, "inference");
      return { ...res, usage: fromResponsesUsage(res.body.usage) };
    },

    async responsesStream(req: ResponsesRequest, s: ProviderSettings, o: CallOptions = {}) {
      const body = { ...withoutGatewayFields(req), stream: true };
      return openEventStream(request(s, "/responses", body), decodeResponsesEvents, s, o, "inference");
    },

    async generateImages(req: ImageRequest, s: ProviderSettings, o: CallOptions = {}) {
      const body = withoutGatewayFields(req);
      // Checked, then the upstream's bytes go to the client unchanged (images are large: not serialised again).
      const valid = (json: unknown) => imageResponseSchema.safeParse(json).success;
      const res = await requestJson(
        request(s, "/images/generations", body),
        imageResponseSchema,
        s,
        o,
        "passthrough",
        valid,
      );
      const usage = res.body.usage;
      return {
        ...res,
        usage: fromOpenAIUsage({
          prompt_tokens: usage?.input_tokens ?? null,
          completion_tokens: usage?.output_tokens ?? null,
          total_tokens: usage?.total_tokens ?? null,
        }),
      };
    },

    async speech(req: SpeechRequest, s: ProviderSettings, o: CallOptions = {}) {
      const res = await requestBytes(request(s, "/audio/speech", withoutGatewayFields(req)), s, o, "passthrough");
      return { ...res, usage: fromOpenAIUsage(null) };
    },

    async transcribe(req: TranscriptionRequest, s: ProviderSettings, o: CallOptions = {}) {
      const sent = { ...request(s, "/audio/transcriptions", {}), body: undefined, form: transcriptionForm(req) };
      const res = await requestText(sent, s, o, "passthrough");
      const contentType = res.headers.get("content-type") ?? "text/plain";
      const json = contentType.includes("json") ? parseTranscript(res.text) : null;
      return {
        status: res.status,
        headers: res.headers,
        body: { text: res.text, contentType, json },
        usage: transcriptUsage(json),
      };
    },

    async rerank(req: RerankRequest, s: ProviderSettings, o: CallOptions = {}) {
      const body = rerankBody(req);
      const sent = dialect.adaptRerankBody ? dialect.adaptRerankBody(body) : body;
      const res = await requestJson(request(s, "/rerank", sent), rerankUpstreamSchema, s, o, "passthrough");
      return fromRerankUpstream(res, req.model);
    },

    async listModels(s: ProviderSettings, o: CallOptions = {}): Promise<ProviderModel[]> {
      const res = await requestJson(request(s, "/models"), modelListSchema, s, o, "passthrough");
      return res.body.data.map((m) => ({ id: m.id, created: m.created ?? null, ownedBy: m.owned_by ?? null }));
    },

    ...openAIBatchMembers(request),
  };
  const served = CAPABILITIES.filter((c) => serves[c]).flatMap((c) => CAPABILITY_MEMBERS[c]);
  return { name: dialect.name, wire: "openai", ...Object.fromEntries(served.map((m) => [m, members[m]])) };
}
