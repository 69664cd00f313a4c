/**
 * The reliability suites' harness: run dist/gateway processes from a YAML config on a chosen (or free) port, read
 * their RSS and open descriptors from /proc, query their database directly, and fire bounded bursts of requests.
 * Every process started here is tracked so `killAll()` (afterAll) leaves nothing behind.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SQL, type Subprocess } from "bun";
import { stringify } from "yaml";
import { type MockServer, startOpenAIMock } from "../../src/providers/_mocks";
import { BINARY, cleanEnv, ensureBinary, freePort, plain, tempDir } from "../e2e/_gateway";
import type { TestDatabase } from "../helpers/db";

export { ensureBinary, freePort, tempDir } from "../e2e/_gateway";

export const MASTER = "rel-master-key-0123456789abcdef";

export interface GatewayProc {
  url: string;
  port: number;
  pid: number;
  /** stdout + stderr so far (ANSI stripped). */
  output(): string;
  stdout(): string;
  stderr(): string;
  kill(signal: NodeJS.Signals): void;
  exited: Promise<number>;
  /** SIGTERM and wait. */
  stop(): Promise<number>;
}

const running = new Set<Subprocess>();

/** Writes `config` as YAML to `<dir>/<name>` and returns the path. */
export function writeConfig(dir: string, config: Record<string, unknown>, name = "config.yml"): string {
  const path = join(dir, name);
  writeFileSync(path, stringify(config));
  return path;
}

async function collect(stream: ReadableStream<Uint8Array>, sink: (text: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) sink(decoder.decode(chunk, { stream: true }));
}

/** Starts `gateway serve --config <path>` on `port` (default: a free one); resolves once /health answers. */
export async function spawnGateway(opts: {
  cwd: string;
  config: string;
  port?: number;
  env?: Record<string, string>;
  timeoutMs?: number;
}): Promise<GatewayProc> {
  await ensureBinary();
  const port = opts.port ?? freePort();
  const proc = Bun.spawn([BINARY, "serve", "--config", opts.config, "--host", "127.0.0.1", "--port", String(port)], {
    cwd: opts.cwd,
    env: cleanEnv(opts.env),
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  running.add(proc);
  let out = "";
  let err = "";
  const drained = Promise.all([
    collect(proc.stdout, (t) => {
      out += t;
    }),
    collect(proc.stderr, (t) => {
      err += t;
    }),
  ]);
  const url = `http://127.0.0.1:${port}`;
  const g: GatewayProc = {
    url,
    port,
    pid: proc.pid,
    output: () => plain(out + err),
    stdout: () => plain(out),
    stderr: () => plain(err),
    kill: (signal) => proc.kill(signal),
    exited: proc.exited.then(async (code) => {
      await drained;
      running.delete(proc);
      return code;
    }),
    stop: async () => {
      proc.kill("SIGTERM");
      return g.exited;
    },
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`gateway exited with ${proc.exitCode}:\n${g.output()}`);
    try {
      if ((await fetch(`${url}/health`)).status === 200) return g;
    } catch {
      // not listening yet
    }
    await Bun.sleep(20);
  }
  proc.kill("SIGKILL");
  throw new Error(`gateway did not answer /health in time:\n${g.output()}`);
}

/** Kills every process started here and not yet exited. */
export async function killAll(): Promise<void> {
  for (const proc of running) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
  running.clear();
}

/** Resident set size (MB) and open descriptors of a live process. */
export function procStats(pid: number): { rssMb: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssMb: kb / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
}

/** Runs `n` tasks with at most `concurrency` at once; results in order. */
export async function pool<T>(n: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) out[i] = await task(i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return out;
}

export interface Reply {
  status: number;
  requestId: string | null;
  headers: Headers;
  text: string;
}

/** One HTTP call; the body is read whole (so a 200 means a complete response). */
export async function call(
  url: string,
  opts: {
    method?: string;
    token?: string | null;
    body?: unknown;
    headers?: Record<string, string>;
    signal?: AbortSignal;
  } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers["content-type"] ??= "application/json";
  const res = await fetch(url, {
    method: opts.method ?? (opts.body === undefined ? "GET" : "POST"),
    headers,
    body: opts.body === undefined ? undefined : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body),
    signal: opts.signal,
  });
  return {
    status: res.status,
    requestId: res.headers.get("x-request-id"),
    headers: res.headers,
    text: await res.text(),
  };
}

/** JSON body of a management call with the master key; throws on a non-2xx. */
export async function admin<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  master = MASTER,
): Promise<T> {
  const r = await call(base + path, { method, token: master, body });
  if (r.status >= 300) throw new Error(`${method} ${path} -> ${r.status}: ${r.text}`);
  return (r.text ? JSON.parse(r.text) : null) as T;
}

/** Read-only SQL on the gateway's database (SQLite file or Postgres URL). */
export interface DbReader {
  all<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

export function dbReader(url: string): DbReader {
  if (url.startsWith("sqlite:///")) {
    const path = url.slice("sqlite:///".length);
    const db = new Database(path, { readonly: true });
    db.exec("PRAGMA busy_timeout = 5000");
    return {
      all: async <R>(sql: string, params: unknown[] = []) => {
        const text = sql.replace(/\$(\d+)/g, "?$1");
        return db.query(text).all(...(params as import("bun:sqlite").SQLQueryBindings[])) as R[];
      },
      close: async () => db.close(),
    };
  }
  const sql = new SQL(url, { max: 2 });
  return {
    all: async <R>(text: string, params: unknown[] = []) => (await sql.unsafe(text, params)) as R[],
    close: async () => {
      await sql.close();
    },
  };
}

/** Polls `check` until true or `timeoutMs` passes; returns whether it held. */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 5000, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await Bun.sleep(stepMs);
  }
}

