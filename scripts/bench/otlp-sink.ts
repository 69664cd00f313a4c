/**
 * A local OTLP/HTTP traces endpoint for the "traced" scenarios: takes every export and answers 200 with an empty
 * ExportTraceServiceResponse, counting exports and bytes (any GET answers them as JSON).
 *
 * It stands in for a collector on another host, so it should cost the shared cores as little as it can: tracing's
 * cost is the gateway's, not a collector's. An HTTP server that reads each ~330 KB batch into a buffer cost about
 * 4 µs of CPU per traced request here; this one speaks just enough HTTP/1.1 on a raw socket to count the body's
 * bytes as they pass and never holds them.
 *   bun scripts/bench/otlp-sink.ts --port 9106
 */
import type { Socket } from "bun";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { port: { type: "string", default: "9106" } } });
let exports = 0;
let bytes = 0;

const OK = Buffer.from(
  "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\nkeep-alive: timeout=60\r\n\r\n",
);
const stats = () => {
  const body = JSON.stringify({ exports, bytes });
  return Buffer.from(
    `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
  );
};
const HEAD_END = Buffer.from("\r\n\r\n");
const CONTENT_LENGTH = /^content-length:\s*(\d+)/im;

/** Per connection: the head being read (null while a body streams past), and how much body is left. */
interface State {
  head: Buffer | null;
  bodyLeft: number;
}

function onData(socket: Socket<State>, chunk: Buffer): void {
  const s = socket.data;
  let at = 0;
  while (at < chunk.length) {
    if (s.head === null) {
      // Inside a body: count it and move on.
      const take = Math.min(s.bodyLeft, chunk.length - at);
      s.bodyLeft -= take;
      bytes += take;
      at += take;
      if (s.bodyLeft === 0) {
        exports++;
        socket.write(OK);
        s.head = Buffer.alloc(0);
      }
      continue;
    }
    const head = Buffer.concat([s.head, chunk.subarray(at)]);
    const end = head.indexOf(HEAD_END);
    if (end < 0) {
      s.head = head;
      return;
    }
    const text = head.subarray(0, end).toString("latin1");
    const rest = head.subarray(end + HEAD_END.length);
    if (!text.startsWith("POST")) {
      socket.write(stats());
      s.head = Buffer.alloc(0);
      chunk = rest;
      at = 0;
      continue;
    }
    s.head = null;
    s.bodyLeft = Number(CONTENT_LENGTH.exec(text)?.[1] ?? 0);
    chunk = rest;
    at = 0;
    if (s.bodyLeft === 0) {
      exports++;
      socket.write(OK);
      s.head = Buffer.alloc(0);
    }
  }
}

const server = Bun.listen<State>({
  hostname: "127.0.0.1",
  port: Number(values.port),
  socket: {
    open(socket) {
      socket.data = { head: Buffer.alloc(0), bodyLeft: 0 };
    },
    data: onData,
  },
});
console.log(`OTLP sink listening on http://127.0.0.1:${server.port}`);
