/**
 * Runs the compiled binary as a user would: `ensureBinary()` builds dist/gateway once (when it is missing or older
 * than the sources), `run()` executes one command in a temp cwd with a clean environment, `startServe()` runs
 * `serve` on a random free port and waits for /health. Every spawned server is tracked so `stopAll()` (afterAll)
 * can kill what a failed test left behind.
 */
import { existsSync, mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

export const ROOT = join(import.meta.dir, "..", "..");
export const BINARY = join(ROOT, "dist", "gateway");

/** Newest modification time under the build's inputs. */
function newestInput(): number {
  let newest = 0;
  const walk = (path: string) => {
    const st = statSync(path);
    if (st.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
    else if (!path.endsWith(".test.ts")) newest = Math.max(newest, st.mtimeMs);
  };
  for (const input of ["src", "drizzle", "package.json", "bun.lock"])
    if (existsSync(join(ROOT, input))) walk(join(ROOT, input));
  return newest;
}

let built: Promise<void> | null = null;

/** Builds dist/gateway with scripts/build.ts unless an up-to-date binary exists (once per test process). */
export function ensureBinary(): Promise<void> {
  built ??= (async () => {
    if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= newestInput()) return;
    const proc = Bun.spawn([process.execPath, "scripts/build.ts"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    if (code !== 0) throw new Error(`bun run build failed (${code}):\n${out}${err}`);
  })();
  return built;
}

/** A temp directory to run in: no config.yml or .env from the repo is picked up. */
export const tempDir = (prefix = "gw-e2e-") => mkdtempSync(join(tmpdir(), prefix));

/** The environment without anything that would configure the gateway behind the test's back. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || /^(OTARI_|GATEWAY_|DATABASE_URL$)/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, NO_COLOR: "1", ...extra };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes.
const ANSI = /\u001b\[[0-9;]*m/g;
export const plain = (text: string) => text.replace(ANSI, "");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<RunResult> {
  const proc = Bun.spawn([BINARY, ...args], {
    cwd: opts.cwd,
    env: cleanEnv(opts.env),
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout: plain(stdout), stderr: plain(stderr) };
}

/** `run` that expects exit 0 and parses stdout as JSON. */
export async function runJson<T = unknown>(
  args: string[],
  opts: { cwd: string; env?: Record<string, string> },
): Promise<T> {
  const result = await run(args, opts);
  if (result.code !== 0)
    throw new Error(`gateway ${args.join(" ")} exited ${result.code}:\n${result.stderr}${result.stdout}`);
  return JSON.parse(result.stdout) as T;
}

export function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

const running = new Set<Subprocess>();

export interface Served {
  url: string;
  /** The gateway's process id. */
  pid: number;
  /** Everything the process wrote so far (ANSI stripped). */
  output(): string;
  /** What the process wrote to stderr so far (ANSI stripped). */
  stderr(): string;
  /** What the process wrote to stdout so far (ANSI stripped). */
  stdout(): string;
  stop(): Promise<number>;
  /** Sends a signal without waiting. */
  kill(signal: NodeJS.Signals): void;
  /** Resolves with the exit code. */
  exited: Promise<number>;
}

async function collect(stream: ReadableStream<Uint8Array>, sink: (text: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) sink(decoder.decode(chunk, { stream: true }));
}

/**
 * Starts `gateway serve` and resolves once /health answers 200 (rejects with the output if it exits first). It
 * listens on 127.0.0.1 and a free port given as flags, unless `port` is given: then the caller's env or config says
 * where (e.g. OTARI_HOST / OTARI_PORT) and `port` is only where to find it. `fdLimit` runs it with that open-file
 * limit (soft and hard), through the shell's ulimit.
 */
export async function startServe(
  args: string[],
  opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number; port?: number; fdLimit?: number },
): Promise<Served> {
  const port = opts.port ?? freePort();
  const listen = opts.port === undefined ? ["--host", "127.0.0.1", "--port", String(port)] : [];
  const command = [BINARY, "serve", ...listen, ...args];
  const limited = opts.fdLimit
    ? ["bash", "-c", `ulimit -Sn ${opts.fdLimit} && ulimit -Hn ${opts.fdLimit} && exec "$@"`, "gateway", ...command]
    : command;
  const proc = Bun.spawn(limited, {
    cwd: opts.cwd,
    env: cleanEnv(opts.env),
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  running.add(proc);
  let text = "";
  let out = "";
  let err = "";
  const drained = Promise.all([
    collect(proc.stdout, (chunk) => {
      text += chunk;
      out += chunk;
    }),
    collect(proc.stderr, (chunk) => {
      text += chunk;
      err += chunk;
    }),
  ]);
  const url = `http://127.0.0.1:${port}`;
  const served: Served = {
    url,
    pid: proc.pid,
    output: () => plain(text),
    stderr: () => plain(err),
    stdout: () => plain(out),
    kill: (signal) => proc.kill(signal),
    exited: proc.exited,
    stop: async () => {
      proc.kill("SIGTERM");
      const code = await proc.exited;
      await drained;
      running.delete(proc);
      return code;
    },
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) {
      await drained;
      running.delete(proc);
      throw new Error(`gateway serve exited with ${proc.exitCode}:\n${plain(text)}`);
    }
    try {
      if ((await fetch(`${url}/health`)).status === 200) return served;
    } catch {
      // not listening yet
    }
    await Bun.sleep(10);
  }
  await served.stop();
  throw new Error(`gateway serve did not answer /health within the timeout:\n${plain(text)}`);
}

/** Kills every server a test started and did not stop. */
export async function stopAll(): Promise<void> {
  for (const proc of running) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
  running.clear();
}

export interface HttpResult {
  status: number;
  json: unknown;
}

export async function http(
  url: string,
  opts: { method?: string; token?: string; body?: unknown } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(url, {
    method: opts.method ?? "GET",
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

/** Polls `probe` until it returns true (the server caches keys for up to 1 s); fails after `timeoutMs`. */
export async function eventually(probe: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await Bun.sleep(50);
  }
}
