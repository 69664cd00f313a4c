/**
 * A local OTLP/HTTP traces endpoint for the "traced" scenario: takes every export (reads the body, answers 200 with
 * an empty ExportTraceServiceResponse) and counts the bytes, so tracing's cost is the gateway's, not a collector's.
 *   bun scripts/bench/otlp-sink.ts --port 9106
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { port: { type: "string", default: "9106" } } });
let exports = 0;
let bytes = 0;

const server = Bun.serve({
  port: Number(values.port),
  hostname: "127.0.0.1",
  async fetch(req) {
    if (req.method !== "POST") return Response.json({ exports, bytes });
    bytes += (await req.arrayBuffer()).byteLength;
    exports++;
    return new Response(new Uint8Array(0), { headers: { "content-type": "application/x-protobuf" } });
  },
});
console.log(`OTLP sink listening on ${server.url}`);
