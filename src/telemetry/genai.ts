/**
 * Gateway facts as span attributes, named by the OpenTelemetry GenAI semantic conventions (semantic-conventions-genai
 * v0.1.0; the gen_ai.* names these helpers use are the same since semantic-conventions v1.37) plus the gateway's own
 * under `gateway.`. docs/tracing.md lists them and which are still experimental upstream. The `set*Attributes`
 * helpers write to any AttributeSink: a span, or an encoder expanding a span's deferred attributes (Span.setDeferred),
 * so callers check `span.recording` before building facts for them.
 */
import type {
  AnthropicMessage,
  AnthropicRequest,
  ChatChoice,
  ChatMessage,
  ChatRequest,
  EmbeddingRequest,
  NormalizedUsage,
} from "../core/wire";
import type { Redactor } from "./redaction";
import type { AttributeSink, Span } from "./span";

/** Attribute names: the conventions' and the gateway's. */
export const ATTR = {
  operationName: "gen_ai.operation.name",
  providerName: "gen_ai.provider.name",
  requestModel: "gen_ai.request.model",
  requestStream: "gen_ai.request.stream",
  requestMaxTokens: "gen_ai.request.max_tokens",
  requestTemperature: "gen_ai.request.temperature",
  requestTopP: "gen_ai.request.top_p",
  requestTopK: "gen_ai.request.top_k",
  requestFrequencyPenalty: "gen_ai.request.frequency_penalty",
  requestPresencePenalty: "gen_ai.request.presence_penalty",
  requestStopSequences: "gen_ai.request.stop_sequences",
  requestSeed: "gen_ai.request.seed",
  requestChoiceCount: "gen_ai.request.choice.count",
  requestEncodingFormats: "gen_ai.request.encoding_formats",
  embeddingsDimensionCount: "gen_ai.embeddings.dimension.count",
  responseId: "gen_ai.response.id",
  responseModel: "gen_ai.response.model",
  responseFinishReasons: "gen_ai.response.finish_reasons",
  responseTimeToFirstChunk: "gen_ai.response.time_to_first_chunk",
  usageInputTokens: "gen_ai.usage.input_tokens",
  usageOutputTokens: "gen_ai.usage.output_tokens",
  usageCacheReadInputTokens: "gen_ai.usage.cache_read.input_tokens",
  usageReasoningOutputTokens: "gen_ai.usage.reasoning.output_tokens",
  inputMessages: "gen_ai.input.messages",
  outputMessages: "gen_ai.output.messages",
  systemInstructions: "gen_ai.system_instructions",
  toolName: "gen_ai.tool.name",
  toolCallId: "gen_ai.tool.call.id",
  toolType: "gen_ai.tool.type",
  toolCallArguments: "gen_ai.tool.call.arguments",
  toolCallResult: "gen_ai.tool.call.result",
  errorType: "error.type",
  serverAddress: "server.address",
  serverPort: "server.port",
  httpMethod: "http.request.method",
  httpRoute: "http.route",
  httpStatusCode: "http.response.status_code",
  userAgent: "user_agent.original",
  gatewayRequestId: "gateway.request.id",
  gatewayKeyId: "gateway.key.id",
  gatewayUserId: "gateway.user.id",
  gatewayTeamId: "gateway.team.id",
  gatewayEndUserId: "gateway.end_user.id",
  gatewayCostUsd: "gateway.cost.usd",
  gatewayBudgetDecision: "gateway.budget.decision",
  gatewayCacheHit: "gateway.cache.hit",
  gatewayProvider: "gateway.provider",
  gatewayAttempt: "gateway.attempt",
  gatewayAttempts: "gateway.attempts",
  gatewayAdmissionDecision: "gateway.admission.decision",
  gatewayStreamEnd: "gateway.stream.end",
} as const;

/** Event names on the server span: first byte from the upstream, first byte to the client. */
export const EVENT = {
  upstreamFirstChunk: "gateway.upstream.first_chunk",
  clientFirstByte: "gateway.client.first_byte",
} as const;

/** Operation names of the conventions the gateway's endpoints map to. */
export type GenAiOperation =
  | "chat"
  | "embeddings"
  | "text_completion"
  | "generate_content"
  | "execute_tool"
  | (string & {});

/**
 * Span names made so far, per operation and model: the same string each time, so the encoder's cache of encoded
 * names finds it by a hash the string already holds (a name built per request is hashed anew each time).
 */
const spanNames = new Map<string, Map<string, string>>();
/** Model names come from clients: past this many, a name is built per call and not kept. */
const MAX_SPAN_NAMES = 1024;
let spanNameCount = 0;

