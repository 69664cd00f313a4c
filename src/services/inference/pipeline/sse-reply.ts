/** An open upstream stream as the client's SSE reply, settled once by the pump's end (sse-pump.ts). */
import type { ProviderStream } from "../../../providers/types";
import type { SseFraming } from "./framing";
import { type Reply, SSE_HEADERS } from "./reply";
import { type LiveStreams, type PumpEnd, pumpSse } from "./sse-pump";

/**
 * Streaming knobs from config (docs/behaviour/streaming.md#settlement-of-a-stream,
 * docs/behaviour/streaming.md#keepalives), and the runtime's registry of streams in flight.
 */
export interface StreamSettings {
  live: LiveStreams;
  keepaliveMs: number;
  drainMs: number;
  onDisconnect?: () => void;
}

/**
 * Items framed as they arrive, `settle` run exactly once when the stream ends (it returns the cost for the closing
 * frames, null when unpriced), then the closing frames unless the client is gone. `onClientGone`: told when the
 * client leaves (a tool loop then starts no further round); `onFirstByte`: told when the client's first byte is
 * sent (tracing).
 */
export function sseReply<T>(
  stream: ProviderStream<T>,
  streaming: StreamSettings,
  framing: SseFraming<T>,
  settle: (end: PumpEnd) => number | null,
  headers: Record<string, string>,
  onClientGone?: () => void,
  onFirstByte?: () => void,
): Reply {
  const body = pumpSse<T>({
    stream,
    keepalive: framing.keepalive,
    keepaliveMs: streaming.keepaliveMs,
    drainMs: streaming.drainMs,
    onDisconnect: streaming.onDisconnect,
    onClientGone,
    onFirstByte,
    live: streaming.live,
    frame: framing.frame,
    finish: (end) => {
      const costMicros = settle(end);
      return end.kind === "client_gone" ? [] : framing.closing(end, costMicros);
    },
  });
  return { kind: "stream", body, headers: { ...SSE_HEADERS, ...headers } };
}
