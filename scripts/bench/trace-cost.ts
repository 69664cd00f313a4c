/**
 * Tracing's main-thread CPU per request, in process: the pipeline's tracing stage (src/services/inference/pipeline/
 * trace.ts) run for a chat request as run.ts calls it (server span, one attempt, settlement), with the real batch
 * processor and protobuf exporter posting to a fetch that only takes the body. Tracing off runs the same calls on
 * the no-op trace. Both alternate in one process, fastest rounds kept: unlike the HTTP benchmarks this holds still
 * on a busy machine, and it shows what one change to the tracing code saves.
 *   bun scripts/bench/trace-cost.ts [--requests 25600] [--rounds 15]
 */
import { parseArgs } from "node:util";
import type { Provider, ProviderSettings } from "../../src/providers/types";
import { chat } from "../../src/services/inference/endpoints";
import { startTrace } from "../../src/services/inference/pipeline/trace";
import type { Outcome, Upstream } from "../../src/services/inference/pipeline/types";
import { createTelemetry, type Telemetry } from "../../src/telemetry/index";
import { createSampler } from "../../src/telemetry/sampler";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "25600" },
    rounds: { type: "string", default: "15" },
  },
});
// Two spans per request: a multiple of 256 requests fills whole batches of 512, so no round waits for the timer.
const REQUESTS = Math.ceil(Number(values.requests) / 256) * 256;

let exportedBytes = 0;
const telemetry = createTelemetry(
  {
    version: "0.0.0",
    url: "http://127.0.0.1:4318/v1/traces",
    protocol: "http/protobuf",
    headers: {},
    compression: "none",
    requestTimeoutMs: 10_000,
    sampler: createSampler("always_on", null),
    resource: { "service.name": "otari-gateway", "service.version": "0.0.0" },
    batch: { maxQueueSize: 2048, maxExportBatchSize: 512, scheduleDelayMs: 5000, exportTimeoutMs: 30_000 },
    propagateUpstream: true,
    capture: { enabled: false, maxChars: 4096, patterns: [] },
    // As the benchmark's gateway has them: the master key and an upstream key.
    secrets: ["sk-bench-master-key-0123456789", "bench-upstream-key"],
  },
  {
    fetch: (async (_url: string, init?: RequestInit) => {
      if (init?.body instanceof Uint8Array) exportedBytes += init.body.byteLength;
      return new Response(null, { status: 200 });
    }) as unknown as typeof fetch,
  },
);

const route: Upstream = {
  provider: {} as Provider,
  providerName: "bench",
  model: "bench-model",
  settings: { apiBase: "http://127.0.0.1:9101/v1" } as ProviderSettings,
};
const usage = {
  promptTokens: 12,
  completionTokens: 30,
  totalTokens: 42,
  cacheReadTokens: null,
  cacheWriteTokens: null,
  reasoningTokens: null,
};
const outcome: Outcome = { kind: "answered", usage, extraMicros: 0, perRequest: false, units: null };
const headers = new Headers({ "user-agent": "wrk", "content-type": "application/json" });

/** One chat request through the tracing stage, as run.ts drives it. */
function request(t: Telemetry | undefined, i: number): void {
  const body = { model: "bench:bench-model", messages: [{ role: "user" as const, content: "hi" }], max_tokens: 64 };
  const trace = startTrace(t, chat, { identity: null, body, query: undefined, requestId: `req-${i}`, headers });
  if (!trace.on) return;
  trace.admitted({
    keyId: "8c1f4e2a-6b1d-4c1e-9a3e-2f4b5c6d7e8f",
    userId: "bench-user",
    budgetDecision: "allowed",
  });
  const attempt = trace.attempt(route, { headers: {} });
  const answer = {
    id: `chatcmpl-${i.toString(36)}-0123456789abcdef`,
    object: "chat.completion",
    created: 0,
    model: "bench-model",
    choices: [{ index: 0, message: { role: "assistant", content: "hello" }, finish_reason: "stop" }],
  };
  attempt.answered({ body: answer, usage, status: 200, headers });
  trace.settled(outcome, 51);
  trace.replied();
}

/** Main-thread CPU µs per request over `REQUESTS` requests, the exports they cause included. */
async function round(t: Telemetry | undefined): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < REQUESTS; i++) {
    request(t, i);
    // Lets the batch processor's scheduled exports run, as the event loop does between requests.
    if (i % 256 === 255) await Bun.sleep(0);
  }
  while (t && t.stats().queued > 0) await Bun.sleep(1);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / REQUESTS;
}

const on: number[] = [];
const off: number[] = [];
for (let r = 0; r < Number(values.rounds); r++) {
  off.push(await round(undefined));
  on.push(await round(telemetry));
}
const best = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.slice(0, 3).reduce((s, x) => s + x, 0) / Math.min(3, sorted.length);
};
const { dropped } = telemetry.stats();
if (dropped.queue_full + dropped.export_failed > 0) throw new Error(`spans dropped: ${JSON.stringify(dropped)}`);
console.log(
  `tracing stage, mean of the fastest 3 of ${values.rounds} rounds of ${REQUESTS} requests: on ${best(on).toFixed(2)} µs, off ${best(off).toFixed(2)} µs CPU per request (${(exportedBytes / 1e6).toFixed(1)} MB exported)`,
);
