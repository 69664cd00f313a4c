/**
 * The request in progress, carried through async calls (AsyncLocalStorage): its id, so every log line of a request
 * names it without passing it around, and, under the server, the hand-back of its connection to the idle clock,
 * which a streamed response keeps until it ends.
 */
import { AsyncLocalStorage } from "node:async_hooks";

interface RequestContext {
  requestId: string;
  /** The request's trace id when it is traced (docs/tracing.md): on its log lines and response. */
  traceId?: string;
  /** The request the server opened this context for (src/runtime/server.ts). */
  request?: Request;
  /** Puts the connection back on the server's idle clock; taken over by a stream that outlives its handler. */
  release?: () => void;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The client's `x-request-id` when sane, else a new one. */
export function requestIdFrom(header: string | null): string {
  return header && /^[\w.:-]{1,128}$/.test(header) ? header : crypto.randomUUID();
}

/**
 * Server side: runs `handle` in the request's own context. `release` runs when `handle` settles, unless a
 * streamed response took it over with holdConnection.
 */
export async function withRequestContext<T>(
  request: Request,
  release: () => void,
  handle: () => Promise<T>,
): Promise<T> {
  // Every member present from the start, a trace id included: one object shape whether the request is traced or not.
  const context: RequestContext = {
    requestId: requestIdFrom(request.headers.get("x-request-id")),
    traceId: undefined,
    request,
    release,
  };
  try {
    return await storage.run(context, handle);
  } finally {
    context.release?.();
  }
}

/** The id of `request` for the rest of its async work (bound here unless the server did already); returns it. */
export function enterRequest(request: Request): string {
  const context = storage.getStore();
  if (context?.request === request) return context.requestId;
  const requestId = requestIdFrom(request.headers.get("x-request-id"));
  storage.enterWith({ requestId });
  return requestId;
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** Binds the request's trace id to its context (the tracing stage, when a request is traced). */
export function bindTraceId(traceId: string): void {
  const context = storage.getStore();
  if (context) context.traceId = traceId;
}

export function currentTraceId(): string | undefined {
  return storage.getStore()?.traceId;
}

const nothingToRelease = () => undefined;

/**
 * For a response that goes on after its handler returned (a stream): keeps the connection off the idle clock and
 * returns what to call when the response has ended. Outside a server request it returns a no-op.
 */
export function holdConnection(): () => void {
  const context = storage.getStore();
  const release = context?.release;
  if (!context || !release) return nothingToRelease;
  context.release = undefined;
  return release;
}
