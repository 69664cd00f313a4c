/**
 * Soak (opt-in, --soak SECONDS): steady wrk load at moderate concurrency against a gateway, its RSS sampled every
 * 5 s; the figure is the least-squares slope in MB/min of the samples after a 60 s warm-up, with its standard error
 * (the garbage collector's sawtooth is several MB, so the error says how far the slope can be trusted).
 * (scripts/soak.ts is the other soak: mixed traffic, errors and management calls.)
 */
import { rssMb } from "./processes";
import { linearFit, round } from "./stats";
import { failures, runWrk, type WrkResult } from "./wrk";

export interface SoakResult {
  seconds: number;
  connections: number;
  warmup_s: number;
  samples: [number, number][];
  slope_mb_per_min: number;
  slope_stderr_mb_per_min: number;
  sample_s: number;
  rss_start_mb: number | null;
  rss_end_mb: number | null;
  rps: number;
  failed_requests: number;
}

export async function runSoak(o: {
  pid: number;
  url: string;
  env: Record<string, string>;
  seconds: number;
  connections?: number;
  sampleS?: number;
  warmupS?: number;
}): Promise<SoakResult> {
  const connections = o.connections ?? 16;
  const sampleS = o.sampleS ?? 5;
  const warmupS = o.warmupS ?? 60;
  const samples: [number, number][] = [];
  const started = performance.now();
  const take = () => {
    const mb = rssMb(o.pid);
    if (mb !== null) samples.push([round((performance.now() - started) / 1000, 1), mb]);
  };
  take();
  const timer = setInterval(() => {
    take();
    const last = samples.at(-1);
    if (last && Math.round(last[0]) % 60 < sampleS) console.log(`  soak t=${last[0]}s rss=${last[1]} MB`);
  }, sampleS * 1000);
  let load: WrkResult;
  try {
    load = await runWrk({ url: o.url, connections, seconds: o.seconds, env: o.env });
  } finally {
    clearInterval(timer);
  }
  take();
  const steady = samples.filter(([t]) => t >= warmupS);
  const fit = linearFit(steady);
  return {
    seconds: o.seconds,
    connections,
    warmup_s: warmupS,
    samples,
    slope_mb_per_min: round(fit.slope * 60, 3),
    slope_stderr_mb_per_min: round(fit.stderr * 60, 3),
    sample_s: sampleS,
    rss_start_mb: steady[0]?.[1] ?? null,
    rss_end_mb: samples.at(-1)?.[1] ?? null,
    rps: load.rps,
    failed_requests: failures(load),
  };
}
