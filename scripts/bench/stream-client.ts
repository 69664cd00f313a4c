/**
 * Streaming load client, run as its own process so the process under test never generates its own load.
 * Prints one JSON line.
 *   ttfb:   N sequential streaming requests (after a warm-up); time to the first SSE `data:` byte, p50/p99, the
 *           samples themselves (for the chart's distribution), and the gaps between chunks: from each content chunk
 *           ("tok ") to the next one or to `[DONE]`, as the client sees them arrive.
 *   stalls: N streams opened at once; a stream stalls if it does not bring every chunk plus [DONE], or if the first
 *           byte or any gap between reads exceeds --gap-ms.
 *   bun scripts/bench/stream-client.ts --mode ttfb|stalls --url URL --model M [--key K] [--header "name: value"]...
 *        [--n 200] [--chunks 20] [--gap-ms 2000] [--timeout-s 60]
 * Bun's fetch allows only 256 requests in flight unless BUN_CONFIG_MAX_HTTP_REQUESTS is raised: the caller sets it.
 */
import { parseArgs } from "node:util";
import { percentile, round } from "./stats";

const { values } = parseArgs({
  options: {
    mode: { type: "string", default: "ttfb" },
    url: { type: "string" },
    model: { type: "string", default: "bench-model" },
    key: { type: "string" },
    header: { type: "string", multiple: true, default: [] },
    n: { type: "string", default: "200" },
    chunks: { type: "string", default: "20" },
    "gap-ms": { type: "string", default: "2000" },
    "timeout-s": { type: "string", default: "60" },
  },
});
if (!values.url) throw new Error("--url is required");
const url = values.url;
const n = Number(values.n);
const headers: Record<string, string> = { "content-type": "application/json" };
if (values.key) headers.authorization = `Bearer ${values.key}`;
for (const h of values.header) {
  const i = h.indexOf(":");
  headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
}
const body = JSON.stringify({
  model: values.model,
  messages: [{ role: "user", content: "Say hello in five words." }],
  max_tokens: 16,
  stream: true,
});
const decoder = new TextDecoder();

interface StreamOutcome {
  status: number;
  /** ms from the request to the first SSE `data:` byte. */
  firstDataMs: number;
  /** Longest wait between two reads (after the first data), ms. */
  maxGapMs: number;
  /** Content chunks seen (the mock's deltas are "tok "). */
  chunks: number;
  done: boolean;
  error?: string;
}

/** Content chunks and the closing `[DONE]` seen so far: the marks whose arrival times give the gaps. */
const marks = (text: string) => text.split("tok ").length - 1 + (text.includes("data: [DONE]") ? 1 : 0);

/** With `gaps`, the wait before each mark after the first is pushed to it (0 for marks that came in the same read). */
async function oneStream(signal: AbortSignal, gaps?: number[]): Promise<StreamOutcome> {
  const started = performance.now();
  const out: StreamOutcome = { status: 0, firstDataMs: Number.NaN, maxGapMs: 0, chunks: 0, done: false };
  try {
    const res = await fetch(url, { method: "POST", headers, body, signal });
    out.status = res.status;
    if (!res.body) throw new Error("no body");
    let text = "";
    let last = performance.now();
    let seen = 0;
    let lastMark = Number.NaN;
    for await (const part of res.body) {
      const now = performance.now();
      text += decoder.decode(part, { stream: true });
      if (gaps) {
        const total = marks(text);
        for (let k = seen; k < total; k++) {
          if (!Number.isNaN(lastMark)) gaps.push(k === seen ? now - lastMark : 0);
          lastMark = now;
        }
        seen = total;
      }
      if (Number.isNaN(out.firstDataMs)) {
        if (text.includes("data:")) out.firstDataMs = now - started;
      } else if (now - last > out.maxGapMs) out.maxGapMs = now - last;
      last = now;
    }
    out.chunks = text.split("tok ").length - 1;
    out.done = text.includes("data: [DONE]");
    if (res.status !== 200) out.error = `HTTP ${res.status}: ${text.slice(0, 200)}`;
  } catch (err) {
    out.error = err instanceof Error ? err.message : String(err);
  }
  return out;
}

async function ttfb(): Promise<Record<string, unknown>> {
  const warmup = Math.min(20, n);
  const samples: number[] = [];
  const gaps: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  for (let i = 0; i < warmup + n; i++) {
    const streamGaps: number[] = [];
    const o = await oneStream(AbortSignal.timeout(Number(values["timeout-s"]) * 1000), streamGaps);
    const ok = o.status === 200 && o.done && !o.error;
    if (!ok) {
      errors++;
      firstError ??= o.error ?? `incomplete stream (${o.chunks} chunks, [DONE] ${o.done})`;
    } else if (i >= warmup) {
      samples.push(o.firstDataMs);
      gaps.push(...streamGaps);
    }
  }
  return {
    samples: samples.length,
    errors,
    first_error: firstError,
    p50_ms: round(percentile(samples, 50), 3),
    p90_ms: round(percentile(samples, 90), 3),
    p99_ms: round(percentile(samples, 99), 3),
    max_ms: round(Math.max(...samples), 3),
    samples_ms: [...samples].sort((a, b) => a - b).map((x) => round(x, 3)),
    gaps: gaps.length,
    gap_p50_ms: round(percentile(gaps, 50), 3),
    gap_p99_ms: round(percentile(gaps, 99), 3),
    gap_max_ms: round(Math.max(...gaps), 3),
  };
}

async function stalls(): Promise<Record<string, unknown>> {
  const expected = Number(values.chunks);
  const gapMs = Number(values["gap-ms"]);
  const signal = AbortSignal.timeout(Number(values["timeout-s"]) * 1000);
  const started = performance.now();
  const outcomes = await Promise.all(Array.from({ length: n }, () => oneStream(signal)));
  const wallMs = performance.now() - started;
  const complete = (o: StreamOutcome) => o.status === 200 && o.done && o.chunks === expected && !o.error;
  const stalled = outcomes.filter((o) => !complete(o) || o.firstDataMs > gapMs || o.maxGapMs > gapMs);
  const firsts = outcomes.map((o) => o.firstDataMs).filter((x) => !Number.isNaN(x));
  const errors = new Map<string, number>();
  for (const o of outcomes)
    if (o.error) errors.set(o.error.slice(0, 120), (errors.get(o.error.slice(0, 120)) ?? 0) + 1);
  return {
    streams: n,
    completed: outcomes.filter(complete).length,
    stalled: stalled.length,
    gap_threshold_ms: gapMs,
    max_gap_ms: round(Math.max(0, ...outcomes.map((o) => o.maxGapMs)), 1),
    first_byte_p50_ms: round(percentile(firsts, 50), 1),
    first_byte_max_ms: round(Math.max(0, ...firsts), 1),
    wall_ms: Math.round(wallMs),
    errors: Object.fromEntries([...errors].slice(0, 5)),
  };
}

const result = values.mode === "stalls" ? await stalls() : await ttfb();
console.log(JSON.stringify(result));
