/**
 * The SSE framing contract of an endpoint's stream (docs/behaviour/streaming.md#wire-formats,
 * docs/behaviour/streaming.md#usage-in-streams): how one provider item becomes a frame, the keepalive, and the closing
 * frames. Each endpoint (src/services/inference/endpoints) has its own; the failure texts they share are here.
 */
import { GatewayError } from "../../../core/errors";
import type { PumpEnd } from "./sse-pump";

export interface SseFraming<T> {
  keepalive: string;
  /** The SSE frame for one item (`raw`: its upstream text, when unchanged); null holds it back or swallows it. */
  frame: (item: T, raw: string | undefined) => string | null;
  /** Closing frames once the stream is settled (not called when the client is gone); `costMicros` when priced. */
  closing: (end: PumpEnd, costMicros: number | null) => string[];
}

/** The message of every in-stream error event: never the provider's text. */
export const STREAM_ERROR_MESSAGE = "An error occurred during streaming";

/** The failure's gateway code (`provider_error`, `provider_timeout`...): a fixed word, never provider text. */
export const failureCode = (end: PumpEnd): string | null => (end.error instanceof GatewayError ? end.error.code : null);
