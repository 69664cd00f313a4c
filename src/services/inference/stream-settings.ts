import type { LiveStreams } from "./sse-pump";

/** Streaming knobs from config (SPEC §6.3-6.4), and the runtime's registry of streams in flight. */
export interface StreamSettings {
  live: LiveStreams;
  keepaliveMs: number;
  drainMs: number;
  onDisconnect?: () => void;
}
