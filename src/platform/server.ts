/**
 * Listening and draining (SPEC §0 "Drain"): on the first SIGTERM/SIGINT readiness turns 503 at once, new requests
 * get 503, in-flight requests and SSE streams get `graceMs` to finish, then `onDrained` runs (flush usage) and the
 * process exits 0. A second signal exits at once. A request counts here until its handler returns; the streams it
 * may go on sending are counted by the application (`streamsInFlight`), which knows when each ends, rather than by
 * wrapping every response body in one more stream.
 */
import type { Server } from "bun";

export interface ServerOptions {
  fetch: (request: Request, server: Server<undefined>) => Response | Promise<Response>;
  host: string;
  port: number;
  maxRequestBodySize: number;
  /** Answer for requests that arrive while draining. */
  refuse: (request: Request) => Response;
  /** Responses whose streamed bodies are still being sent. */
  streamsInFlight: () => number;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  draining(): boolean;
  /** Requests being handled plus streams being sent. */
  inFlight(): number;
  /** Stops taking work, waits for in-flight requests and streams up to `graceMs`; true when all finished. */
  drain(graceMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** How often a drain looks whether everything has finished. */
const DRAIN_POLL_MS = 20;

export function startServer(opts: ServerOptions): RunningServer {
  let active = 0;
  let draining = false;

  const server = Bun.serve({
    hostname: opts.host,
    port: opts.port,
    maxRequestBodySize: opts.maxRequestBodySize,
    // Streams may be idle between events for longer than Bun's default 10 s; keepalives cover the rest.
    idleTimeout: 255,
    async fetch(request, srv) {
      if (draining) return opts.refuse(request);
      active++;
      try {
        return await opts.fetch(request, srv);
      } finally {
        active--;
      }
    },
  });
  const inFlight = () => active + opts.streamsInFlight();

  return {
    url: server.url.toString(),
    port: server.port ?? opts.port,
    draining: () => draining,
    inFlight,
    async drain(graceMs) {
      draining = true;
      const deadline = Date.now() + graceMs;
      while (inFlight() > 0) {
        if (Date.now() >= deadline) return false;
        await Bun.sleep(Math.min(DRAIN_POLL_MS, deadline - Date.now()));
      }
      return true;
    },
    async close() {
      await server.stop(true);
    },
  };
}
