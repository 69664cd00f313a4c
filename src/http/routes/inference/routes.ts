/**
 * Each inference endpoint as a route: its descriptor (src/services/inference/endpoints) paired with its request
 * schemas (schemas.ts) and OpenAPI summary. A route mounts itself on the inference module (index.ts), so the module
 * registers a list of them without knowing their types.
 */
import type { AnyElysia } from "elysia";
import type { z } from "zod";
import {
  chat,
  embeddings,
  images,
  messages,
  moderations,
  rerank,
  responses,
  speech,
  TRANSCRIPTION_UPLOAD_LIMIT,
  transcriptions,
} from "../../../services/inference/endpoints";
import type { Endpoint, EndpointInfo } from "../../../services/inference/pipeline/endpoint";
import type { Pipeline } from "../../../services/inference/pipeline/run";
import type { InferenceCall } from "../../../services/inference/pipeline/types";
import { imageResponseSchema, rerankResponseSchema } from "../../../core/wire/index";
import type { RouteSchema } from "../../fast-schema";
import type { PromptLogger } from "./prompt-log";
import { requestIdOf, requireModel, TRACE_ID_HEADER, toResponse } from "./reply";
import type { Reply } from "../../../services/inference/pipeline/reply";
import {
  chatBody,
  embeddingsBody,
  imagesBody,
  messagesBody,
  moderationQuery,
  moderationResponse,
  moderationsBody,
  rerankBody,
  responsesBody,
  speechBody,
  transcriptionBody,
} from "./schemas";

/** What a mounted route calls. */
export interface RouteDeps<I> {
  pipeline: () => Pipeline<I>;
  logPrompt: PromptLogger;
}

/** The context a route's handler reads (the `identity` is the auth plugin's, src/http/plugins/auth.ts). */
interface HandlerContext<I, In, Q> {
  body: In;
  query: Q;
  request: Request;
  identity: I;
  set: { headers: Record<string, string | number | undefined> };
}

/** The one Elysia method a route needs, with the handler typed by the route rather than by Elysia's inference. */
interface Mountable {
  post(path: string, handler: (context: never) => Promise<Response>, hooks: Record<string, unknown>): unknown;
}

export interface InferenceRoute {
  readonly endpoint: EndpointInfo;
  /** The route takes its body as multipart/form-data, at most this many bytes (413 above). */
  readonly uploadLimit?: number;
  mount<I>(app: AnyElysia, deps: RouteDeps<I>): void;
}

export interface RouteSpec<In extends { model: string }, Req, Body, Ev, Q> {
  endpoint: Endpoint<In, Req, Body, Ev, Q>;
  body: RouteSchema<z.ZodType<In>>;
  query?: RouteSchema<z.ZodType<Q>>;
  /** The 200 body's schema, when the document should carry it. */
  response?: z.ZodType;
  /** The body is a multipart upload of at most this many bytes (its own cap, below the global one). */
  uploadLimit?: number;
  summary: string;
}

/** A POST route for `spec.endpoint`: blank model refused, prompt logged (when on), then the pipeline. */
export function inferenceRoute<In extends { model: string }, Req, Body, Ev, Q = undefined>(
  spec: RouteSpec<In, Req, Body, Ev, Q>,
): InferenceRoute {
  const { endpoint } = spec;
  const hooks: Record<string, unknown> = { body: spec.body, detail: { summary: spec.summary } };
  if (spec.query) hooks.query = spec.query;
  if (spec.response) hooks.response = { 200: spec.response };
  // The document's content type (the body parser reads uploads itself, bounded; see src/http/body.ts).
  if (spec.uploadLimit !== undefined) hooks.parse = "multipart/form-data";
  return {
    endpoint,
    ...(spec.uploadLimit === undefined ? {} : { uploadLimit: spec.uploadLimit }),
    mount<I>(app: AnyElysia, deps: RouteDeps<I>) {
      const handler = async ({ body, query, request, identity, set }: HandlerContext<I, In, Q>) => {
        requireModel(body.model);
        deps.logPrompt(endpoint, body);
        const requestId = requestIdOf(request);
        // `traceId` is the tracing stage's to set (a traced request's id): a slot from the start keeps one shape.
        const call: InferenceCall<In, I, Q> = {
          identity,
          body,
          query,
          requestId,
          headers: request.headers,
          signal: request.signal,
          traceId: undefined,
        };
        let reply: Reply;
        try {
          reply = await deps.pipeline().serve(endpoint, call);
        } finally {
          if (call.traceId) set.headers[TRACE_ID_HEADER] = call.traceId;
        }
        return toResponse(reply, requestId, set);
      };
      (app as unknown as Mountable).post(endpoint.path, handler, hooks);
    },
  };
}

/** Every inference endpoint, in the order of the API reference. */
export const INFERENCE_ROUTES: readonly InferenceRoute[] = [
  inferenceRoute({
    endpoint: chat,
    body: chatBody,
    summary: "OpenAI Chat Completions (JSON or SSE), routed by provider:model",
  }),
  inferenceRoute({
    endpoint: messages,
    body: messagesBody,
    summary: "Anthropic Messages API (JSON or SSE), routed by provider:model",
  }),
  inferenceRoute({ endpoint: responses, body: responsesBody, summary: "OpenAI Responses API (JSON or SSE)" }),
  inferenceRoute({ endpoint: embeddings, body: embeddingsBody, summary: "OpenAI Embeddings" }),
  inferenceRoute({
    endpoint: moderations,
    body: moderationsBody,
    query: moderationQuery,
    response: moderationResponse,
    summary: "OpenAI Moderations",
  }),
  inferenceRoute({
    endpoint: images,
    body: imagesBody,
    response: imageResponseSchema,
    summary: "OpenAI image generation",
  }),
  inferenceRoute({ endpoint: speech, body: speechBody, summary: "OpenAI text to speech: the audio bytes, streamed" }),
  inferenceRoute({
    endpoint: transcriptions,
    body: transcriptionBody,
    uploadLimit: TRANSCRIPTION_UPLOAD_LIMIT,
    summary: "OpenAI speech to text: a multipart upload (25 MiB at most), the transcript in the format asked for",
  }),
  inferenceRoute({
    endpoint: rerank,
    body: rerankBody,
    response: rerankResponseSchema,
    summary: "Rerank documents by relevance to a query (Cohere, Voyage, Jina-style and vLLM rerankers)",
  }),
];