/** `{operation} {model}`, the conventions' span name (the operation alone when there is no model). */
export function genAiSpanName(operation: string, model: string | null | undefined): string {
  if (!model) return operation;
  let names = spanNames.get(operation);
  if (names === undefined) {
    names = new Map();
    spanNames.set(operation, names);
  }
  let name = names.get(model);
  if (name === undefined) {
    name = `${operation} ${model}`;
    if (spanNameCount < MAX_SPAN_NAMES) {
      names.set(model, name);
      spanNameCount++;
    }
  }
  return name;
}

/** The conventions' well-known provider names for the gateway's provider keys; other keys stay as they are. */
const PROVIDER_NAMES: Readonly<Record<string, string>> = {
  openai: "openai",
  anthropic: "anthropic",
  gemini: "gcp.gemini",
  vertexai: "gcp.vertex_ai",
  vertexaianthropic: "gcp.vertex_ai",
  bedrock: "aws.bedrock",
  azureopenai: "azure.ai.openai",
  azure: "azure.ai.inference",
  azureanthropic: "azure.ai.inference",
  cohere: "cohere",
  mistral: "mistral_ai",
  groq: "groq",
  deepseek: "deepseek",
  xai: "x_ai",
  perplexity: "perplexity",
  watsonx: "ibm.watsonx.ai",
  moonshot: "moonshot_ai",
};

export function providerName(gatewayProvider: string): string {
  return PROVIDER_NAMES[gatewayProvider] ?? gatewayProvider;
}

/** Request facts; absent members set nothing. */
export interface GenAiRequestFacts {
  operation: GenAiOperation;
  /** The gateway's provider key (mapped to the conventions' name; the key itself goes to gateway.provider). */
  provider?: string | null;
  model?: string | null;
  stream?: boolean | null;
  maxTokens?: number | null;
  temperature?: number | null;
  topP?: number | null;
  topK?: number | null;
  frequencyPenalty?: number | null;
  presencePenalty?: number | null;
  stop?: string | readonly string[] | null;
  seed?: number | null;
  choiceCount?: number | null;
  encodingFormats?: readonly string[] | null;
  dimensions?: number | null;
}

/** `provider` and `model` default to the facts': an attempt span passes its route's, with the request's facts. */
export function setRequestAttributes(
  out: AttributeSink,
  f: GenAiRequestFacts,
  provider: string | null | undefined = f.provider,
  model: string | null | undefined = f.model,
): void {
  out.setAttribute(ATTR.operationName, f.operation);
  if (provider) setProviderAttributes(out, provider);
  out.setAttribute(ATTR.requestModel, model);
  out.setAttribute(ATTR.requestStream, f.stream);
  out.setAttribute(ATTR.requestMaxTokens, f.maxTokens);
  out.setDouble(ATTR.requestTemperature, f.temperature);
  out.setDouble(ATTR.requestTopP, f.topP);
  out.setAttribute(ATTR.requestTopK, f.topK);
  out.setDouble(ATTR.requestFrequencyPenalty, f.frequencyPenalty);
  out.setDouble(ATTR.requestPresencePenalty, f.presencePenalty);
  out.setAttribute(ATTR.requestStopSequences, typeof f.stop === "string" ? [f.stop] : f.stop);
  out.setAttribute(ATTR.requestSeed, f.seed);
  out.setAttribute(ATTR.requestEncodingFormats, f.encodingFormats);
  out.setAttribute(ATTR.embeddingsDimensionCount, f.dimensions);
  // The conventions record a choice count only when it is not 1.
  if (f.choiceCount !== null && f.choiceCount !== undefined && f.choiceCount !== 1)
    out.setAttribute(ATTR.requestChoiceCount, f.choiceCount);
}

/** The conventions' provider name, and the gateway's provider key as it is. */
function setProviderAttributes(out: AttributeSink, gatewayProvider: string): void {
  out.setAttribute(ATTR.providerName, providerName(gatewayProvider));
  out.setAttribute(ATTR.gatewayProvider, gatewayProvider);
}

const numberOrNull = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** Facts of an OpenAI chat request (the canonical form). */
export function chatRequestFacts(req: ChatRequest): GenAiRequestFacts {
  return {
    operation: "chat",
    model: req.model,
    stream: req.stream ?? false,
    maxTokens: req.max_completion_tokens ?? req.max_tokens,
    temperature: req.temperature,
    topP: req.top_p,
    // Passed-through members the schema does not type: kept only when they are numbers.
    frequencyPenalty: numberOrNull(req.frequency_penalty),
    presencePenalty: numberOrNull(req.presence_penalty),
    stop: req.stop,
    seed: req.seed,
    choiceCount: req.n,
  };
}

