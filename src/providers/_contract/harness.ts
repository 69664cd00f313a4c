import { GatewayError } from "../../core/errors.ts";
import type { ChatRequest } from "../../core/wire/index.ts";
import type { MockServer, RecordedRequest } from "../_mocks/index.ts";
import type { Provider, ProviderSettings, ProviderStream } from "../types.ts";

/** What the contract suite needs to know about one adapter and its mock. */
export interface ContractTarget {
  label: string;
  provider: Provider;
  startMock: () => MockServer;
  /** Upstream path (with query) of a non-stream chat call, e.g. `/v1/chat/completions`; a function of the
   * model for wires that put it in the URL (Gemini, Bedrock, Azure deployments). */
  chatPath: string | ((model: string) => string);
  /** The model as the upstream received it; default the body's `model` (Gemini and Bedrock use the path). */
  modelOf?: (req: RecordedRequest) => string | undefined;
  /** Adapter-specific settings on top of settingsFor (credentials in `extra`, a region...). */
  configure?: (settings: ProviderSettings) => ProviderSettings;
  /** Whether the provider's 429 carries a retry hint the gateway can forward (default true). When false the
   * suite checks that no Retry-After is invented. */
  retryHint?: boolean;
  /** The credential as the upstream received it (e.g. the Authorization or x-api-key header). */
  credentialOf: (req: RecordedRequest) => string | undefined;
  /** Canonical prompt_tokens for the mock's `cache` scenario (Anthropic adds cache reads and writes). */
  cachePromptTokens: number;
  /** Cache-write tokens the adapter can see in the `cache` scenario (null when the wire has none). */
  cacheWriteTokens: number | null;
  /** Statuses the provider really uses, each checked against the SPEC §4.4 table. */
  errorStatuses: number[];
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

export const expectedChatPath = (t: ContractTarget, model: string): string =>
  typeof t.chatPath === "function" ? t.chatPath(model) : t.chatPath;

export const upstreamModel = (t: ContractTarget, req: RecordedRequest): string | undefined => {
  if (t.modelOf) return t.modelOf(req);
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

/** SPEC §4.4: upstream status -> [client status, client message or null when the provider's text is shown]. */
export const EXPECTED_MAPPING: Record<number, [number, string | null]> = {
  400: [400, null],
  401: [502, "The provider rejected the gateway's credentials"],
  402: [502, "The provider account has insufficient credit"],
  403: [502, "The provider rejected the gateway's credentials"],
  404: [404, null],
  413: [413, null],
  422: [400, null],
  429: [429, "The provider rate-limited this request"],
  500: [502, "LLM provider error"],
  503: [502, "LLM provider error"],
  529: [502, "LLM provider error"],
};
