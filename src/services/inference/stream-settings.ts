/** Streaming knobs from config (SPEC §6.3-6.4). */
export interface StreamSettings {
  keepaliveMs: number;
  drainMs: number;
  onDisconnect?: () => void;
}
