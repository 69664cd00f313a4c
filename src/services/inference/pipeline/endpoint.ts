/**
 * An endpoint as the pipeline serves it: one small descriptor per route (src/services/inference/endpoints/), and
 * the pipeline does the rest (admission, attempts, relay, settlement, record) for JSON and streams, with or
 * without the gateway's tool loop. A descriptor names the provider methods once; the pipeline calls them with
 * `{...request, model: route.model, stream}` and the route's settings.
 */
import type { GatewayToolFields } from "../../../core/schemas/gateway-tools";
import type { UnitQuantities } from "../../../core/schemas/pricing";
import type { CallOptions, Provider, ProviderResult, ProviderSettings, ProviderStream } from "../../../providers/types";
import { requireMember } from "../../../providers/capabilities";
import type { GenAiRequestFacts, GenAiResponseFacts } from "../../../telemetry/genai";
import type { Estimate } from "../estimate";
import type { LoopProtocol } from "../tool-loop/protocol";
import type { SseFraming } from "./framing";
import type { InferenceCall } from "./types";

type Method<Req, Out> = (req: Req, settings: ProviderSettings, options?: CallOptions) => Promise<Out>;

/** The Provider methods that answer `Req` with a JSON `Body`. */
export type JsonMethod<Req, Body> = {
  [K in keyof Provider]-?: NonNullable<Provider[K]> extends Method<Req, ProviderResult<Body>> ? K : never;
}[keyof Provider];

/** The Provider methods that answer `Req` with a stream of `Ev`. */
export type StreamMethod<Req, Ev> = {
  [K in keyof Provider]-?: NonNullable<Provider[K]> extends Method<Req, ProviderStream<Ev>> ? K : never;
}[keyof Provider];

/** How a JSON answer is billed when it is not tokens × rates of the usage the provider reported. */
export interface Billing<Body = unknown> {
  /** The usage billed, from what the provider reported (embeddings: no completion tokens, never the estimate). */
  usage(reported: ProviderResult<unknown>["usage"]): ProviderResult<unknown>["usage"];
  /** One request at the model's input rate, read as USD per million requests (moderations). */
  perRequest: boolean;
  /**
   * The quantities of units other than tokens the answer consumed (search units, images, characters, seconds): a
   * model whose price is in one of these units is billed by it (docs/behaviour/storage.md#units).
   */
  units?(body: Body, request: unknown): UnitQuantities;
}

/** The gateway tool loop on an endpoint (docs: behaviour/tools.md). */
export interface LoopSpec<In, Req, Body, Ev> {
  protocol: LoopProtocol<Req, Body, Ev>;
  /** What the tool planner reads from the client's body (the gateway tool fields and `tools`). */
  fields(body: In): GatewayToolFields & { tools?: unknown };
  /** Platform mode runs this endpoint's loops on the route's first attempt only (chat may fall back). */
  firstAttemptOnly: boolean;
}

/** What every stage may read of an endpoint without its types. */
export interface EndpointInfo {
  /** The route's path; also the usage row's `endpoint`. */
  readonly path: string;
  /** The operation's name for telemetry (`chat`, `embeddings`, ...). */
  readonly operation: string;
  /** Body fields that carry prompt text (`log_prompts`). */
  readonly promptFields: readonly string[];
}

/**
 * `In`: the client's body as validated; `Req`: what the provider gets; `Body` / `Ev`: its JSON answer and stream
 * items; `Q`: the validated query.
 */
export interface Endpoint<In extends { model: string }, Req, Body, Ev = never, Q = undefined> extends EndpointInfo {
  /**
   * The client's user field: with the master key the user billed (required, `userRequired` is the 400's text);
   * with a virtual key the client's own end-user id, recorded on the usage row.
   */
  user(body: In): string | null | undefined;
  readonly userRequired: string;
  /** The reservation estimate; its output must scale with every multiplier of the output (chat's `n`). */
  estimate(body: In, defaultOutputTokens: number): Estimate;
  /** The request the provider gets: the client's body without gateway-only fields (`model` is set per attempt). */
  upstream(body: In): Req;
  /** The provider method for a JSON answer. */
  readonly json: JsonMethod<Req, Body>;
  /** Streams: when the client asked for one, the provider method, the SSE framing of one served by `model`. */
  readonly stream?: {
    requested(body: In): boolean;
    method: StreamMethod<Req, Ev>;
    framing(call: InferenceCall<In, unknown, Q>, model: string): SseFraming<Ev>;
  };
  /** Per-call upstream headers taken from the client's request (e.g. `anthropic-beta`). */
  callHeaders?(call: InferenceCall<In, unknown, Q>): Record<string, string> | undefined;
  /**
   * The answer is bytes (audio): the provider's body is a byte stream, passed to the client as it arrives with the
   * upstream's content type, after settlement (what it costs is known from the request or the answer's headers).
   */
  readonly bytes?: boolean;
  /** The client gets the upstream's own text and content type (answers in a format the client picked: transcripts). */
  verbatim?(body: Body): { text: string; contentType: string };
  /** The body the client gets; default: the provider's body as it came (its upstream bytes when unchanged). */
  reply?(result: ProviderResult<Body>, call: InferenceCall<In, unknown, Q>): unknown;
  /** Billing other than tokens × rates of the reported usage (a JSON answer without usage is billed at the estimate). */
  readonly billing?: Billing<Body>;
  /** The gateway tool loop; absent: the endpoint takes no gateway tools. */
  readonly loop?: LoopSpec<In, Req, Body, Ev>;
  /** What tracing reads of the request and its answer (docs/tracing.md); absent: the operation and model only. */
  readonly trace?: TraceSpec<In, Body>;
}

/** An endpoint's request and answer as GenAI span attributes (src/telemetry/genai.ts). */
export interface TraceSpec<In, Body> {
  request(body: In): GenAiRequestFacts;
  response?(body: Body): GenAiResponseFacts;
  /** Prompt and completion in the conventions' message shape, captured only when the operator allows it. */
  content?: { input(body: In): unknown; output(body: Body): unknown };
}

/**
 * Throws the 400 `unsupported_provider` when `provider` cannot serve `endpoint` as asked (a gateway-side refusal):
 * the capability of the method the pipeline would call, the stream's when the client asked for one.
 */
export function checkSupport<In extends { model: string }, Req, Body, Ev, Q>(
  endpoint: Endpoint<In, Req, Body, Ev, Q>,
  provider: Provider,
  providerName: string,
  streaming: boolean,
): void {
  requireMember(provider, streaming && endpoint.stream ? endpoint.stream.method : endpoint.json, providerName);
}
