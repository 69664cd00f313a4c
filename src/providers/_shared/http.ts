import type { z } from "zod";
import { GatewayError, badRequest } from "../../core/errors.ts";
import type { CallOptions, ProviderSettings } from "../types.ts";
import {
  type FailureRoute,
  type UpstreamErrorInput,
  connectionError,
  malformedBodyError,
  oversizedError,
  timeoutError,
  upstreamHttpError,
} from "./errors.ts";

/**
 * The one place providers call fetch. Bun's fetch pools keep-alive connections per origin, so no agent is
 * needed; redirects are never followed (docs/behaviour/providers.md#upstream-http-client: a redirect from an API is a
 * misconfiguration, and following it could leak the credential to another host).
 */

export interface UpstreamRequest {
  url: string;
  method?: "GET" | "POST";
  /** Serialised as JSON when present. */
  body?: unknown;
  /** The exact body text to send (wins over `body`), for wires that sign the bytes (AWS SigV4). */
  rawBody?: string;
  /** A multipart body (uploads): wins over both; fetch writes its content type with the boundary. */
  form?: FormData;
  /** The provider's own headers (auth, versions); custom and per-call headers are layered on top. */
  headers: Record<string, string>;
  /**
   * A provider's own reading of a non-2xx answer (e.g. Google's RetryInfo in the body); it must still follow
   * the table of docs/behaviour/errors.md#provider-failures, so it normally ends in upstreamHttpError. Default:
   * upstreamHttpError.
   */
  mapError?: (input: UpstreamErrorInput) => GatewayError;
}

/** The body text of a request, or undefined for none. */
export const bodyText = (req: UpstreamRequest): string | undefined =>
  req.rawBody ?? (req.body === undefined ? undefined : JSON.stringify(req.body));

/** What fetch sends: the form, else the body text. */
const sentBody = (req: UpstreamRequest): FormData | string | undefined => req.form ?? bodyText(req);

/** A non-2xx answer (its body text read) as the request's own mapper, if any, or the common table maps it. */
export const mapUpstreamError = (
  req: UpstreamRequest,
  res: Response,
  bodyText: string,
  settings: ProviderSettings,
  route: FailureRoute,
): GatewayError =>
  (req.mapError ?? upstreamHttpError)({
    status: res.status,
    bodyText,
    headers: res.headers,
    route,
    apiKey: settings.apiKey,
  });

/** Copies `layer` into `into` with lower-cased names, so a later layer replaces an earlier one whatever its case. */
function layer(into: Record<string, string>, from: Record<string, string>): void {
  for (const k in from) into[k.toLowerCase()] = from[k] as string;
}

/**
 * Upstream headers, later layers winning: defaults, the provider's own (auth, versions), `custom_headers`, then
 * per-call headers. A plain object: cheaper for fetch than a Headers instance, and names are lower-cased here.
 */
export function buildHeaders(
  req: UpstreamRequest,
  settings: ProviderSettings,
  options: CallOptions,
): Record<string, string> {
  const headers: Record<string, string> = {
    "user-agent": `otari-gateway/${settings.version}`,
    accept: "application/json",
  };
  if (req.form === undefined && (req.body !== undefined || req.rawBody !== undefined))
    headers["content-type"] = "application/json";
  layer(headers, req.headers);
  layer(headers, settings.headers);
  if (options.headers) layer(headers, options.headers);
  return headers;
}

