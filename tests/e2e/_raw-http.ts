/**
 * Raw HTTP/1.1 over a TCP socket, for what fetch cannot do: odd Host headers, a request sent a byte at a time,
 * a keep-alive connection left idle. Each connection records what it received and when it was closed.
 */
import type { Socket } from "bun";

export interface RawConnection {
  write(data: string): void;
  /** Everything received so far. */
  received(): string;
  /** Resolves with the milliseconds from open to close (by either side). */
  closed: Promise<number>;
  isClosed(): boolean;
  /** Resolves once `text` has been received (rejects after `timeoutMs`). */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  end(): void;
}

export async function connect(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  const opened = performance.now();
  let text = "";
  let done = false;
  let markClosed: (ms: number) => void = () => undefined;
  const closed = new Promise<number>((resolve) => {
    markClosed = resolve;
  });
  const close = () => {
    done = true;
    markClosed(performance.now() - opened);
  };
  const socket: Socket = await Bun.connect({
    hostname,
    port: Number(port),
    socket: {
      data(_s, chunk) {
        text += new TextDecoder().decode(chunk);
      },
      close,
      error: close,
    },
  });
  return {
    write: (data) => void socket.write(data),
    received: () => text,
    closed,
    isClosed: () => done,
    async waitFor(expected, timeoutMs = 10_000) {
      const deadline = performance.now() + timeoutMs;
      while (!text.includes(expected)) {
        if (performance.now() > deadline)
          throw new Error(
            `did not receive ${JSON.stringify(expected)} within ${timeoutMs} ms; got ${JSON.stringify(text.slice(0, 300))}`,
          );
        await Bun.sleep(10);
      }
    },
    end: () => socket.end(),
  };
}

/** The status line and body of the first response in `raw`. */
export function firstResponse(raw: string): { status: number; body: string; head: string } {
  const headEnd = raw.indexOf("\r\n\r\n");
  const head = raw.slice(0, headEnd);
  return { status: Number(head.split(" ")[1]), head, body: raw.slice(headEnd + 4) };
}

/** One request on its own connection, `Connection: close`; resolves with the whole answer. */
export async function rawRequest(
  url: string,
  request: string,
  timeoutMs = 10_000,
): Promise<{ status: number; body: string; head: string }> {
  const conn = await connect(url);
  conn.write(request);
  await Promise.race([conn.closed, Bun.sleep(timeoutMs)]);
  conn.end();
  return firstResponse(conn.received());
}