/** Facts of an Anthropic Messages request. */
export function anthropicRequestFacts(req: AnthropicRequest): GenAiRequestFacts {
  return {
    operation: "chat",
    model: req.model,
    stream: req.stream ?? false,
    maxTokens: req.max_tokens,
    temperature: req.temperature,
    topP: req.top_p,
    topK: req.top_k,
    stop: req.stop_sequences,
  };
}

/** Facts of an OpenAI Responses request (passed through: its sampling members are read only when numbers). */
export function responsesRequestFacts(req: { model: string; stream?: boolean | null } & Record<string, unknown>) {
  return {
    operation: "chat",
    model: req.model,
    stream: req.stream ?? false,
    maxTokens: numberOrNull(req.max_output_tokens),
    temperature: numberOrNull(req.temperature),
    topP: numberOrNull(req.top_p),
  } satisfies GenAiRequestFacts;
}

/** Facts of an embeddings request. */
export function embeddingRequestFacts(req: EmbeddingRequest): GenAiRequestFacts {
  return {
    operation: "embeddings",
    model: req.model,
    encodingFormats: req.encoding_format ? [req.encoding_format] : null,
    dimensions: req.dimensions,
  };
}

/** A response's facts; its usage is recorded apart (setUsageAttributes), as billing settles it. */
export interface GenAiResponseFacts {
  id?: string | null;
  model?: string | null;
  finishReasons?: readonly string[] | null;
}

export function setResponseAttributes(out: AttributeSink, f: GenAiResponseFacts): void {
  out.setAttribute(ATTR.responseId, f.id);
  out.setAttribute(ATTR.responseModel, f.model);
  out.setAttribute(ATTR.responseFinishReasons, f.finishReasons);
}

export function setUsageAttributes(out: AttributeSink, u: NormalizedUsage): void {
  out.setAttribute(ATTR.usageInputTokens, u.promptTokens);
  out.setAttribute(ATTR.usageOutputTokens, u.completionTokens);
  out.setAttribute(ATTR.usageCacheReadInputTokens, u.cacheReadTokens);
  out.setAttribute(ATTR.usageReasoningOutputTokens, u.reasoningTokens);
}

/** Finish reasons of a chat completion's choices, in choice order (null reasons left out). */
export function finishReasons(choices: readonly ChatChoice[]): string[] {
  const reasons: string[] = [];
  for (const c of choices) if (c.finish_reason) reasons.push(c.finish_reason);
  return reasons;
}

/** Who asked and what governance decided at admission (the request id and the cost are the request's own). */
export interface GatewayFacts {
  keyId?: string | null;
  userId?: string | null;
  teamId?: string | null;
  endUserId?: string | null;
  /** e.g. `allowed`, `refused`, `unbudgeted`. */
  budgetDecision?: string | null;
  cacheHit?: boolean | null;
}

export function setGatewayAttributes(out: AttributeSink, f: GatewayFacts): void {
  out.setAttribute(ATTR.gatewayKeyId, f.keyId);
  out.setAttribute(ATTR.gatewayUserId, f.userId);
  out.setAttribute(ATTR.gatewayTeamId, f.teamId);
  out.setAttribute(ATTR.gatewayEndUserId, f.endUserId);
  out.setAttribute(ATTR.gatewayBudgetDecision, f.budgetDecision);
  out.setAttribute(ATTR.gatewayCacheHit, f.cacheHit);
}

/**
 * A built-in tool call (code execution, web search, MCP): the conventions' execute_tool attributes. Gateway tools
 * run on the gateway's side of the model call, which the conventions call an `extension`.
 */
export function setToolAttributes(span: Span, tool: { name: string; callId?: string | null }): void {
  if (!span.recording) return;
  span
    .setAttribute(ATTR.operationName, "execute_tool")
    .setAttribute(ATTR.toolName, tool.name)
    .setAttribute(ATTR.toolCallId, tool.callId)
    .setAttribute(ATTR.toolType, "extension");
}

/** Host and port per upstream base URL: the providers' few bases, parsed once rather than per attempt. */
const addresses = new Map<string, { host: string; port: number } | null>();