/** Joins a base URL and a path without doubling or dropping the slash. */
export const joinUrl = (base: string, path: string): string =>
  `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;

/** Characters no model id or deployment name contains, whatever the provider: control characters and backslashes. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const NEVER_IN_ID = /[\u0000-\u001f\u007f\\]/;

/**
 * A model id or deployment name as ONE percent-encoded path segment of an upstream URL: `?`, `#`, `%` and `/` stay
 * inside it, so the id can never reach another path (or the operator's key another endpoint). Ids no provider
 * names a model with are refused with a 400 before any upstream call: empty, `.` or `..`, control characters, and
 * `/` unless the provider takes it inside one segment (`slash`: Bedrock ARNs and inference profiles).
 */
export function modelSegment(id: string, provider: string, slash = false): string {
  if (id === "" || id === "." || id === ".." || NEVER_IN_ID.test(id) || (!slash && id.includes("/"))) {
    throw badRequest(
      `Invalid model name for provider '${provider}': path separators, dot segments and control characters are not allowed`,
      "invalid_model",
      "model",
    );
  }
  return encodeURIComponent(id);
}

/** A caller abort rejects with the caller's reason, untouched, so the service can tell it from a failure. */
export function rethrowIfCallerAborted(options: CallOptions): void {
  if (options.signal?.aborted) throw options.signal.reason ?? new DOMException("Aborted", "AbortError");
}

/**
 * An upstream answer's body text, refused with a 502 past `maxBytes`. A body of declared length, not compressed,
 * is checked against its header and read natively in one go (the common case); any other body is counted as its
 * bytes arrive, so an endless or decompressing body costs at most the limit.
 */
export async function boundedText(res: Response, maxBytes: number, route: FailureRoute): Promise<string> {
  const declared = res.headers.get("content-length");
  if (declared !== null && !res.headers.has("content-encoding")) {
    const length = Number(declared);
    if (length > maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw oversizedError(route, "body", maxBytes);
    }
    if (Number.isSafeInteger(length)) return res.text();
  }
  if (!res.body) return "";
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  for await (const chunk of res.body) {
    bytes += chunk.byteLength;
    // Leaving the loop cancels the body (and so the upstream connection).
    if (bytes > maxBytes) throw oversizedError(route, "body", maxBytes);
    text += decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

export interface JsonResult<T> {
  body: T;
  status: number;
  headers: Headers;
  /** The body's exact text, when a canonical check let it skip the schema (see ProviderResult.raw). */
  raw?: string;
}

/**
 * One non-stream call (requestText) whose answer is JSON: a 2xx body that is not JSON or does not match `schema` ->
 * 502 (docs/behaviour/errors.md#provider-failures). `canonical` (core/wire/canonical.ts) lets a body the schema would
 * return unchanged skip the schema; its text comes back as `raw` for the relay.
 */
export async function requestJson<S extends z.ZodType>(
  req: UpstreamRequest,
  schema: S,
  settings: ProviderSettings,
  options: CallOptions,
  route: FailureRoute,
  canonical?: (json: unknown) => boolean,
): Promise<JsonResult<z.infer<S>>> {
  const res = await requestText(req, settings, options, route);
  let json: unknown;
  try {
    json = JSON.parse(res.text);
  } catch (err) {
    throw malformedBodyError(route, `not JSON (${res.text.slice(0, 80)})`, err);
  }
  if (canonical?.(json)) return { body: json as z.infer<S>, status: res.status, headers: res.headers, raw: res.text };
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw malformedBodyError(route, parsed.error.message.slice(0, 300));
  return { body: parsed.data, status: res.status, headers: res.headers };
}

/** A 2xx answer's whole body text, with its status and headers. */
export interface TextResult {
  text: string;
  status: number;
  headers: Headers;
}

/**
 * The abort wiring of one upstream call: its fetch is aborted when the caller's signal aborts (with the caller's
 * reason) or by `abort()` (a timeout, or the consumer cancelling). Call `release()` once the call no longer needs the caller's signal.
 */
export function upstreamAbort(options: CallOptions): {
  signal: AbortSignal;
  abort(reason?: unknown): void;
  release(): void;
} {
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    abort: (reason?: unknown) => controller.abort(reason),
    release: () => options.signal?.removeEventListener("abort", onAbort),
  };
}

/** upstreamAbort with a deadline `ms` from now: `timedOut()` tells a timeout from the caller leaving. */
function deadlineAbort(options: CallOptions, ms: number) {
  const wiring = upstreamAbort(options);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    wiring.abort();
  }, ms);
  return {
    signal: wiring.signal,
    timedOut: () => timedOut,
    release() {
      clearTimeout(timer);
      wiring.release();
    },
  };
}

