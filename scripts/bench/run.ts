/**
 * Side-by-side benchmark (one invocation, so ratios hold on a noisy machine):
 *   (a) direct to the mock upstream, (b) a bare Bun fetch proxy hop, (c) the gateway on SQLite and (d) on Postgres,
 *   with keys, budgets, pricing, rate limits and usage logging all ON. wrk drives each at c=1 and c=64.
 * Writes scripts/bench/results/<timestamp>.{json,md}.
 *   bun scripts/bench/run.ts [--duration 5] [--no-pg] [--stream]
 */
import { spawn, spawnSync, type Subprocess } from "bun";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { duration: { type: "string", default: "5" }, "no-pg": { type: "boolean", default: false }, stream: { type: "boolean", default: false }, pg: { type: "string", default: "postgres://postgres@127.0.0.1:5432" } },
});
const ROOT = resolve(import.meta.dir, "../..");
const DURATION = `${values.duration}s`;
const MASTER = "bench-master-key-0123456789";
const PORTS = { upstream: 9101, bare: 9102, sqlite: 9103, pg: 9104 };
const children: Subprocess[] = [];

function ensureWrk(): void {
  if (spawnSync(["which", "wrk"]).exitCode === 0) return;
  console.log("installing wrk (Debian package)...");
  spawnSync(["apt-get", "update", "-qq"]);
  if (spawnSync(["apt-get", "install", "-y", "-qq", "wrk"]).exitCode !== 0) throw new Error("could not install wrk");
}

function ensureBinary(): string {
  const bin = join(ROOT, "dist/gateway");
  if (!existsSync(bin)) {
    console.log("building dist/gateway...");
    if (spawnSync(["bun", "run", "build"], { cwd: ROOT, stdout: "inherit", stderr: "inherit" }).exitCode !== 0) throw new Error("build failed");
  }
  return bin;
}

async function waitHttp(url: string, timeoutMs = 15_000): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    try {
      const res = await fetch(url);
      if (res.status < 500) return performance.now() - start;
    } catch {
      // not up yet
    }
    await Bun.sleep(5);
  }
  throw new Error(`${url} did not come up`);
}

function start(cmd: string[], env: Record<string, string> = {}, cwd = ROOT): Subprocess {
  const p = spawn(cmd, { cwd, env: { ...process.env, ...env }, stdout: "ignore", stderr: "pipe" });
  children.push(p);
  return p;
}

const rssMb = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
};

interface WrkResult {
  requests: number;
  duration_us: number;
  non2xx: number;
  errors_connect: number;
  errors_read: number;
  errors_timeout: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  rps: number;
}

function wrk(url: string, connections: number, env: Record<string, string> = {}, script = true): WrkResult {
  const args = ["wrk", "-t1", `-c${connections}`, `-d${DURATION}`, "--latency", ...(script ? ["-s", join(import.meta.dir, "post.lua")] : []), url];
  const out = spawnSync(args, { env: { ...process.env, ...env } }).stdout.toString();
  const json = /JSON(\{.*\})/.exec(out);
  if (!json?.[1]) {
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
    return { requests: 0, duration_us: 0, non2xx: 0, errors_connect: 0, errors_read: 0, errors_timeout: 0, p50: 0, p90: 0, p99: 0, p999: 0, rps };
  }
  const r = JSON.parse(json[1]) as Omit<WrkResult, "rps">;
  return { ...r, rps: Math.round(r.requests / (r.duration_us / 1e6)) };
}

async function admin(base: string, method: string, path: string, body: unknown): Promise<Record<string, string>> {
  const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, string>;
}

