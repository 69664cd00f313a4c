import { GatewayError } from "../../core/errors.ts";
import { type NormalizedUsage, emptyUsage } from "../../core/wire/index.ts";
import type { CallOptions, ProviderSettings, ProviderStream } from "../types.ts";
import { type FailureRoute, connectionError, malformedBodyError, redactSecrets, timeoutError } from "./errors.ts";
import {
  type UpstreamRequest,
  boundedText,
  buildHeaders,
  fetchUpstream,
  mapUpstreamError,
  refuseRedirect,
  upstreamAbort,
} from "./http.ts";
import { type SseEvent, readSse } from "./sse.ts";

/**
 * What a decoder reports while it translates: merged usage and whether content was produced
 * (docs/behaviour/streaming.md#settlement-of-a-stream).
 */
export interface StreamState {
  usage: NormalizedUsage;
  contentSeen: boolean;
  /** The upstream text of the item being yielded, when the decoder passes it on unchanged (ProviderStream.raw). */
  raw?: string;
}

/** Turns the upstream's SSE events into items; throws GatewayError for in-stream errors or bad data. */
export type StreamDecoder<T> = (events: AsyncIterable<SseEvent>, state: StreamState) => AsyncIterable<T>;

/** Splits a response body into frames (SSE events, AWS eventstream messages...), none larger than `maxFrameBytes`. */
export type FrameReader<E> = (body: ReadableStream<Uint8Array>, maxFrameBytes: number) => AsyncIterable<E>;

/** Turns frames into items; throws GatewayError for in-stream errors or bad data. */
export type FrameDecoder<E, T> = (frames: AsyncIterable<E>, state: StreamState) => AsyncIterable<T>;

/** A JSON content type: an answer that is not a stream, whatever its body says. */
const JSON_CONTENT = /^application\/(?:[\w.+-]+\+)?json\b/i;
/** The most of a non-stream answer to a stream request that is read for its error message. */
const NON_STREAM_BODY_CAP = 1024 * 1024;

/**
 * Opens an upstream SSE stream and returns once its first item is decoded
 * (docs/behaviour/streaming.md#the-first-byte-gate). Until then every failure is an ordinary GatewayError for the
 * caller to answer as HTTP; the whole opening is bounded by `firstByteTimeoutMs`. Afterwards each wait for the next
 * item is bounded by `timeoutMs` (a read timeout: a slow consumer never counts against the upstream).
 *
 * A 2xx JSON body (a proxy or server that ignored `stream: true`) holds no event: read as SSE it would be an empty
 * stream the client takes for a success. It opens as a stream whose iteration fails at once, so the client gets
 * its protocol's in-stream error event and the request an error row.
 */
export function openEventStream<T>(
  req: UpstreamRequest,
  decode: StreamDecoder<T>,
  settings: ProviderSettings,
  options: CallOptions,
  route: FailureRoute,
): Promise<ProviderStream<T>> {
  return openFramedStream(req, readSse, decode, settings, options, route);
}

