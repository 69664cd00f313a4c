/**
 * The request id of the work in progress, carried through async calls (AsyncLocalStorage), so every log line of
 * a request names it without passing it around.
 */
import { AsyncLocalStorage } from "node:async_hooks";

interface RequestContext {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The client's `x-request-id` when sane, else a new one. */
export function requestIdFrom(header: string | null): string {
  return header && /^[\w.:-]{1,128}$/.test(header) ? header : crypto.randomUUID();
}

/** Binds a request id to the rest of this request's async work; returns it. */
export function enterRequest(header: string | null): string {
  const requestId = requestIdFrom(header);
  storage.enterWith({ requestId });
  return requestId;
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}