/**
 * What a failed wait on the upstream becomes: a GatewayError as it is (an oversized body), the deadline a timeout,
 * the caller's abort its own reason (rethrown), anything else a connection failure.
 */
function transportFailure(
  err: unknown,
  call: { timedOut(): boolean },
  options: CallOptions,
  route: FailureRoute,
  timedOut: string,
): unknown {
  if (err instanceof GatewayError) return err;
  if (call.timedOut()) return timeoutError(timedOut);
  rethrowIfCallerAborted(options);
  return connectionError(route, err);
}

/** The one fetch of an upstream call: the layered headers, the body, redirects never followed. */
export function fetchUpstream(
  req: UpstreamRequest,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<Response> {
  return fetch(req.url, { method: req.method ?? "POST", headers, body: sentBody(req), redirect: "manual", signal });
}

/** A 3xx answer is a misconfiguration (see the header of this file): refused as a connection failure. */
export function refuseRedirect(res: Response, route: FailureRoute): void {
  if (res.status >= 300 && res.status < 400)
    throw connectionError(
      route,
      new Error(`refused to follow redirect ${res.status} to ${res.headers.get("location")}`),
    );
}

/**
 * One non-stream call under `settings.timeoutMs` (connect to last body byte), its body read whole (bounded by
 * `maxBodyBytes`); a non-2xx answer mapped as every upstream error is (errors.ts).
 */
export async function requestText(
  req: UpstreamRequest,
  settings: ProviderSettings,
  options: CallOptions,
  route: FailureRoute,
): Promise<TextResult> {
  const call = deadlineAbort(options, settings.timeoutMs);
  try {
    let res: Response;
    let text: string;
    try {
      res = await fetchUpstream(req, buildHeaders(req, settings, options), call.signal);
      text = await boundedText(res, settings.maxBodyBytes, route);
    } catch (err) {
      throw transportFailure(err, call, options, route, `no complete response within ${settings.timeoutMs} ms`);
    }
    refuseRedirect(res, route);
    if (!res.ok) throw mapUpstreamError(req, res, text, settings, route);
    return { text, status: res.status, headers: res.headers };
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    rethrowIfCallerAborted(options);
    throw err;
  } finally {
    call.release();
  }
}

/** A binary answer (audio) as it arrives: status and headers, and the body for the caller to pass on. */
export interface BytesResult {
  body: ReadableStream<Uint8Array>;
  status: number;
  headers: Headers;
}

/**
 * A request whose answer is bytes to stream on (audio): the upstream's headers within `timeoutMs`, then its body
 * untouched, so the client gets each chunk as it arrives; cancelling that body (the client left) closes the upstream
 * connection. An error status is read (bounded) and mapped as for JSON.
 */
export async function requestBytes(
  req: UpstreamRequest,
  settings: ProviderSettings,
  options: CallOptions,
  route: FailureRoute,
): Promise<BytesResult> {
  const call = deadlineAbort(options, settings.timeoutMs);
  try {
    let res: Response;
    try {
      res = await fetchUpstream(req, { ...buildHeaders(req, settings, options), accept: "*/*" }, call.signal);
    } catch (err) {
      throw transportFailure(err, call, options, route, `no response within ${settings.timeoutMs} ms`);
    }
    refuseRedirect(res, route);
    if (!res.ok) {
      const text = await boundedText(res, settings.maxBodyBytes, route);
      throw mapUpstreamError(req, res, text, settings, route);
    }
    const body = res.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
    return { body, status: res.status, headers: res.headers };
  } finally {
    // The headers are in: from here the body's pace is the client's, and the client's leaving cancels it.
    call.release();
  }
}