function addressOf(url: string): { host: string; port: number } | null {
  let address = addresses.get(url);
  if (address !== undefined) return address;
  try {
    const u = new URL(url);
    address = { host: u.hostname, port: u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80 };
  } catch {
    // Not a URL (a provider SDK's own transport): no address to record.
    address = null;
  }
  // Bases come from the configuration; the bound only guards against a provider that builds one per request.
  if (addresses.size < 1000) addresses.set(url, address);
  return address;
}

/** The server address and port of an upstream URL, on an attempt span. */
export function setUpstreamAddress(out: AttributeSink, url: string): void {
  const address = addressOf(url);
  if (!address) return;
  out.setAttribute(ATTR.serverAddress, address.host);
  out.setAttribute(ATTR.serverPort, address.port);
}

/** Records a stream's first chunk: seconds since `startMs` as the conventions' attribute, and an event. */
export function markFirstChunk(span: Span, startMs: number, atMs: number): void {
  if (!span.recording) return;
  span
    .setDouble(ATTR.responseTimeToFirstChunk, (atMs - startMs) / 1000)
    .addEvent(EVENT.upstreamFirstChunk, undefined, atMs);
}

// ------------------------------------------------------------------------------------------------ content capture

type Part =
  | { type: "text"; content: string }
  | { type: "uri"; modality: string; uri: string }
  | { type: "tool_call"; id: string; name: string; arguments: unknown }
  | { type: "tool_call_response"; id: string; result: unknown }
  | { type: string };

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function contentParts(content: ChatMessage["content"]): Part[] {
  if (content === null || content === undefined) return [];
  if (typeof content === "string") return [{ type: "text", content }];
  return content.map((p): Part => {
    if (p.type === "text" && typeof p.text === "string") return { type: "text", content: p.text };
    if (p.type === "image_url" && p.image_url) return { type: "uri", modality: "image", uri: p.image_url.url };
    return { type: p.type };
  });
}

/** Chat messages in the conventions' input-messages shape (role + parts). */
export function toInputMessages(messages: readonly ChatMessage[]): unknown[] {
  return messages.map((m) => {
    if (m.role === "tool")
      return {
        role: "tool",
        parts: [{ type: "tool_call_response", id: m.tool_call_id ?? "", result: m.content ?? null }],
      };
    const parts = contentParts(m.content);
    for (const call of m.tool_calls ?? [])
      parts.push({
        type: "tool_call",
        id: call.id,
        name: call.function.name,
        arguments: parseJson(call.function.arguments),
      });
    return m.name ? { role: m.role, name: m.name, parts } : { role: m.role, parts };
  });
}

type Block = { type: string } & Record<string, unknown>;

/** Anthropic content blocks as the conventions' parts. */
function blockParts(content: string | readonly Block[] | undefined): Part[] {
  if (content === undefined) return [];
  if (typeof content === "string") return [{ type: "text", content }];
  return content.map((b): Part => {
    if (b.type === "text" && typeof b.text === "string") return { type: "text", content: b.text };
    if (b.type === "tool_use") return { type: "tool_call", id: String(b.id), name: String(b.name), arguments: b.input };
    if (b.type === "tool_result") return { type: "tool_call_response", id: String(b.tool_use_id), result: b.content };
    return { type: b.type };
  });
}

/** An Anthropic Messages request's system prompt and messages in the conventions' input-messages shape. */
export function anthropicInputMessages(req: AnthropicRequest): unknown[] {
  const out: unknown[] = req.system ? [{ role: "system", parts: blockParts(req.system as string | Block[]) }] : [];
  for (const m of req.messages) out.push({ role: m.role, parts: blockParts(m.content as string | Block[]) });
  return out;
}

/** An Anthropic message in the conventions' output-messages shape. */
export function anthropicOutputMessages(msg: AnthropicMessage): unknown[] {
  return [{ role: msg.role, parts: blockParts(msg.content as Block[]), finish_reason: msg.stop_reason ?? "" }];
}

/** Chat choices in the conventions' output-messages shape (role, parts, finish_reason). */
export function toOutputMessages(choices: readonly ChatChoice[]): unknown[] {
  return choices.map((c) => ({
    ...(toInputMessages([c.message as ChatMessage])[0] as object),
    finish_reason: c.finish_reason ?? "",
  }));
}

/**
 * Captured content as an attribute, redacted and truncated (`redactor.content`). Call only when the request
 * captures content (Telemetry.capturesContent); with capture off nothing of a prompt or completion is ever set.
 */
export function captureContent(span: Span, redactor: Redactor, attribute: string, value: unknown): void {
  if (span.recording) span.setAttribute(attribute, redactor.content(value));
}
