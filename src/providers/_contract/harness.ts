import { expect } from "bun:test";
import { GatewayError } from "../../core/errors.ts";
import type { ChatRequest } from "../../core/wire/index.ts";
import type { MockServer, RecordedRequest } from "../_mocks/index.ts";
import { type FailureRoute, PASSTHROUGH_ERROR, PROVIDER_ERROR, ProviderFailure } from "../_shared/errors.ts";
import type { Provider, ProviderSettings, ProviderStream } from "../types.ts";

/** What the chat scenarios (chat, its stream, /v1/messages) expect of one adapter. */
export interface ChatExpectations {
  /** Upstream path (with query) of a non-stream chat call, e.g. `/v1/chat/completions`; a function of the
   * model for wires that put it in the URL (Gemini, Bedrock, Azure deployments). */
  path: string | ((model: string) => string);
  /** The model as the upstream received it; default the body's `model` (Gemini and Bedrock use the path). */
  modelOf?: (req: RecordedRequest) => string | undefined;
  /** Canonical prompt_tokens for the mock's `cache` scenario (Anthropic adds cache reads and writes). */
  cachePromptTokens: number;
  /** Cache-write tokens the adapter can see in the `cache` scenario (null when the wire has none). */
  cacheWriteTokens: number | null;
  /** Cache-read tokens the adapter can see in the `cache` scenario: default the mock's; null when the wire reports
   * none (watsonx), so none may be invented. */
  cacheReadTokens?: number | null;
  /** The stream's usage rides on its finish chunk (Mistral) instead of a usage-only chunk after it. */
  usageOnFinish?: boolean;
}

/** Where an endpoint call goes upstream: the path (query included), or a function of the model. */
export type UpstreamPath = string | ((model: string) => string);

/** What the contract suite needs to know about one adapter and its mock. */
export interface ContractTarget {
  label: string;
  provider: Provider;
  startMock: () => MockServer;
  /** Adapter-specific settings on top of settingsFor (credentials in `extra`, a region...). */
  configure?: (settings: ProviderSettings) => ProviderSettings;
  /** Whether the provider's 429 carries a retry hint the gateway can forward (default true). When false the
   * suite checks that no Retry-After is invented. */
  retryHint?: boolean;
  /** The credential as the upstream received it (e.g. the Authorization or x-api-key header). */
  credentialOf: (req: RecordedRequest) => string | undefined;
  /**
   * Statuses the provider really uses, each checked against the table of docs/behaviour/errors.md#provider-failures on
   * every endpoint it has.
   */
  errorStatuses: number[];
  /**
   * One entry per capability the adapter has (and none for one it lacks: the suite checks both ways). Chat covers
   * chat, its stream and /v1/messages; embeddings expect `promptTokens` for the two-input call.
   */
  chat?: ChatExpectations;
  embeddings?: { path: UpstreamPath; promptTokens: number };
  moderations?: { path: UpstreamPath };
  responses?: { path: UpstreamPath };
  /**
   * `path`: where the rerank goes; what the mock's answer to the suite's call (a query, three documents, top 2)
   * reports: search units (Cohere) or tokens (the Jina / vLLM / Voyage shape), null when it reports none.
   */
  rerank?: { path: UpstreamPath; searchUnits: number | null; tokens: number | null };
  /** `path`: where image generation goes (the mock answers `n` images, with token usage). */
  images?: { path: UpstreamPath };
  /** `path`: where speech goes (the mock streams 1024 bytes per 16 characters of input). */
  speech?: { path: UpstreamPath };
  /** `path`: where transcriptions go (the mock's transcript names the file; its audio lasts size / 16000 s). */
  transcription?: { path: UpstreamPath };
  /** `path`: every listing request's path without its query; `ids`: the listing the mock's models give. */
  models?: { path: string; ids: string[] };
  /** `createCalls`: what a batch's creation sends upstream, in order (`POST /v1/files`...); `keepsMetadata`: whether
   * the provider stores the batch's metadata. */
  batches?: { createCalls: string[]; keepsMetadata: boolean };
  /**
   * The label of the target whose adapter has this one's transport, byte for byte (the same factory and decoders;
   * only the name, URLs or served endpoints differ): the timing scenarios (first-byte gate, no buffering, timeouts,
   * cancellation) run there and not again here. The coverage test checks the label exists.
   */
  timingCoveredBy?: string;
}

