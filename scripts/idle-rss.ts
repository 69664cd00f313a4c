/**
 * Idle RSS (as scripts/bench/run.ts measures it), cold start and, with --load, c=64 throughput of dist/gateway on SQLite with metrics on: `bun scripts/idle-rss.ts [--runs 5] [--load] [--binary dist/gateway] [--port 9300]`
 *
 * Each run starts the mock upstream and `gateway serve` on a fresh database, times spawn -> first 200 from /health,
 * creates a budget, a user and a key through the API, waits a second and reads VmRSS. --load then drives wrk
 * (scripts/bench/post.lua, c=64) and reads VmRSS under load and 2 s after. Prints the median of each figure.
 */
import { spawn, spawnSync, type Subprocess } from "bun";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    load: { type: "boolean", default: false },
    duration: { type: "string", default: "5" },
    binary: { type: "string", default: "dist/gateway" },
    port: { type: "string", default: "9300" },
  },
});
const ROOT = resolve(import.meta.dir, "..");
const BIN = resolve(ROOT, values.binary);
const MASTER = "idle-rss-master-key-0123456789";
const UPSTREAM_PORT = Number(values.port);
const PORT = UPSTREAM_PORT + 1;
const base = `http://127.0.0.1:${PORT}`;

const rssMb = (pid: number): number =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

async function waitOk(url: string, child?: Subprocess): Promise<void> {
  const deadline = performance.now() + 20_000;
  while (performance.now() < deadline) {
    if (child && child.exitCode !== null)
      throw new Error(`exited with ${child.exitCode}: ${await new Response(child.stderr as ReadableStream).text()}`);
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(2);
  }
  throw new Error(`${url}: no 200 within 20 s`);
}

async function admin(path: string, body: unknown): Promise<Record<string, string>> {
  const res = await fetch(base + path, {
    method: "POST",
    headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, string>;
}

function wrk(key: string): number {
  const out = spawnSync(
    [
      "wrk",
      "-t1",
      "-c64",
      `-d${values.duration}s`,
      "-s",
      join(import.meta.dir, "bench/post.lua"),
      `${base}/v1/chat/completions`,
    ],
    {
      env: { ...process.env, WRK_KEY: key },
    },
  ).stdout.toString();
  const r = JSON.parse(/JSON(\{.*\})/.exec(out)?.[1] ?? "{}") as {
    requests?: number;
    duration_us?: number;
    non2xx?: number;
  };
  if (r.non2xx) throw new Error(`${r.non2xx} non-2xx answers under load`);
  return Math.round((r.requests ?? 0) / ((r.duration_us ?? 1) / 1e6));
}

interface Run {
  coldMs: number;
  idleMb: number;
  rps?: number;
  loadedMb?: number;
  afterMb?: number;
}

async function once(): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), "gw-idle-rss-"));
  const config = join(dir, "config.yml");
  writeFileSync(
    config,
    [
      `database_url: "sqlite:///${join(dir, "gw.db")}"`,
      `master_key: "${MASTER}"`,
      "log_level: warning",
      "log_writer_strategy: batch",
      "enable_metrics: true",
      "rate_limit_rpm: 100000000",
      "providers:",
      "  bench:",
      "    provider_type: openai-compatible",
      `    api_base: "http://127.0.0.1:${UPSTREAM_PORT}/v1"`,
      "    api_key: bench-upstream-key",
      "pricing:",
      '  "bench:bench-model":',
      "    input_price_per_million: 1.0",
      "    output_price_per_million: 2.0",
    ].join("\n"),
  );
  const started = performance.now();
  const gw = spawn([BIN, "serve", "--config", config, "--port", String(PORT), "--host", "127.0.0.1"], {
    cwd: dir,
    stdout: "ignore",
    stderr: "pipe",
  });
  try {
    await waitOk(`${base}/health`, gw);
    const coldMs = performance.now() - started;
    const budget = await admin("/v1/budgets", { max_budget: 1_000_000 });
    await admin("/v1/users", { user_id: "bench-user", budget_id: budget.budget_id });
    const { key } = await admin("/v1/keys", {
      key_name: "bench",
      user_id: "bench-user",
      rpm_limit: 100_000_000,
      tpm_limit: 1_000_000_000,
    });
    await Bun.sleep(1000);
    const run: Run = { coldMs, idleMb: rssMb(gw.pid) };
    if (values.load) {
      wrk(key ?? ""); // warm-up, as the bench does
      run.rps = wrk(key ?? "");
      run.loadedMb = rssMb(gw.pid);
      await Bun.sleep(2000);
      run.afterMb = rssMb(gw.pid);
    }
    return run;
  } finally {
    gw.kill("SIGKILL");
    await gw.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const upstream = spawn(["bun", join(import.meta.dir, "bench/upstream.ts"), "--port", String(UPSTREAM_PORT)], {
  stdout: "ignore",
  stderr: "inherit",
});
try {
  await waitOk(`http://127.0.0.1:${UPSTREAM_PORT}/v1/models`);
  const runs: Run[] = [];
  for (let i = 0; i < Number(values.runs); i++) {
    const r = await once();
    runs.push(r);
    console.log(
      `run ${i + 1}: cold ${r.coldMs.toFixed(1)} ms, idle ${r.idleMb.toFixed(1)} MB${r.rps === undefined ? "" : `, c=64 ${r.rps} rps, loaded ${r.loadedMb?.toFixed(1)} MB, after ${r.afterMb?.toFixed(1)} MB`}`,
    );
  }
  const pick = (f: (r: Run) => number | undefined) => median(runs.map(f).filter((x): x is number => x !== undefined));
  console.log(
    `median of ${runs.length}: cold ${pick((r) => r.coldMs).toFixed(1)} ms, idle RSS ${pick((r) => r.idleMb).toFixed(1)} MB` +
      (values.load
        ? `, c=64 ${pick((r) => r.rps)} rps, RSS loaded ${pick((r) => r.loadedMb).toFixed(1)} MB, after ${pick((r) => r.afterMb).toFixed(1)} MB`
        : ""),
  );
} finally {
  upstream.kill("SIGTERM");
  await upstream.exited;
}
