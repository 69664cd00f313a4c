/**
 * A lean OpenAI-format upstream for benchmarks: chat JSON answered at once (or after `--delay-ms`), and SSE
 * streams of `--chunks` chunks every `--interval-ms` when the body asks for `stream: true`. Records nothing.
 *   bun scripts/bench/upstream.ts --port 9101 [--delay-ms 0] [--chunks 20] [--interval-ms 0]
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "9101" },
    "delay-ms": { type: "string", default: "0" },
    chunks: { type: "string", default: "20" },
    "interval-ms": { type: "string", default: "0" },
  },
});
const delay = Number(values["delay-ms"]);
const chunks = Number(values.chunks);
const interval = Number(values["interval-ms"]);

const completion = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "bench-model",
  choices: [
    {
      index: 0,
      message: { role: "assistant", content: "Hello from the benchmark upstream.", refusal: null },
      logprobs: null,
      finish_reason: "stop",
    },
  ],
  usage: { prompt_tokens: 12, completion_tokens: 8, total_tokens: 20 },
});
const chunk = (i: number) =>
  `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1_700_000_000, model: "bench-model", choices: [{ index: 0, delta: i === 0 ? { role: "assistant", content: "tok " } : { content: "tok " }, finish_reason: null }] })}\n\n`;
const tail =
  `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1_700_000_000, model: "bench-model", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\n` +
  `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1_700_000_000, model: "bench-model", choices: [], usage: { prompt_tokens: 12, completion_tokens: chunks, total_tokens: 12 + chunks } })}\n\ndata: [DONE]\n\n`;
const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const server = Bun.serve({
  port: Number(values.port),
  hostname: "127.0.0.1",
  async fetch(req) {
    const url = new URL(req.url);
    if (url.pathname.endsWith("/models"))
      return Response.json({
        object: "list",
        data: [{ id: "bench-model", object: "model", created: 0, owned_by: "bench" }],
      });
    const body = (await req.json()) as { stream?: boolean };
    if (delay) await sleep(delay);
    if (!body.stream) return new Response(completion, { headers: { "content-type": "application/json" } });
    if (!interval) {
      let all = "";
      for (let i = 0; i < chunks; i++) all += chunk(i);
      return new Response(all + tail, { headers: { "content-type": "text/event-stream" } });
    }
    return new Response(
      new ReadableStream({
        async start(c) {
          for (let i = 0; i < chunks; i++) {
            c.enqueue(encoder.encode(chunk(i)));
            await sleep(interval);
          }
          c.enqueue(encoder.encode(tail));
          c.close();
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    );
  },
});
console.log(`upstream listening on ${server.url}`);
