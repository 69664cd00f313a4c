/**
 * The provider contract (docs/behaviour/providers.md, docs/behaviour/streaming.md). A provider is a stateless object:
 * settings and the abort signal come in with every call, so one instance serves every configured deployment of its
 * kind. Providers import only src/core/**; they throw GatewayError (already mapped per
 * docs/behaviour/errors.md#provider-failures) and never see HTTP, config or the DB.
 *
 * How a caller streams (docs/behaviour/streaming.md#wire-formats, docs/behaviour/streaming.md#usage-in-streams):
 *   const stream = await provider.chatStream(req, settings, { signal });  // throws GatewayError -> ordinary HTTP error
 *   // resolved = the upstream's first event has arrived: now send the 200 and the head
 *   try { for await (const chunk of stream) write(chunk) }               // chunks as they arrive, never buffered
 *   catch (e) { ...mid-stream failure: write the route's error event... }
 *   stream.usage                                                          // merged usage, final after the loop
 *   await stream.cancel()                                                 // client gone / drain timeout: abort upstream
 */
import type {
  AnthropicEvent,
  AnthropicMessage,
  AnthropicRequest,
  Batch,
  BatchList,
  BatchResultItem,
  ChatChunk,
  ChatCompletion,
  ChatRequest,
  EmbeddingRequest,
  EmbeddingResponse,
  ModerationRequest,
  ModerationResponse,
  NormalizedUsage,
  ImageRequest,
  SpeechRequest,
  Transcription,
  TranscriptionRequest,
  ImageResponse,
  RerankRequest,
  RerankResponse,
  ResponsesEvent,
  ResponsesObject,
  ResponsesRequest,
} from "../core/wire/index.ts";

/** Everything a provider needs about one deployment; built by the caller from config (see buildProviderSettings). */
export interface ProviderSettings {
  /** Provider key or named instance (`providers` config key); used in messages and logs. */
  name: string;
  /** Credential; null for local servers (ollama, vllm...). */
  apiKey: string | null;
  /** Base URL without trailing slash, e.g. `https://api.openai.com/v1`. */
  apiBase: string;
  /** `client_args.custom_headers`: added to every upstream request, after the provider's own headers. */
  headers: Record<string, string>;
  /** Whole-call timeout for non-stream calls, and the longest silence between stream events (default 600 000). */
  timeoutMs: number;
  /** Longest wait for a stream's first event, connect included (default 120 000). */
  firstByteTimeoutMs: number;
  /** Largest response body read whole (JSON answers, error bodies); larger is a 502. */
  maxBodyBytes: number;
  /** Largest single stream event (SSE line or event, AWS eventstream message); larger fails the stream. */
  maxEventBytes: number;
  /** Gateway version for `User-Agent: otari-gateway/<version>`. */
  version: string;
  /**
   * Unknown keys of the provider's config entry (docs/behaviour/providers.md#provider-config-entries), e.g.
   * `api_version`.
   */
  extra: Record<string, unknown>;
}

/** Per-call options. */
export interface CallOptions {
  /** Aborting it cancels the upstream call; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Per-request upstream headers (e.g. the client's `anthropic-beta` on /v1/messages). */
  headers?: Record<string, string>;
}

/** A non-stream result: the body as the client will see it, plus what billing and logs need. */
export interface ProviderResult<T> {
  body: T;
  usage: NormalizedUsage;
  /** Upstream HTTP status (2xx). */
  status: number;
  /** Upstream response headers (request ids, provider rate-limit state). */
  headers: Headers;
  /**
   * The upstream's exact body text, present only while `body` is that text parsed and unchanged (a canonical body,
   * core/wire/canonical.ts): the relay then sends these bytes instead of serialising `body` again. Whoever returns a
   * different body (translated, usage summed) must leave it out.
   */
  raw?: string;
}

/**
 * An open upstream stream whose first event has already arrived (the promise that returned it is the
 * first-byte gate). Iterate it once; items come as the upstream sends them. Iteration throws a GatewayError on
 * an upstream failure after the first event (in-stream error event, broken connection, malformed data, or a
 * silence longer than `timeoutMs` -> 504).
 */
export interface ProviderStream<T> extends AsyncIterable<T> {
  /** Upstream HTTP status and headers of the stream's response. */
  readonly status: number;
  readonly headers: Headers;
  /**
   * Usage merged over every event so far (docs/behaviour/streaming.md#usage-in-streams); final once iteration has
   * ended.
   */
  readonly usage: NormalizedUsage;
  /**
   * True once an item carrying content (text, tool call, reasoning) was produced
   * (docs/behaviour/streaming.md#settlement-of-a-stream).
   */
  readonly contentSeen: boolean;
  /**
   * The upstream's exact text of the item last yielded, when the item is that text parsed and unchanged (canonical
   * chunks); undefined otherwise. Read it before asking for the next item. Streams that translate or rewrite their
   * items leave it out.
   */
  readonly raw?: string;
  /** Aborts the upstream request and ends iteration; safe to call more than once and after the end. */
  cancel(reason?: unknown): Promise<void>;
}

