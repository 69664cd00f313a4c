/**
 * The shape every inference endpoint shares once admitted: call the provider (JSON) or open its stream, settle
 * exactly once whatever happens, and hand the HTTP layer a Reply. Endpoints supply only what differs: the call,
 * how a result is billed, and the SSE framing of their protocol.
 */
import type { ProviderResult, ProviderStream } from "../../providers/types";
import type { Admission, SettledInfo } from "./admission";
import { type Reply, SSE_HEADERS } from "./reply";
import { type PumpEnd, pumpSse } from "./sse-pump";
import { settleStream } from "./stream-settlement";
import type { StreamSettings } from "./stream-settings";

/** Runs `fn` for an admitted request; a throw settles the request as failed (one error row, reservation released). */
export async function guarded<T>(admission: Admission, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    admission.fail(err);
    throw err;
  }
}

export interface JsonRelay<T> {
  call: () => Promise<ProviderResult<T>>;
  /** Billing of a result; default: its usage, or the estimate when the provider reported none. */
  settle?: (result: ProviderResult<T>) => SettledInfo;
  /** The body the client gets; default: the provider's body. */
  body?: (result: ProviderResult<T>) => unknown;
}

export async function relayJson<T>(admission: Admission, relay: JsonRelay<T>): Promise<Reply> {
  const result = await guarded(admission, relay.call);
  const settled = relay.settle ? relay.settle(result) : admission.succeed(result.usage);
  const body = relay.body ? relay.body(result) : result.body;
  return { kind: "json", body, headers: { ...settled.headers, ...(await admission.budgetHeaders()) } };
}

export interface StreamRelay<T> {
  open: () => Promise<ProviderStream<T>>;
  keepalive: string;
  /** The SSE frame for one item; null holds it back or swallows it. */
  frame: (item: T) => string | null;
  /** Closing frames after settlement (not called when the client is gone). */
  closing: (end: PumpEnd, settled: SettledInfo) => string[];
}

/** Opens the stream (a failure before the first event is an ordinary HTTP error) and relays it as SSE. */
export async function relayStream<T>(admission: Admission, streaming: StreamSettings, relay: StreamRelay<T>): Promise<Reply> {
  const stream = await guarded(admission, relay.open);
  const body = pumpSse<T>({
    stream,
    keepalive: relay.keepalive,
    keepaliveMs: streaming.keepaliveMs,
    drainMs: streaming.drainMs,
    onDisconnect: streaming.onDisconnect,
    frame: relay.frame,
    finish: (end) => {
      const settled = settleStream(admission, end);
      return end.kind === "client_gone" ? [] : relay.closing(end, settled);
    },
  });
  return { kind: "stream", body, headers: { ...SSE_HEADERS, ...admission.rateHeaders } };
}