/** The gateway's own count of database statements (gateway_db_statements on /metrics). */
async function dbStatements(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^gateway_db_statements (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
}

async function startGateway(bin: string, port: number, databaseUrl: string): Promise<{ proc: Subprocess; key: string; coldMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), "gw-bench-"));
  const config = join(dir, "config.yml");
  writeFileSync(
    config,
    [
      `database_url: "${databaseUrl}"`,
      `master_key: "${MASTER}"`,
      "log_level: warning",
      "log_writer_strategy: batch",
      "enable_metrics: true",
      "rate_limit_rpm: 100000000",
      "providers:",
      "  bench:",
      "    provider_type: openai-compatible",
      `    api_base: "http://127.0.0.1:${PORTS.upstream}/v1"`,
      "    api_key: bench-upstream-key",
      "pricing:",
      '  "bench:bench-model":',
      "    input_price_per_million: 1.0",
      "    output_price_per_million: 2.0",
    ].join("\n"),
  );
  const t0 = performance.now();
  const proc = start([bin, "serve", "--config", config, "--port", String(port), "--host", "127.0.0.1"], {}, dir);
  await waitHttp(`http://127.0.0.1:${port}/health`);
  const coldMs = performance.now() - t0;
  const base = `http://127.0.0.1:${port}`;
  const budget = await admin(base, "POST", "/v1/budgets", { max_budget: 1_000_000 });
  await admin(base, "POST", "/v1/users", { user_id: "bench-user", budget_id: budget.budget_id });
  const key = await admin(base, "POST", "/v1/keys", { key_name: "bench", user_id: "bench-user", rpm_limit: 100_000_000, tpm_limit: 1_000_000_000 });
  return { proc, key: key.key ?? "", coldMs };
}

async function coldStarts(bin: string, n = 10): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const dir = mkdtempSync(join(tmpdir(), "gw-cold-"));
    const t0 = performance.now();
    const p = spawn([bin, "serve", "--port", "9109", "--host", "127.0.0.1", "--master-key", MASTER], { cwd: dir, stdout: "ignore", stderr: "ignore" });
    await waitHttp("http://127.0.0.1:9109/health");
    times.push(performance.now() - t0);
    p.kill("SIGTERM");
    await p.exited;
  }
  times.sort((a, b) => a - b);
  return Math.round(((times[4]! + times[5]!) / 2) * 10) / 10;
}