/** A batch of chat completions as the provider gets it: `model` bare, each body without it. */
export interface ProviderBatchCreate {
  model: string;
  requests: { custom_id: string; body: Record<string, unknown> }[];
  completion_window: string;
  metadata?: Record<string, string> | null;
}

/** The format the adapter's upstream speaks natively; "anthropic" means `/v1/messages` is forwarded as-is. */
export type ProviderWire = "openai" | "anthropic";

/** One model of a provider's listing, before the gateway prefixes `provider:`. */
export interface ProviderModel {
  id: string;
  created: number | null;
  ownedBy: string | null;
}

/**
 * An adapter has the members of what its upstream serves and no others: a missing member means the gateway answers
 * 400 without calling upstream. Members come in the sets of capabilities.ts (chat and messages, their streams,
 * both Responses calls); `supports(provider, "embeddings")` asks for one.
 */
export interface Provider {
  readonly name: string;
  readonly wire: ProviderWire;
  chat?(req: ChatRequest, settings: ProviderSettings, options?: CallOptions): Promise<ProviderResult<ChatCompletion>>;
  /**
   * Canonical chunks, ending with a usage-only chunk (`choices: []`) when usage is known, or with the usage on the
   * finish chunk where the upstream puts it there (Mistral); see chunkForClient.
   */
  chatStream?(req: ChatRequest, settings: ProviderSettings, options?: CallOptions): Promise<ProviderStream<ChatChunk>>;
  /** `/v1/messages`: native pass-through on Anthropic wire, translated through chat elsewhere. */
  messages?(
    req: AnthropicRequest,
    settings: ProviderSettings,
    options?: CallOptions,
  ): Promise<ProviderResult<AnthropicMessage>>;
  /** Anthropic events in order (message_start ... message_stop); the caller frames `event: <type>`. */
  messagesStream?(
    req: AnthropicRequest,
    settings: ProviderSettings,
    options?: CallOptions,
  ): Promise<ProviderStream<AnthropicEvent>>;
  embed?(
    req: EmbeddingRequest,
    settings: ProviderSettings,
    options?: CallOptions,
  ): Promise<ProviderResult<EmbeddingResponse>>;
  /** `body.results[i].provider_raw` carries the provider's own result when it had to be translated. */
  moderate?(
    req: ModerationRequest,
    settings: ProviderSettings,
    options?: CallOptions,
  ): Promise<ProviderResult<ModerationResponse>>;
  responses?(
    req: ResponsesRequest,
    settings: ProviderSettings,
    options?: CallOptions,
  ): Promise<ProviderResult<ResponsesObject>>;
  responsesStream?(
    req: ResponsesRequest,
    settings: ProviderSettings,
    options?: CallOptions,
  ): Promise<ProviderStream<ResponsesEvent>>;
  listModels?(settings: ProviderSettings, options?: CallOptions): Promise<ProviderModel[]>;
  /** Batches (docs/api.md#batches), answered in OpenAI's Batch shape whatever the upstream's own. */
  createBatch?(req: ProviderBatchCreate, settings: ProviderSettings, options?: CallOptions): Promise<Batch>;
  retrieveBatch?(id: string, settings: ProviderSettings, options?: CallOptions): Promise<Batch>;
  listBatches?(
    query: { after?: string; limit?: number },
    settings: ProviderSettings,
    options?: CallOptions,
  ): Promise<BatchList>;
  cancelBatch?(id: string, settings: ProviderSettings, options?: CallOptions): Promise<Batch>;
  /**
   * A finished batch's results, one item per request, read as the upstream sends them (never held whole). The
   * promise resolves once the upstream answered (its failures are ordinary GatewayErrors); iteration may still fail.
   */
  batchResults?(
    batch: Batch,
    settings: ProviderSettings,
    options?: CallOptions,
  ): Promise<AsyncIterable<BatchResultItem>>;
  /** Images generated from a prompt, in OpenAI's shape (core/wire/images.ts). */
  generateImages?(
    req: ImageRequest,
    settings: ProviderSettings,
    options?: CallOptions,
  ): Promise<ProviderResult<ImageResponse>>;
  /** Speech from text: the audio bytes as the upstream sends them (its `content-type` says the format). */
  speech?(
    req: SpeechRequest,
    settings: ProviderSettings,
    options?: CallOptions,
  ): Promise<ProviderResult<ReadableStream<Uint8Array>>>;
  /** Speech to text from an uploaded file, the answer in the format asked for (core/wire/audio.ts). */
  transcribe?(
    req: TranscriptionRequest,
    settings: ProviderSettings,
    options?: CallOptions,
  ): Promise<ProviderResult<Transcription>>;
  /** Documents ranked by relevance to a query, in the gateway's rerank shape (core/wire/rerank.ts). */
  rerank?(
    req: RerankRequest,
    settings: ProviderSettings,
    options?: CallOptions,
  ): Promise<ProviderResult<RerankResponse>>;
}