/** A provider-config block pointing `openai` at a mock's api_base. */
export const openaiProvider = (apiBase: string, apiKey = "sk-rel-provider-key") => ({
  openai: { api_key: apiKey, api_base: apiBase },
});

/** Base config every suite starts from (quiet logs, no bootstrap key, a known master key). */
export function baseConfig(databaseUrl: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  // Small pools: three replicas and other suites share one Postgres server (max_connections 100).
  const pools = databaseUrl.startsWith("sqlite") ? {} : { db_pool_size: 5, db_max_overflow: 3 };
  return {
    database_url: databaseUrl,
    master_key: MASTER,
    bootstrap_api_key: false,
    log_level: "warning",
    log_format: "json",
    enable_metrics: true,
    ...pools,
    ...extra,
  };
}

/** Binaries sharing one database, for the describe block running; see `clusterFixture`. */
export interface Cluster {
  /** The database, its reader and the replicas of the last `start`. */
  readonly db: TestDatabase;
  readonly reader: DbReader;
  readonly replicas: GatewayProc[];
  /** `n` binaries on a fresh database of `create`, with the model priced (a describe block's beforeAll). */
  start(create: () => Promise<TestDatabase>, n: number): Promise<void>;
  /** Stops the replicas, closes the reader and drops the database (its afterAll). */
  stop(): Promise<void>;
  /** The first replica's base URL. */
  first(): string;
  /** One more binary on the same database and config (not added to `replicas`). */
  spawn(): Promise<GatewayProc>;
  /** A budget of `usd` created through the first replica; its id. */
  budget(usd: number): Promise<string>;
}

/**
 * A file's cluster: registers the file-level hooks (an OpenAI mock up before the first test; every process killed and
 * the mock stopped after the last) and returns what each describe block starts and stops on its own database. Every
 * binary runs `baseConfig` with the mock as `openai` and `extra`, and `model` is priced at `rate` USD per million
 * tokens, in and out. Call it at a file's top level.
 */
export function clusterFixture(opts: {
  prefix: string;
  model: string;
  rate: number;
  extra?: Record<string, unknown>;
}): Cluster {
  let mock: MockServer;
  let db: TestDatabase | undefined;
  let reader: DbReader | undefined;
  let replicas: GatewayProc[] = [];
  let spawn: () => Promise<GatewayProc> = () => Promise.reject(new Error("cluster not started"));
  beforeAll(() => {
    mock = startOpenAIMock();
  });
  afterAll(async () => {
    await killAll();
    await mock?.stop();
  });
  const first = () => replicas[0]!.url;
  return {
    get db() {
      return db!;
    },
    get reader() {
      return reader!;
    },
    get replicas() {
      return replicas;
    },
    async start(create, n) {
      db = await create();
      const dir = tempDir(opts.prefix);
      const config = writeConfig(
        dir,
        baseConfig(db.url, { providers: openaiProvider(mock.apiBase), auto_migrate: false, ...opts.extra }),
      );
      spawn = () => spawnGateway({ cwd: dir, config });
      replicas = [];
      for (let i = 0; i < n; i++) replicas.push(await spawn());
      reader = dbReader(db.url);
      await admin(first(), "POST", "/v1/pricing", {
        model_key: opts.model,
        input_price_per_million: opts.rate,
        output_price_per_million: opts.rate,
      });
    },
    async stop() {
      await Promise.all(replicas.map((r) => r.stop()));
      await reader?.close();
      await db?.drop();
    },
    first,
    spawn: () => spawn(),
    budget: async (usd) =>
      (await admin<{ budget_id: string }>(first(), "POST", "/v1/budgets", { max_budget: usd })).budget_id,
  };
}

/** Users' money columns, in µ$. */
export async function userMoney(db: DbReader, userId: string): Promise<{ spend: number; reserved: number }> {
  const [row] = await db.all<{ s: unknown; r: unknown }>(
    "SELECT spend_micros AS s, reserved_micros AS r FROM users WHERE user_id = $1",
    [userId],
  );
  return { spend: Number(row?.s ?? 0), reserved: Number(row?.r ?? 0) };
}

/** Usage rows of a user: request id, status, status code, cost (µ$). */
export async function usageRows(
  db: DbReader,
  userId: string,
): Promise<
  {
    request_id: string | null;
    status: string;
    status_code: number | null;
    cost: number | null;
    total_tokens: number | null;
  }[]
> {
  const rows = await db.all<{
    request_id: string | null;
    status: string;
    status_code: unknown;
    cost_micros: unknown;
    total_tokens: unknown;
  }>("SELECT request_id, status, status_code, cost_micros, total_tokens FROM usage_logs WHERE user_id = $1", [userId]);
  return rows.map((r) => ({
    request_id: r.request_id,
    status: r.status,
    status_code: r.status_code === null ? null : Number(r.status_code),
    cost: r.cost_micros === null ? null : Number(r.cost_micros),
    total_tokens: r.total_tokens === null ? null : Number(r.total_tokens),
  }));
}

/** Prints a figure line in the test output (the suites' reports). */
export function report(label: string, figures: Record<string, unknown>): void {
  console.log(
    `[reliability] ${label}: ${Object.entries(figures)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}`,
  );
}
