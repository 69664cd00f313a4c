/**
 * The floor: a bare Bun `fetch` proxy hop with no governance, forwarding the body and streaming the answer back.
 *   bun scripts/bench/bare-proxy.ts --port 9102 --upstream http://127.0.0.1:9101
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "9102" },
    upstream: { type: "string", default: "http://127.0.0.1:9101" },
  },
});
const upstream = values.upstream;

const server = Bun.serve({
  port: Number(values.port),
  hostname: "127.0.0.1",
  async fetch(req) {
    const url = new URL(req.url);
    const res = await fetch(upstream + url.pathname, {
      method: req.method,
      headers: { "content-type": "application/json" },
      body: await req.arrayBuffer(),
    });
    return new Response(res.body, {
      status: res.status,
      headers: { "content-type": res.headers.get("content-type") ?? "application/json" },
    });
  },
});
console.log(`bare proxy listening on ${server.url}`);
