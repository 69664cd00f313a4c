/**
 * Streaming figures, measured by stream-client.ts in a process of its own: time to first byte at concurrency 1,
 * and N concurrent streams checked for stalls.
 */
import { spawn } from "bun";
import { join } from "node:path";
import { track } from "./processes";

export interface StreamTarget {
  url: string;
  model: string;
  key?: string;
  headers?: Record<string, string>;
}

export interface TtfbResult {
  samples: number;
  errors: number;
  first_error?: string;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Every sample, sorted: the distribution the chart draws. */
  samples_ms: number[];
  /** Gaps between chunks as the client saw them arrive (see stream-client.ts). */
  gaps: number;
  gap_p50_ms: number;
  gap_p99_ms: number;
  gap_max_ms: number;
}

export interface StallResult {
  streams: number;
  completed: number;
  stalled: number;
  gap_threshold_ms: number;
  max_gap_ms: number;
  first_byte_p50_ms: number;
  first_byte_max_ms: number;
  wall_ms: number;
  errors: Record<string, number>;
}

async function client<T>(t: StreamTarget, args: string[]): Promise<T> {
  const cmd = [
    process.execPath,
    join(import.meta.dir, "stream-client.ts"),
    "--url",
    t.url,
    "--model",
    t.model,
    ...args,
  ];
  if (t.key) cmd.push("--key", t.key);
  for (const [name, value] of Object.entries(t.headers ?? {})) cmd.push("--header", `${name}: ${value}`);
  // The client is the load generator: it must not be held to Bun's default of 256 requests in flight.
  const proc = track(
    spawn(cmd, { env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: "65535" }, stdout: "pipe", stderr: "pipe" }),
  );
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  const line = out.trim().split("\n").at(-1);
  if (code !== 0 || !line) throw new Error(`stream client failed (${code}): ${err.trim().slice(-400)}`);
  return JSON.parse(line) as T;
}

export const measureTtfb = (t: StreamTarget, samples: number): Promise<TtfbResult> =>
  client<TtfbResult>(t, ["--mode", "ttfb", "--n", String(samples)]);

export const measureStalls = (
  t: StreamTarget,
  o: { streams: number; chunks: number; gapMs: number },
): Promise<StallResult> =>
  client<StallResult>(t, [
    "--mode",
    "stalls",
    "--n",
    String(o.streams),
    "--chunks",
    String(o.chunks),
    "--gap-ms",
    String(o.gapMs),
    "--timeout-s",
    "120",
  ]);