/** openEventStream for any framing: `read` splits the body into frames, `decode` turns them into items. */
export async function openFramedStream<E, T>(
  req: UpstreamRequest,
  read: FrameReader<E>,
  decode: FrameDecoder<E, T>,
  settings: ProviderSettings,
  options: CallOptions,
  route: FailureRoute,
): Promise<ProviderStream<T>> {
  const call = upstreamAbort(options);
  const state: StreamState = { usage: emptyUsage(), contentSeen: false };
  let timedOut: string | null = null;
  let cancelled = false;
  const release = call.release;

  /** What a failed upstream wait becomes (the table of docs/behaviour/errors.md#provider-failures). */
  function failure(err: unknown): unknown {
    if (timedOut) return timeoutError(timedOut);
    if (options.signal?.aborted) return options.signal.reason ?? err;
    if (err instanceof GatewayError) return err;
    return connectionError(route, err);
  }

  /** Runs one upstream wait under a timer (the opening). */
  async function guarded<R>(work: Promise<R>, ms: number, what: string): Promise<R> {
    const timer = setTimeout(() => {
      timedOut = what;
      call.abort();
    }, ms);
    try {
      return await work;
    } catch (err) {
      throw failure(err);
    } finally {
      clearTimeout(timer);
    }
  }

  const firstByte = `no first event within ${settings.firstByteTimeoutMs} ms`;
  let res: Response;
  let iterator: AsyncIterator<T> | null = null;
  let first: IteratorResult<T>;
  let notAStream: GatewayError | null = null;
  try {
    res = await guarded(
      fetchUpstream(req, buildHeaders(req, settings, options), call.signal),
      settings.firstByteTimeoutMs,
      firstByte,
    );
    if (!res.ok || !res.body) {
      const text = await guarded(
        boundedText(res, settings.maxBodyBytes, route),
        settings.firstByteTimeoutMs,
        firstByte,
      );
      refuseRedirect(res, route);
      if (!res.ok) throw mapUpstreamError(req, res, text, settings, route);
    }
    const type = res.headers.get("content-type") ?? "";
    if (JSON_CONTENT.test(type)) {
      // Only the start of it is shown; a larger body is refused as oversized rather than held.
      const text = await guarded(
        boundedText(res, Math.min(settings.maxBodyBytes, NON_STREAM_BODY_CAP), route),
        settings.firstByteTimeoutMs,
        firstByte,
      );
      notAStream = malformedBodyError(
        route,
        `a stream request was answered with a non-stream body (${type}): ${redactSecrets(text, [settings.apiKey]).slice(0, 300)}`,
      );
      first = { done: true, value: undefined };
    } else {
      iterator = decode(res.body ? read(res.body, settings.maxEventBytes) : emptyFrames<E>(), state)[
        Symbol.asyncIterator
      ]();
      first = await guarded(iterator.next(), settings.firstByteTimeoutMs, firstByte);
    }
  } catch (err) {
    call.abort();
    release();
    throw err;
  }
  if (first.done) release();

  // One watchdog per stream rather than a timer per event: it cuts the upstream once a wait for the next event has
  // lasted `timeoutMs` (checked a few times per period); only waits count, never the consumer's own pace.
  const idle = `no stream event for ${settings.timeoutMs} ms`;
  let waitingSince = 0;
  let watchdog: ReturnType<typeof setInterval> | null = null;
  const stopWatchdog = () => {
    if (watchdog) clearInterval(watchdog);
    watchdog = null;
  };
  async function* items(): AsyncGenerator<T> {
    try {
      if (notAStream) throw notAStream;
      if (first.done || !iterator) return;
      yield first.value;
      watchdog = setInterval(
        () => {
          if (waitingSince && Date.now() - waitingSince >= settings.timeoutMs) {
            timedOut = idle;
            call.abort();
          }
        },
        Math.min(1000, Math.max(10, settings.timeoutMs / 4)),
      );
      watchdog.unref?.();
      while (!cancelled) {
        let next: IteratorResult<T>;
        waitingSince = Date.now();
        try {
          next = await iterator.next();
        } catch (err) {
          if (cancelled) return;
          throw failure(err);
        } finally {
          waitingSince = 0;
        }
        if (next.done) return;
        yield next.value;
      }
    } finally {
      stopWatchdog();
      release();
    }
  }

  return {
    status: res.status,
    headers: res.headers,
    get usage() {
      return state.usage;
    },
    get contentSeen() {
      return state.contentSeen;
    },
    get raw() {
      return state.raw;
    },
    async cancel(reason?: unknown) {
      if (cancelled) return;
      cancelled = true;
      stopWatchdog();
      release();
      call.abort(reason);
    },
    [Symbol.asyncIterator]: items,
  };
}

async function* emptyFrames<E>(): AsyncGenerator<E> {}

/**
 * A stream whose items are translated one to many (e.g. canonical chunks -> Anthropic events); `flush` runs
 * once after the source ends normally. Usage, contentSeen and cancel stay the source's.
 */
export function mapStream<A, B>(source: ProviderStream<A>, map: (item: A) => B[], flush: () => B[]): ProviderStream<B> {
  async function* items(): AsyncGenerator<B> {
    for await (const item of source) yield* map(item);
    yield* flush();
  }
  return {
    status: source.status,
    headers: source.headers,
    get usage() {
      return source.usage;
    },
    get contentSeen() {
      return source.contentSeen;
    },
    cancel: (reason?: unknown) => source.cancel(reason),
    [Symbol.asyncIterator]: items,
  };
}

/**
 * The JSON payload of each SSE event of an OpenAI-style stream, with its text: `[DONE]` (noted in `end.done`) or the
 * end of the body ends it, empty data is skipped, anything that is not JSON is a malformed upstream body (`what`
 * names the stream).
 */
export async function* sseJson(
  events: AsyncIterable<SseEvent>,
  what: string,
  end?: { done: boolean },
): AsyncGenerator<{ json: unknown; text: string }> {
  for await (const event of events) {
    const text = event.data.trim();
    if (text === "[DONE]") {
      if (end) end.done = true;
      return;
    }
    if (text === "") continue;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw malformedBodyError("inference", `${what} data is not JSON (${text.slice(0, 80)})`, err);
    }
    yield { json, text };
  }
}