async function main() {
  ensureWrk();
  const bin = ensureBinary();
  start(["bun", join(import.meta.dir, "upstream.ts"), "--port", String(PORTS.upstream)]);
  start(["bun", join(import.meta.dir, "bare-proxy.ts"), "--port", String(PORTS.bare), "--upstream", `http://127.0.0.1:${PORTS.upstream}`]);
  await waitHttp(`http://127.0.0.1:${PORTS.upstream}/v1/models`);
  await waitHttp(`http://127.0.0.1:${PORTS.bare}/v1/models`);

  const scenarios: { name: string; url: string; env: Record<string, string>; pid?: number; base?: string }[] = [
    { name: "direct", url: `http://127.0.0.1:${PORTS.upstream}/v1/chat/completions`, env: { WRK_MODEL: "bench-model" } },
    { name: "bare-proxy", url: `http://127.0.0.1:${PORTS.bare}/v1/chat/completions`, env: { WRK_MODEL: "bench-model" } },
  ];
  const sqliteDir = mkdtempSync(join(tmpdir(), "gw-bench-db-"));
  const sqlite = await startGateway(bin, PORTS.sqlite, `sqlite:///${join(sqliteDir, "bench.db")}`);
  scenarios.push({ name: "gateway-sqlite", url: `http://127.0.0.1:${PORTS.sqlite}/v1/chat/completions`, env: { WRK_KEY: sqlite.key }, pid: sqlite.proc.pid, base: `http://127.0.0.1:${PORTS.sqlite}` });
  let pgDb: string | null = null;
  if (!values["no-pg"]) {
    pgDb = `gw_bench_${Date.now()}`;
    const { SQL } = await import("bun");
    const adminSql = new SQL(`${values.pg}/postgres`);
    await adminSql.unsafe(`CREATE DATABASE ${pgDb}`);
    await adminSql.close();
    const pg = await startGateway(bin, PORTS.pg, `${values.pg}/${pgDb}`);
    scenarios.push({ name: "gateway-postgres", url: `http://127.0.0.1:${PORTS.pg}/v1/chat/completions`, env: { WRK_KEY: pg.key }, pid: pg.proc.pid, base: `http://127.0.0.1:${PORTS.pg}` });
  }

  const ceiling = wrk(`http://127.0.0.1:${PORTS.upstream}/v1/models`, 64, {}, false);
  const rows: Record<string, unknown>[] = [];
  for (const s of scenarios) {
    const env = { ...s.env, WRK_STREAM: values.stream ? "1" : "0" };
    const idle = s.pid ? rssMb(s.pid) : null;
    wrk(s.url, 8, env); // warm-up
    const c1 = wrk(s.url, 1, env);
    const before = s.base ? await dbStatements(s.base) : null;
    const c64 = wrk(s.url, 64, env);
    const after = s.base ? await dbStatements(s.base) : null;
    const loaded = s.pid ? rssMb(s.pid) : null;
    await Bun.sleep(2000);
    const rssAfter = s.pid ? rssMb(s.pid) : null;
    const statementsPerRequest = before !== null && after !== null && c64.requests ? Math.round(((after - before) / c64.requests) * 1000) / 1000 : null;
    rows.push({ scenario: s.name, c1, c64, rss_idle_mb: idle, rss_loaded_mb: loaded, rss_after_mb: rssAfter, db_statements_per_request: statementsPerRequest });
    console.log(`${s.name.padEnd(18)} c=1 ${String(c1.rps).padStart(6)} rps p50 ${c1.p50}us p99 ${c1.p99}us | c=64 ${String(c64.rps).padStart(6)} rps p50 ${c64.p50}us p99 ${c64.p99}us non2xx ${c1.non2xx + c64.non2xx}`);
  }
  const cold = await coldStarts(bin);

  const direct = rows[0] as { c1: WrkResult; c64: WrkResult };
  const bare = rows[1] as { c1: WrkResult; c64: WrkResult };
  const md = [
    `Load generator ceiling (wrk, static GET on the mock, c=64): ${ceiling.rps} rps. Duration per run: ${DURATION}. ${values.stream ? "Streaming (SSE)." : "JSON."}`,
    "",
    "| scenario | c=1 rps | c=1 p50 µs | c=1 p99 µs | c=1 p99.9 µs | added p50 µs | added p99 µs | c=64 rps | c=64 p99 µs | vs bare (c=64) | RSS idle/loaded/after MB | DB statements/request |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map((r) => {
      const { c1, c64 } = r as { c1: WrkResult; c64: WrkResult };
      return `| ${r.scenario} | ${c1.rps} | ${c1.p50} | ${c1.p99} | ${c1.p999} | ${c1.p50 - direct.c1.p50} | ${c1.p99 - direct.c1.p99} | ${c64.rps} | ${c64.p99} | ${(c64.rps / bare.c64.rps).toFixed(2)}x | ${r.rss_idle_mb ?? "-"}/${r.rss_loaded_mb ?? "-"}/${r.rss_after_mb ?? "-"} | ${r.db_statements_per_request ?? "-"} |`;
    }),
    "",
    `Cold start of dist/gateway to a 200 from /health (median of 10): ${cold} ms.`,
  ].join("\n");
  const outDir = join(import.meta.dir, "results");
  mkdirSync(outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  writeFileSync(join(outDir, `${stamp}.json`), JSON.stringify({ ceiling, rows, cold_start_ms: cold, duration: DURATION }, null, 2));
  writeFileSync(join(outDir, `${stamp}.md`), md);
  console.log(`\n${md}\n\nwritten to scripts/bench/results/${stamp}.{json,md}`);

  if (pgDb) {
    for (const c of children) c.kill("SIGTERM");
    await Promise.all(children.map((c) => c.exited));
    const { SQL } = await import("bun");
    const adminSql = new SQL(`${values.pg}/postgres`);
    await adminSql.unsafe(`DROP DATABASE IF EXISTS ${pgDb} WITH (FORCE)`);
    await adminSql.close();
  }
}

try {
  await main();
} finally {
  for (const c of children) c.kill("SIGTERM");
}
