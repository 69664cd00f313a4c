/**
 * Listening and draining (SPEC §0 "Drain"): on the first SIGTERM/SIGINT readiness turns 503 at once, new requests
 * get 503, in-flight requests and SSE streams get `graceMs` to finish, then `onDrained` runs (flush usage) and the
 * process exits 0. A second signal exits at once.
 */
import type { Server } from "bun";

export interface ServerOptions {
  fetch: (request: Request, server: Server<undefined>) => Response | Promise<Response>;
  host: string;
  port: number;
  maxRequestBodySize: number;
  /** Answer for requests that arrive while draining. */
  refuse: (request: Request) => Response;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  draining(): boolean;
  inFlight(): number;
  /** Stops taking work, waits for in-flight requests and streams up to `graceMs`; true when all finished. */
  drain(graceMs: number): Promise<boolean>;
  close(): Promise<void>;
}

const SSE = "text/event-stream";

export function startServer(opts: ServerOptions): RunningServer {
  let active = 0;
  let draining = false;
  let idle: (() => void) | null = null;
  const done = () => {
    active--;
    if (active === 0) idle?.();
  };

  /** Keeps a streamed body counted as in flight until it ends or the client goes away. */
  function track(response: Response): Response {
    if (!response.body || !response.headers.get("content-type")?.startsWith(SSE)) {
      done();
      return response;
    }
    let finished = false;
    const finish = () => {
      if (!finished) {
        finished = true;
        done();
      }
    };
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { value, done: end } = await reader.read();
          if (end) {
            controller.close();
            finish();
          } else controller.enqueue(value);
        } catch (err) {
          finish();
          controller.error(err);
        }
      },
      cancel(reason) {
        finish();
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  }

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
        return track(await opts.fetch(request, srv));
      } catch (err) {
        done();
        throw err;
      }
    },
  });

  return {
    url: server.url.toString(),
    port: server.port ?? opts.port,
    draining: () => draining,
    inFlight: () => active,
    async drain(graceMs) {
      draining = true;
      if (active === 0) return true;
      const allDone = new Promise<boolean>((resolve) => {
        idle = () => resolve(true);
      });
      const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), graceMs).unref());
      return Promise.race([allDone, timeout]);
    },
    async close() {
      await server.stop(true);
    },
  };
}
