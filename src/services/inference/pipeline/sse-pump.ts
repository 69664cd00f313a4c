/**
 * Relays a provider stream to the client as SSE (docs/behaviour/streaming.md): frames are enqueued as they arrive,
 * keepalives fill silences, and the stream settles exactly once however it ends
 * (docs/behaviour/streaming.md#settlement-of-a-stream): normal end, upstream failure mid-stream, or a client that went
 * away (then the upstream is still read, unforwarded, for up to `drainMs` so the tokens it produced are billed).
 */
import type { NormalizedUsage } from "../../../core/wire/index";
import { hasUsage } from "../../../core/wire/index";
import { holdConnection } from "../../../runtime/request-context";
import type { ProviderStream } from "../../../providers/types";

export interface PumpEnd {
  kind: "completed" | "upstream_error" | "client_gone";
  /** Set when the gateway itself cut the stream: shutdown after the grace period ran out. */
  cutAtShutdown?: boolean;
  usage: NormalizedUsage;
  usageSeen: boolean;
  contentSeen: boolean;
  error?: unknown;
}

export interface PumpOptions<T> {
  stream: ProviderStream<T>;
  /** The SSE frame for one item (`raw`: the stream's upstream text of it); null skips it (held back or swallowed). */
  frame(item: T, raw: string | undefined): string | null;
  /** Settles and returns the closing frames (e.g. the usage chunk with its cost, then `[DONE]`). */
  finish(end: PumpEnd): string[];
  keepalive: string;
  keepaliveMs: number;
  drainMs: number;
  /** Told when a client disconnect is noticed (metrics). */
  onDisconnect?: () => void;
  /** Told when the client goes away, before the drain window (a tool loop then starts no further round). */
  onClientGone?: () => void;
  /** Told when the first bytes are handed to the client (stream timing of a trace). */
  onFirstByte?: () => void;
  /** Where this stream registers while in flight (its runtime's shutdown cuts what is left). */
  live: LiveStreams;
}

const encoder = new TextEncoder();

interface LiveStream {
  cut(): void;
  ended: Promise<void>;
}

/** The streams one runtime has in flight, for the end of its graceful shutdown. */
export interface LiveStreams {
  add(s: LiveStream): void;
  delete(s: LiveStream): void;
  /** Streams in flight (the server's drain waits for them). */
  size(): number;
  /**
   * Cuts every stream still in flight (`shutdown_grace_seconds` is over,
   * docs/behaviour/streaming.md#streams-at-shutdown): stops forwarding, cancels the upstream at once (no drain window),
   * settles each as a stream the gateway ended, and ends the client's response with an error so it knows the stream is
   * incomplete. Resolves with how many were cut once all have settled (their usage rows queued for the final flush), or
   * after `timeoutMs`.
   */
  cutAll(timeoutMs?: number): Promise<number>;
}

export function createLiveStreams(): LiveStreams {
  const live = new Set<LiveStream>();
  return {
    add: (s) => void live.add(s),
    delete: (s) => void live.delete(s),
    size: () => live.size,
    async cutAll(timeoutMs = 2000) {
      const streams = [...live];
      for (const s of streams) s.cut();
      const all = Promise.all(streams.map((s) => s.ended));
      await Promise.race([all, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
      return streams.length;
    },
  };
}

export function pumpSse<T>(o: PumpOptions<T>): ReadableStream<Uint8Array> {
  let clientGone = false;
  let drainTimer: ReturnType<typeof setTimeout> | null = null;
  let keepaliveTimer: ReturnType<typeof setInterval> | null = null;
  let lastWrite = Date.now();
  let cutAtShutdown = false;

  return new ReadableStream<Uint8Array>({
    start(controller) {
      // Silences between events are not an idle connection: the server's idle clock waits for the end.
      const release = holdConnection();
      let markEnded = () => {};
      const entry: LiveStream = {
        ended: new Promise<void>((resolve) => {
          markEnded = resolve;
        }),
        cut() {
          cutAtShutdown = true;
          clientGone = true;
          if (drainTimer) clearTimeout(drainTimer);
          void o.stream.cancel("gateway shutting down: grace period over");
        },
      };
      o.live.add(entry);
      let firstByte = o.onFirstByte;
      const write = (text: string) => {
        if (clientGone) return;
        try {
          controller.enqueue(encoder.encode(text));
          lastWrite = Date.now();
          if (firstByte) {
            firstByte();
            firstByte = undefined;
          }
        } catch {
          clientGone = true;
        }
      };
      if (o.keepaliveMs > 0) {
        keepaliveTimer = setInterval(
          () => {
            if (Date.now() - lastWrite >= o.keepaliveMs) write(o.keepalive);
          },
          Math.max(Math.floor(o.keepaliveMs / 4), 10),
        );
      }
      const run = async () => {
        let end: PumpEnd;
        try {
          for await (const item of o.stream) {
            const f = o.frame(item, o.stream.raw);
            if (f !== null) write(f);
          }
          const usage = o.stream.usage;
          end = {
            kind: clientGone ? "client_gone" : "completed",
            usage,
            usageSeen: hasUsage(usage),
            contentSeen: o.stream.contentSeen,
          };
        } catch (error) {
          const usage = o.stream.usage;
          end = {
            kind: clientGone ? "client_gone" : "upstream_error",
            usage,
            usageSeen: hasUsage(usage),
            contentSeen: o.stream.contentSeen,
            error,
          };
        }
        if (keepaliveTimer) clearInterval(keepaliveTimer);
        if (drainTimer) clearTimeout(drainTimer);
        if (cutAtShutdown) end = { ...end, kind: "client_gone", cutAtShutdown: true };
        try {
          for (const f of o.finish(end)) write(f);
        } finally {
          o.live.delete(entry);
          markEnded();
          release();
        }
        if (cutAtShutdown) {
          try {
            controller.error(new Error("stream cut: the gateway is shutting down"));
          } catch {
            // already closed by the client
          }
        } else if (!clientGone) {
          try {
            controller.close();
          } catch {
            // already closed by the client
          }
        }
      };
      void run();
    },
    cancel() {
      if (clientGone) return;
      clientGone = true;
      o.onDisconnect?.();
      o.onClientGone?.();
      drainTimer = setTimeout(() => void o.stream.cancel("client disconnected; drain window over"), o.drainMs);
    },
  });
}
