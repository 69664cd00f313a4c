/**
 * Listening and draining (docs/operations.md#shutdown-and-drain): on the first SIGTERM/SIGINT readiness turns 503 at
 * once, new requests get 503, in-flight requests and SSE streams get `graceMs` to finish, then `onDrained` runs (flush
 * usage) and the process exits 0. A second signal exits at once. A request counts here until its handler returns; the
 * streams it may go on sending are counted by the application (`streamsInFlight`), which knows when each ends, rather
 * than by wrapping every response body in one more stream.
 *
 * Connections: Bun's idle timeout (`idleTimeoutSeconds`) closes a keep-alive connection idle between requests (a
 * request head that does not arrive within about 10 s is Bun's own business). It would also count while a handler
 * waits on an upstream or a stream is silent, so once a request's head is in, its connection is taken off that
 * clock (`server.timeout(request, 0)`) until the response is complete: the handler's return, or a stream's end
 * (request-context.ts holdConnection). Reading the body has its own deadline (src/http/body.ts). The connection
 * guard (connection-guard.ts) caps open connections.
 */
import type { Server } from "bun";
import { startConnectionGuard } from "./connection-guard";
import { withRequestContext } from "./request-context";

/** Why the server answered a request itself. */
export type Refusal = "draining" | "busy" | "invalid_host";

export interface ServerOptions {
  fetch: (request: Request, server: Server<undefined>) => Response | Promise<Response>;
  host: string;
  port: number;
  maxRequestBodySize: number;
  idleTimeoutSeconds: number;
  /** Connection cap (connection-guard.ts); null = automatic. */
  maxConnections: number | null;
  /** The answer when the server refuses a request itself. */
  refuse: (request: Request, reason: Refusal) => Response;
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
  let origin = "";

  const server = Bun.serve({
    hostname: opts.host,
    port: opts.port,
    maxRequestBodySize: opts.maxRequestBodySize,
    idleTimeout: opts.idleTimeoutSeconds,
    async fetch(request, srv) {
      if (draining) return opts.refuse(request, "draining");
      if (guard.busy()) return opts.refuse(request, "busy");
      let routed = request;
      // Bun's URL is only the request target when the Host header is not a valid host: a 400 for HTTP/1.1
      // (RFC 9112 §3.2); HTTP/1.0 may send no Host at all, and is routed on its target.
      if (request.url.charCodeAt(0) === 47) {
        if (request.headers.has("host")) return opts.refuse(request, "invalid_host");
        routed = new Request(origin + request.url, request);
      }
      active++;
      srv.timeout(request, 0);
      try {
        return await withRequestContext(
          routed,
          () => srv.timeout(request, opts.idleTimeoutSeconds),
          async () => opts.fetch(routed, srv),
        );
      } finally {
        active--;
      }
    },
  });
  origin = server.url.origin;
  const guard = startConnectionGuard({ max: opts.maxConnections, closeIdle: () => server.closeIdleConnections() });
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
      guard.stop();
      await server.stop(true);
    },
  };
}
