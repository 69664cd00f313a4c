/**
 * Soak test (not in CI): N minutes of mixed traffic against dist/gateway on SQLite with the bench upstream
 * (scripts/bench/upstream.ts): JSON chat, SSE streams, errors (bad key, bad body, unknown provider, an unreachable
 * provider) and management calls. Samples the gateway's RSS, open descriptors and the SQLite files' size every
 * `--sample-s` seconds, then prints the RSS slope (MB/min, least squares after the warm-up) and growth figures.
 * Bounded and self-stopping: everything it started is stopped at the end, or by a hard deadline.
 *
 *   bun scripts/soak.ts [--minutes 10] [--concurrency 16] [--sample-s 10] [--warmup-s 30]
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    concurrency: { type: "string", default: "16" },
    "sample-s": { type: "string", default: "10" },
    "warmup-s": { type: "string", default: "30" },
  },
});
const minutes = Number(values.minutes);
const concurrency = Number(values.concurrency);
const sampleMs = Number(values["sample-s"]) * 1000;
const warmupMs = Number(values["warmup-s"]) * 1000;
const ROOT = resolve(import.meta.dir, "..");
const BINARY = join(ROOT, "dist", "gateway");
const MASTER = "soak-master-key-0123456789";

function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port as number;
  probe.stop(true);
  return port;
}

async function waitFor(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      await fetch(url);
      return;
    } catch {
      await Bun.sleep(50);
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

if (!existsSync(BINARY)) {
  const build = Bun.spawnSync([process.execPath, join(ROOT, "scripts", "build.ts")], {
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  });
  if (build.exitCode !== 0) process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), "gw-soak-"));
const upstreamPort = freePort();
const gatewayPort = freePort();
const upstream = Bun.spawn(
  [
    process.execPath,
    join(ROOT, "scripts", "bench", "upstream.ts"),
    "--port",
    String(upstreamPort),
    "--chunks",
    "10",
    "--interval-ms",
    "5",
  ],
  {
    stdout: "ignore",
    stderr: "inherit",
  },
);
const dbPath = join(dir, "soak.db");
writeFileSync(
  join(dir, "config.yml"),
  stringify({
    database_url: `sqlite:///${dbPath}`,
    master_key: MASTER,
    bootstrap_api_key: false,
    log_level: "warning",
    log_format: "json",
    enable_metrics: true,
    providers: {
      openai: { api_key: "sk-soak", api_base: `http://127.0.0.1:${upstreamPort}/v1` },
      dead: { provider_type: "openai", api_key: "sk-soak", api_base: `http://127.0.0.1:${freePort()}/v1` },
    },
  }),
);
const gateway = Bun.spawn(
  [BINARY, "serve", "--config", join(dir, "config.yml"), "--host", "127.0.0.1", "--port", String(gatewayPort)],
  {
    cwd: dir,
    stdout: "ignore",
    stderr: "ignore",
  },
);
const base = `http://127.0.0.1:${gatewayPort}`;
const totalMs = minutes * 60_000;
// Hard stop: whatever happens, nothing outlives the run by more than a minute.
const hardStop = setTimeout(() => {
  gateway.kill("SIGKILL");
  upstream.kill("SIGKILL");
  process.exit(2);
}, totalMs + 60_000);

const stats = new Map<string, number>();
const count = (label: string) => stats.set(label, (stats.get(label) ?? 0) + 1);

async function call(
  label: string,
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
): Promise<Response | null> {
  try {
    const res = await fetch(base + path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    await res.arrayBuffer();
    count(`${label} ${res.status}`);
    return res;
  } catch {
    count(`${label} network-error`);
    return null;
  }
}

interface Sample {
  t: number;
  rssMb: number;
  fds: number;
  dbMb: number;
}
const samples: Sample[] = [];
function sample(started: number): Sample {
  const status = readFileSync(`/proc/${gateway.pid}/status`, "utf8");
  const rssMb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  const fds = readdirSync(`/proc/${gateway.pid}/fd`).length;
  let dbBytes = 0;
  for (const suffix of ["", "-wal", "-shm"]) if (existsSync(dbPath + suffix)) dbBytes += statSync(dbPath + suffix).size;
  const s = { t: (Date.now() - started) / 1000, rssMb, fds, dbMb: dbBytes / 2 ** 20 };
  samples.push(s);
  console.log(
    `t=${s.t.toFixed(0)}s rss=${s.rssMb.toFixed(1)}MB fds=${s.fds} db=${s.dbMb.toFixed(2)}MB requests=${[...stats.values()].reduce((a, b) => a + b, 0)}`,
  );
  return s;
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const num = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const den = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

try {
  await waitFor(`http://127.0.0.1:${upstreamPort}/v1/models`, 10_000);
  await waitFor(`${base}/health`, 20_000);
  await call("setup", "POST", "/v1/pricing", MASTER, {
    model_key: "openai:bench-model",
    input_price_per_million: 1,
    output_price_per_million: 2,
  });
  const budget = (await (
    await fetch(`${base}/v1/budgets`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
      body: JSON.stringify({ max_budget: 1_000_000 }),
    })
  ).json()) as {
    budget_id: string;
  };
  await call("setup", "POST", "/v1/users", MASTER, { user_id: "soak-user", budget_id: budget.budget_id });
  const { key } = (await (
    await fetch(`${base}/v1/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
      body: JSON.stringify({ user_id: "soak-user" }),
    })
  ).json()) as {
    key: string;
  };

  const started = Date.now();
  const deadline = started + totalMs;
  sample(started);
  const sampler = setInterval(() => sample(started), sampleMs);
  const chat = { model: "openai:bench-model", messages: [{ role: "user", content: "soak" }], max_tokens: 16 };
  let n = 0;
  const ops: [number, () => Promise<unknown>][] = [
    [50, () => call("chat", "POST", "/v1/chat/completions", key, chat)],
    [
      20,
      () =>
        call("stream", "POST", "/v1/chat/completions", key, {
          ...chat,
          stream: true,
          stream_options: { include_usage: true },
        }),
    ],
    [3, () => call("err-bad-key", "POST", "/v1/chat/completions", `gw-${"x".repeat(60)}`, chat)],
    [
      3,
      () => call("err-bad-body", "POST", "/v1/chat/completions", key, '{"model": "openai:bench-model", "messages": ['),
    ],
    [2, () => call("err-unknown-provider", "POST", "/v1/chat/completions", key, { ...chat, model: "nope:model" })],
    [2, () => call("err-dead-provider", "POST", "/v1/chat/completions", key, { ...chat, model: "dead:bench-model" })],
    [
      5,
      async () => {
        const id = `soak-${n++}`;
        await call("mgmt-user", "POST", "/v1/users", MASTER, { user_id: id });
        const res = await fetch(`${base}/v1/keys`, {
          method: "POST",
          headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
          body: JSON.stringify({ user_id: id }),
        });
        const created = (await res.json()) as { id?: string };
        count(`mgmt-key ${res.status}`);
        if (created.id) await call("mgmt-key-delete", "DELETE", `/v1/keys/${created.id}`, MASTER);
        await call("mgmt-user-delete", "DELETE", `/v1/users/${id}`, MASTER);
      },
    ],
    [5, () => call("mgmt-read", "GET", "/v1/usage?limit=50", MASTER)],
    [5, () => call("mgmt-read", "GET", "/v1/users/soak-user", MASTER)],
    [5, () => call("metrics", "GET", "/metrics", null)],
  ];
  const weight = ops.reduce((a, [w]) => a + w, 0);
  const pick = () => {
    let r = Math.random() * weight;
    for (const [w, op] of ops) {
      r -= w;
      if (r < 0) return op;
    }
    return ops[0]![1];
  };
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) await pick()();
    }),
  );
  clearInterval(sampler);
  const last = sample(started);

  const steady = samples.filter((s) => s.t * 1000 >= warmupMs);
  const rssSlope = slope(steady.map((s) => [s.t / 60, s.rssMb]));
  const fdSlope = slope(steady.map((s) => [s.t / 60, s.fds]));
  const first = steady[0] ?? samples[0]!;
  const total = [...stats.values()].reduce((a, b) => a + b, 0);
  console.log("\n== soak summary ==");
  console.log(
    `duration: ${minutes} min, concurrency ${concurrency}, requests ${total} (${(total / (minutes * 60)).toFixed(0)}/s)`,
  );
  for (const [label, c] of [...stats.entries()].sort()) console.log(`  ${label}: ${c}`);
  console.log(
    `RSS: start ${samples[0]!.rssMb.toFixed(1)} MB, after warm-up ${first.rssMb.toFixed(1)} MB, end ${last.rssMb.toFixed(1)} MB, max ${Math.max(...samples.map((s) => s.rssMb)).toFixed(1)} MB`,
  );
  console.log(`RSS slope after ${warmupMs / 1000}s warm-up: ${rssSlope.toFixed(2)} MB/min`);
  console.log(
    `open fds: start ${samples[0]!.fds}, end ${last.fds}, max ${Math.max(...samples.map((s) => s.fds))}, slope ${fdSlope.toFixed(2)}/min`,
  );
  console.log(`SQLite files: start ${samples[0]!.dbMb.toFixed(2)} MB, end ${last.dbMb.toFixed(2)} MB`);
  const networkErrors = [...stats.entries()]
    .filter(([l]) => l.endsWith("network-error"))
    .reduce((a, [, c]) => a + c, 0);
  const serverErrors = [...stats.entries()]
    .filter(([l]) => / 5\d\d$/.test(l) && !l.startsWith("err-dead-provider"))
    .reduce((a, [, c]) => a + c, 0);
  console.log(`unexpected: ${serverErrors} 5xx (outside the dead-provider case), ${networkErrors} network errors`);
} finally {
  gateway.kill("SIGTERM");
  await Promise.race([gateway.exited, Bun.sleep(35_000)]);
  gateway.kill("SIGKILL");
  upstream.kill("SIGTERM");
  await upstream.exited;
  clearTimeout(hardStop);
  rmSync(dir, { recursive: true, force: true });
}