export const API_KEY = "sk-contract-test-key-123456";
export const VERSION = "9.9.9";

export function settingsFor(mock: MockServer, over: Partial<ProviderSettings> = {}): ProviderSettings {
  return {
    name: "contract",
    apiKey: API_KEY,
    apiBase: mock.apiBase,
    headers: { "x-custom-header": "custom-value" },
    timeoutMs: 5_000,
    firstByteTimeoutMs: 5_000,
    maxBodyBytes: 1024 * 1024,
    maxEventBytes: 256 * 1024,
    version: VERSION,
    extra: {},
    ...over,
  };
}

/** settingsFor plus the target's own configuration: what every contract call uses. */
export function targetSettings(
  t: ContractTarget,
  mock: MockServer,
  over: Partial<ProviderSettings> = {},
): ProviderSettings {
  const s = settingsFor(mock, over);
  return t.configure ? { ...t.configure(s), ...over } : s;
}

export const pathFor = (path: UpstreamPath, model: string): string => (typeof path === "function" ? path(model) : path);

export const upstreamModel = (c: ChatExpectations, req: RecordedRequest): string | undefined => {
  if (c.modelOf) return c.modelOf(req);
  const body = req.body as Record<string, unknown> | null;
  return typeof body?.["model"] === "string" ? body["model"] : undefined;
};

export const chatReq = (model: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model,
  messages: [{ role: "user", content: "Hi" }],
  max_tokens: 50,
  ...extra,
});

export async function drain<T>(stream: ProviderStream<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

/** The GatewayError a promise rejects with (fails the test when it resolves or throws something else). */
export async function gatewayError(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw new Error(`expected a GatewayError, got ${String(err)}`);
  }
  throw new Error("expected a GatewayError, but the call succeeded");
}

/**
 * The table of docs/behaviour/errors.md#provider-failures: upstream status -> [client status, client message or null
 * when the provider's text is shown]. The 5xx message is the inference routes'; pass-through routes (embeddings,
 * moderation, listing) say PASSTHROUGH.
 */
export const EXPECTED_MAPPING: Record<number, [number, string | null]> = {
  400: [400, null],
  401: [502, "The provider rejected the gateway's credentials"],
  402: [502, "The provider account has insufficient credit"],
  403: [502, "The provider rejected the gateway's credentials"],
  404: [404, null],
  413: [413, null],
  422: [400, null],
  429: [429, "The provider rate-limited this request"],
  500: [502, PROVIDER_ERROR],
  503: [502, PROVIDER_ERROR],
  529: [502, PROVIDER_ERROR],
};

/** The client status and message (null: the provider's own text) a route gives for an upstream status. */
export function expectedFailure(status: number, route: FailureRoute): [number, string | null] {
  const [clientStatus, message] = EXPECTED_MAPPING[status] ?? [502, PROVIDER_ERROR];
  return [clientStatus, route === "passthrough" && message === PROVIDER_ERROR ? PASSTHROUGH_ERROR : message];
}

/** Checks a mapped upstream failure: status, message, no leaked secret, the upstream status kept as the cause. */
export function expectMapped(err: GatewayError, status: number, route: FailureRoute, hinted: boolean): void {
  const [clientStatus, message] = expectedFailure(status, route);
  expect(err.status).toBe(clientStatus);
  if (message) expect(err.message).toBe(message);
  else expect(err.message.length).toBeGreaterThan(0);
  expect(err.message.length).toBeLessThanOrEqual(400);
  expect(err.message).not.toMatch(/sk-[A-Za-z0-9]/);
  expect(err.cause).toBeInstanceOf(ProviderFailure);
  expect((err.cause as ProviderFailure).upstreamStatus).toBe(status);
  if (status === 429) expect(err.headers["Retry-After"]).toBe(hinted ? "7" : undefined);
}
