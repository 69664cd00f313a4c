/**
 * wrk (Debian package) as the load generator: one thread, so it keeps to one core of the two and leaves the other
 * to the process under test. post.lua sends the chat body and prints the latency percentiles as JSON.
 */
import { spawn, spawnSync } from "bun";
import { join } from "node:path";
import { track } from "./processes";

export interface WrkResult {
  connections: number;
  requests: number;
  duration_us: number;
  rps: number;
  non2xx: number;
  errors_connect: number;
  errors_read: number;
  errors_timeout: number;
  /** Latency percentiles in microseconds. */
  p50: number;
  p90: number;
  p99: number;
  p999: number;
}

export function ensureWrk(): void {
  if (spawnSync(["which", "wrk"]).exitCode === 0) return;
  console.log("installing wrk (Debian package)...");
  const sudo = process.getuid?.() === 0 ? [] : ["sudo", "-n"];
  spawnSync([...sudo, "apt-get", "update", "-qq"], { stdout: "inherit", stderr: "inherit" });
  const install = spawnSync([...sudo, "apt-get", "install", "-y", "-qq", "wrk"], {
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    stdout: "inherit",
    stderr: "inherit",
  });
  if (install.exitCode !== 0) throw new Error("could not install wrk: run `apt-get install wrk` as root");
}

/** The open-files limit wrk asks for (and the realistic load checks the processes under test against). */
export const FD_LIMIT = 65_536;

export interface WrkOptions {
  url: string;
  connections: number;
  seconds: number;
  /** Extra request headers (e.g. Portkey's routing headers). */
  headers?: Record<string, string>;
  /** post.lua settings: WRK_KEY (bearer key), WRK_MODEL, WRK_STREAM. */
  env?: Record<string, string>;
  /** Plain GETs instead of the chat POST (the load generator's own ceiling). */
  get?: boolean;
}

export async function runWrk(o: WrkOptions): Promise<WrkResult> {
  const args = ["wrk", "-t1", `-c${o.connections}`, `-d${o.seconds}s`, "--timeout", "10s", "--latency"];
  for (const [name, value] of Object.entries(o.headers ?? {})) args.push("-H", `${name}: ${value}`);
  args.push("-s", join(import.meta.dir, "post.lua"), o.url);
  // wrk needs a descriptor per connection: the shell lifts its soft limit (to the hard one at worst) for 1,000 of them.
  const lifted = ["sh", "-c", `ulimit -n ${FD_LIMIT} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`, "sh"];
  const proc = track(
    spawn([...lifted, ...args], {
      env: { ...process.env, ...o.env, WRK_GET: o.get ? "1" : "0" },
      stdout: "pipe",
      stderr: "pipe",
    }),
  );
  const [out, err] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  const json = /JSON(\{.*\})/.exec(out)?.[1];
  if (!json)
    throw new Error(`wrk gave no result for ${o.url} (c=${o.connections}): ${(err || out).trim().slice(0, 400)}`);
  const r = JSON.parse(json) as Omit<WrkResult, "rps" | "connections">;
  return { connections: o.connections, ...r, rps: Math.round(r.requests / (r.duration_us / 1e6)) };
}

/** Requests that did not get a 2xx answer, of any kind. */
export const failures = (r: WrkResult): number => r.non2xx + r.errors_connect + r.errors_read + r.errors_timeout;
