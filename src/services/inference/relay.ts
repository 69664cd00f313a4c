/**
 * The shape every inference endpoint shares once admitted: call the provider (JSON) or open its stream, settle
 * exactly once whatever happens, and hand the HTTP layer a Reply. Endpoints supply only what differs: the call,
 * how a result is billed, and the SSE framing of their protocol.
 */
import type { ProviderResult, ProviderStream } from "../../providers/types";
import type { Admission, SettledInfo } from "./admission";
import { type Reply, SSE_HEADERS } from "./reply";
import type { SseFraming } from "./framing";
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
  const headers = Object.assign(settled.headers, await admission.budgetHeaders());
  if (relay.body) return { kind: "json", body: relay.body(result), headers };
  return { kind: "json", body: result.body, raw: result.raw, headers };
}

export interface StreamRelay<T> extends SseFraming<T> {
  open: () => Promise<ProviderStream<T>>;
}

/** Opens the stream (a failure before the first event is an ordinary HTTP error) and relays it as SSE. */
export async function relayStream<T>(
  admission: Admission,
  streaming: StreamSettings,
  relay: StreamRelay<T>,
): Promise<Reply> {
  const stream = await guarded(admission, relay.open);
  return sseReply(stream, streaming, relay, (end) => settleStream(admission, end).costMicros, admission.rateHeaders);
}

/**
 * An open stream as an SSE Reply: items framed as they arrive, `settle` run exactly once when it ends (it returns
 * the cost for the closing frames, null when unpriced), then the closing frames unless the client is gone.
 */
export function sseReply<T>(
  stream: ProviderStream<T>,
  streaming: StreamSettings,
  framing: SseFraming<T>,
  settle: (end: PumpEnd) => number | null,
  headers: Record<string, string>,
  onClientGone?: () => void,
): Reply {
  const body = pumpSse<T>({
    stream,
    keepalive: framing.keepalive,
    keepaliveMs: streaming.keepaliveMs,
    drainMs: streaming.drainMs,
    onDisconnect: streaming.onDisconnect,
    onClientGone,
    live: streaming.live,
    frame: framing.frame,
    finish: (end) => {
      const costMicros = settle(end);
      return end.kind === "client_gone" ? [] : framing.closing(end, costMicros);
    },
  });
  return { kind: "stream", body, headers: { ...SSE_HEADERS, ...headers } };
}
