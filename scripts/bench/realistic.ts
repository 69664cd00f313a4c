/**
 * The realistic load (issue #20): an upstream that answers after 60 ms and streams 30 chunks over 1.5 s, and 1,000
 * clients held open for the whole run, most asking for JSON and the rest for streams, side by side (two wrk
 * processes, one thread each). Throughput, latency and errors come from wrk; the peak RSS of the process under test
 * from /proc, sampled during the run.
 */
import { openFilesLimit, withPeakRss } from "./processes";
import { runWrk, type WrkResult } from "./wrk";

/** What the realistic upstream does (upstream.ts flags): 60 ms before the answer, then 30 chunks 50 ms apart. */
export const REALISTIC_UPSTREAM = { delayMs: 60, chunks: 30, intervalMs: 50 };
/** The share of the clients that ask for streams. */
export const STREAM_SHARE = 0.2;

export interface RealisticTarget {
  url: string;
  /** post.lua settings (WRK_KEY, WRK_MODEL); WRK_STREAM is set here. */
  env: Record<string, string>;
  headers?: Record<string, string>;
}

export interface RealisticResult {
  seconds: number;
  clients: number;
  json: WrkResult;
  streams: WrkResult;
  /** Peak RSS of the process under test during the run, sampled every 250 ms. */
  peak_rss_mb: number | null;
  /** Its soft limit on open files: two per client (client side and upstream side) must fit. */
  open_files_limit: number | null;
}

export async function runRealistic(
  pid: number,
  t: RealisticTarget,
  o: { clients: number; seconds: number },
): Promise<RealisticResult> {
  const streamClients = Math.round(o.clients * STREAM_SHARE);
  const load = (connections: number, stream: boolean) =>
    runWrk({
      url: t.url,
      headers: t.headers,
      connections,
      seconds: o.seconds,
      env: { ...t.env, WRK_STREAM: stream ? "1" : "0" },
    });
  const { result, peakMb } = await withPeakRss(
    pid,
    Promise.all([load(o.clients - streamClients, false), load(streamClients, true)]),
  );
  const [json, streams] = result;
  return {
    seconds: o.seconds,
    clients: o.clients,
    json,
    streams,
    peak_rss_mb: peakMb,
    open_files_limit: openFilesLimit(pid),
  };
}
