/**
 * Child processes, temp dirs and other things the bench must undo. Everything registered here is torn down at the
 * end, on error and on Ctrl-C (cleanups are synchronous so they also run from a signal handler).
 */
import { spawn, type Subprocess } from "bun";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const children = new Set<Subprocess>();
const cleanups: (() => void)[] = [];
let logDir: string | null = null;

/** Registers a synchronous undo step; they run last-in first-out. */
export function onCleanup(fn: () => void): void {
  cleanups.push(fn);
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Each child's stderr goes to a file here (a pipe nobody reads could fill up and block the child). */
function logsDir(): string {
  logDir ??= tempDir("gw-bench-logs-");
  return logDir;
}

export interface Child {
  proc: Subprocess;
  log: string;
}

/** Registers a process spawned elsewhere (load generators, clients) so it is killed with the rest. */
export function track<T extends Subprocess>(proc: T): T {
  children.add(proc);
  void proc.exited.then(() => children.delete(proc));
  return proc;
}

export function start(name: string, cmd: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Child {
  const log = join(logsDir(), `${name}.log`);
  const proc = track(
    spawn(cmd, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdout: "ignore", stderr: Bun.file(log) }),
  );
  return { proc, log };
}

/** Waits for `url` on a child just started; on failure the error carries the last lines of its stderr. */
export async function waitReady(child: Child, url: string, timeoutMs?: number): Promise<void> {
  try {
    await waitHttp(url, timeoutMs);
  } catch (err) {
    const tail = logTail(child, 5).replaceAll("\n", " / ");
    throw new Error(
      `${err instanceof Error ? err.message : String(err)}${tail ? `; its stderr: ${tail.slice(0, 400)}` : ""}`,
    );
  }
}

/** The last lines a child wrote to stderr, for error messages. */
export function logTail(child: Child, lines = 15): string {
  try {
    return readFileSync(child.log, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

export async function stop(proc: Subprocess, graceMs = 5000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

export function assertPortsFree(ports: number[]): void {
  const busy = ports.filter((port) => {
    try {
      Bun.serve({ port, hostname: "127.0.0.1", fetch: () => new Response() }).stop(true);
      return false;
    } catch {
      return true;
    }
  });
  if (busy.length)
    throw new Error(`ports already in use: ${busy.join(", ")} (a bench still running, or leftovers of one?)`);
}

/** Polls until `url` answers 2xx; returns the milliseconds it took. */
export async function waitHttp(url: string, timeoutMs = 20_000, pollMs = 2): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return performance.now() - started;
    } catch {
      // not listening yet
    }
    await Bun.sleep(pollMs);
  }
  throw new Error(`${url} did not come up within ${timeoutMs} ms`);
}

const TICK_US = 1e6 / 100; // USER_HZ

/** User + system CPU time of a process so far (every thread), in µs, from /proc. */
export function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * TICK_US;
}

/** Resident set size in MB (one decimal), or null once the process is gone. */
export function rssMb(pid: number): number | null {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb ? Math.round(Number(kb) / 102.4) / 10 : null;
  } catch {
    return null;
  }
}

/** A process's soft limit on open files, from /proc (null once it is gone). */
export function openFilesLimit(pid: number): number | null {
  try {
    const soft = /^Max open files\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"))?.[1];
    return soft === undefined ? null : soft === "unlimited" ? Number.POSITIVE_INFINITY : Number(soft);
  } catch {
    return null;
  }
}

/** Samples a process's RSS every `everyMs` while `work` runs; returns the work's result and the peak. */
export async function withPeakRss<T>(
  pid: number,
  work: Promise<T>,
  everyMs = 250,
): Promise<{ result: T; peakMb: number | null }> {
  let peak: number | null = null;
  const sample = () => {
    const mb = rssMb(pid);
    if (mb !== null && (peak === null || mb > peak)) peak = mb;
  };
  const timer = setInterval(sample, everyMs);
  try {
    const result = await work;
    sample();
    return { result, peakMb: peak };
  } finally {
    clearInterval(timer);
  }
}

/** Stops every child still running (SIGTERM, then SIGKILL after the grace period). */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((proc) => stop(proc)));
}

/** Kills every child still running, then runs the registered cleanups. Safe to call more than once. */
export function cleanupAll(): void {
  for (const proc of children) proc.kill("SIGKILL");
  children.clear();
  while (cleanups.length) {
    try {
      cleanups.pop()?.();
    } catch (err) {
      console.error(`cleanup failed: ${String(err)}`);
    }
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping everything the bench started`);
    cleanupAll();
    process.exit(130);
  });
}
process.on("exit", cleanupAll);
