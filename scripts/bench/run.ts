/**
 * The benchmark of issue #8 in one command: `bun run bench` (= bun scripts/bench/run.ts).
 * Scenarios run side by side in one invocation, so the ratios hold on a noisy machine:
 *   direct (the mock upstream), bare-proxy (a bare Bun fetch hop: the floor), portkey (@portkey-ai/gateway on Node,
 *   the peer), gateway-sqlite and gateway-postgres (dist/gateway with keys, budgets, pricing, rate limits and usage
 *   logging all ON), and the same two "-all-levels" (every level of cost control configured besides: key, user,
 *   team and end-user budgets and max_concurrent; their difference to the two before is what those levels cost),
 *   and traced (gateway-sqlite with tracing on at ratio 1.0, exporting to a local OTLP sink).
 * Measures a wrk sweep over concurrency, stream TTFB and the gaps between chunks, N concurrent streams, the realistic
 * load (realistic.ts: 1,000 clients on a 60 ms upstream, against direct, Portkey and both gateways), RSS, cold
 * start, the usage writer and what the rollups cost it, Postgres statements per request and, opt-in, a soak.
 * Writes scripts/bench/results/<stamp>.{json,md,png}.
 *
 *   bun scripts/bench/run.ts [--duration 5] [--warmup 15] [--levels 1,8,32,64,128] [--quick] [--soak 600] [--stream]
 *        [--streams 2000] [--realistic 60] [--realistic-clients 1000] [--no-pg]
 *        [--pg postgres://postgres@127.0.0.1:5432] [--no-peer] [--no-build]
 */
import { spawn, spawnSync } from "bun";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { renderChart } from "./chart-png";
import {
  BINARY,
  buildBinary,
  type Gateway,
  gatewayStatements,
  MASTER,
  MODELS,
  ROOT,
  startGateway,
  type Upstreams,
} from "./gateway";
import { createDatabase, type Postgres, startPostgres, statementCalls } from "./pg-stats";
import { ensurePortkey, PORTKEY_ENTRY, PORTKEY_VERSION, portkeyCommand, portkeyHeaders, startPortkey } from "./portkey";
import {
  assertPortsFree,
  cleanupAll,
  rssMb,
  start,
  stop,
  stopAll,
  tempDir,
  track,
  waitReady,
  withPeakRss,
} from "./processes";
import {
  type DbStatements,
  type Outcome,
  renderMarkdown,
  type Results,
  type ScenarioResult,
  type UsageWriterResult,
} from "./report";
import { runSoak } from "./soak";
import { coldStart } from "./startup";
import { REALISTIC_UPSTREAM, type RealisticTarget, runRealistic, STREAM_SHARE } from "./realistic";
import { measureStalls, measureTtfb, type StreamTarget } from "./streams";
import { ensureWrk, failures, runWrk } from "./wrk";
import { writerCost } from "./writer-cost";

const { values } = parseArgs({
  options: {
    duration: { type: "string" },
    warmup: { type: "string" },
    levels: { type: "string" },
    quick: { type: "boolean", default: false },
    soak: { type: "string", default: "0" },
    stream: { type: "boolean", default: false },
    streams: { type: "string", default: "2000" },
    realistic: { type: "string" },
    "realistic-clients": { type: "string", default: "1000" },
    "no-pg": { type: "boolean", default: false },
    pg: { type: "string", default: "postgres://postgres@127.0.0.1:5432" },
    "no-peer": { type: "boolean", default: false },
    "no-build": { type: "boolean", default: false },
  },
});
const QUICK = values.quick;
const SECONDS = Number(values.duration ?? (QUICK ? 2 : 5));
const LEVELS = [
  ...new Set([1, 64, ...(values.levels ?? (QUICK ? "1,8,64" : "1,8,32,64,128")).split(",").map(Number)]),
].sort((a, b) => a - b);
/**
 * Seconds of load (c=32) each system serves before anything is measured. JavaScriptCore keeps compiling the request
 * path for about the first 50,000 requests (~15 s at c=64 here; its compiler threads then take a third of the
 * gateway's CPU); a short warm-up measures the compiler, not the steady state a gateway lives in. Every system,
 * the floor and the peer included, gets the same warm-up.
 */
const WARMUP_SECONDS = Number(values.warmup ?? (QUICK ? 8 : 15));
const COLD_RUNS = QUICK ? 5 : 10;
const TTFB_SAMPLES = QUICK ? 100 : 200;
const TTFB_STREAM = { chunks: 3, intervalMs: 5 };
const STALL = { streams: Number(values.streams), chunks: 20, intervalMs: 50, gapMs: 2000 };
const REALISTIC = {
  seconds: Number(values.realistic ?? (QUICK ? 10 : 60)),
  clients: Number(values["realistic-clients"]),
};
/** Rows per variant and round of the rollups' writer cost (writer-cost.ts). */
const WRITER_ROWS = QUICK ? 20_000 : 50_000;
const PORTS = {
  upstream: 9101,
  bare: 9102,
  sqlite: 9103,
  pg: 9104,
  sqliteAll: 9105,
  pgAll: 9106,
  traced: 9107,
  otlpSink: 9108,
  cold: 9109,
  upstreamTtfb: 9111,
  upstreamStreams: 9112,
  upstreamRealistic: 9115,
  bareTtfb: 9113,
  bareStreams: 9114,
  portkey: 9120,
  coldPeer: 9121,
  diagnostic: 9125,
  soak: 9130,
  postgres: 9155,
};
const HERE = import.meta.dir;
const ALL_LEVELS_LABEL = "dist/gateway, governance all ON + key, user, team and end-user budgets and max_concurrent";
const BUN = process.execPath;
const url = (port: number, path = "/v1/chat/completions") => `http://127.0.0.1:${port}${path}`;
/** The bare hop is the floor, so Bun's default cap of 256 fetches in flight must not hold it back on 2,000 streams. */
const UNCAPPED_FETCH = { BUN_CONFIG_MAX_HTTP_REQUESTS: "65535" };

/** A scenario being measured: where its load goes, and the process whose memory counts. */
interface Scenario {
  result: ScenarioResult;
  pid: number;
  load: { url: string; env: Record<string, string>; headers?: Record<string, string> };
  ttfb: StreamTarget;
  streams: StreamTarget;
  /** Where the realistic load goes; scenarios without one are left out of it. */
  realistic?: RealisticTarget;
  /** The process whose memory counts under the realistic load when it is not `pid` (direct: the 60 ms mock). */
  realisticPid?: number;
  gateway?: Gateway;
  db?: { pg: Postgres; name: string };
  counters: DbStatements;
}

const errorOf = (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) });
async function attempt<T>(what: string, fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return await fn();
  } catch (err) {
    console.log(`  ${what} failed: ${errorOf(err).error}`);
    return errorOf(err);
  }
}

function newResult(name: string, what: string, skipped?: string): ScenarioResult {
  return { name, what, skipped, sweep: [], rss: { idle_mb: null, loaded_peak_mb: null, after_mb: null } };
}

/** One JSON request and one stream through the scenario: both must reach the mock and come back whole. */
async function smoke(s: Scenario): Promise<void> {
  const headers: Record<string, string> = { "content-type": "application/json", ...s.load.headers };
  const key = s.load.env.WRK_KEY;
  if (key) headers.authorization = `Bearer ${key}`;
  const body = (model: string, stream: boolean) =>
    JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], stream });
  const json = await fetch(s.load.url, {
    method: "POST",
    headers,
    body: body(s.load.env.WRK_MODEL ?? MODELS.json, false),
  });
  const text = await json.text();
  if (json.status !== 200 || !text.includes("Hello from the benchmark upstream."))
    throw new Error(`JSON smoke request: HTTP ${json.status} ${text.slice(0, 200)}`);
  const sh = { ...headers, ...s.ttfb.headers };
  const stream = await fetch(s.ttfb.url, { method: "POST", headers: sh, body: body(s.ttfb.model, true) });
  const sse = await stream.text();
  if (stream.status !== 200 || !sse.includes("tok ") || !sse.includes("[DONE]"))
    throw new Error(`stream smoke request: HTTP ${stream.status} ${sse.slice(0, 200)}`);
}

async function dbCounters(s: Scenario): Promise<{ pg: number | null; gw: number } | null> {
  if (!s.gateway) return null;
  const gw = await gatewayStatements(s.gateway.base);
  const pg = s.db?.pg.statements ? await statementCalls(s.db.pg, s.db.name) : null;
  return { pg, gw };
}

async function startScenarios(
  upstreams: Required<Upstreams>,
  pg: Postgres | null,
  peerProblem: string | null,
): Promise<{ active: Scenario[]; results: ScenarioResult[] }> {
  const results: ScenarioResult[] = [];
  const active: Scenario[] = [];
  const noCounters = (name: string): DbStatements => ({
    scenario: name,
    requests: 0,
    pg_stat_statements: null,
    gateway_counter: 0,
    source: "",
  });
  const add = async (name: string, what: string, make: () => Promise<Omit<Scenario, "result" | "counters">>) => {
    const result = newResult(name, what);
    results.push(result);
    try {
      const s: Scenario = { ...(await make()), result, counters: noCounters(name) };
      await smoke(s);
      active.push(s);
    } catch (err) {
      result.skipped = errorOf(err).error.slice(0, 500);
      console.log(`${name}: not run: ${result.skipped}`);
    }
  };

  const serve = async (name: string, script: string, port: number, args: string[], env?: Record<string, string>) => {
    const child = start(name, [BUN, join(HERE, script), "--port", String(port), ...args], { env });
    await waitReady(child, url(port, "/v1/models"));
    return child;
  };
  const upstream = await serve("upstream", "upstream.ts", upstreams.json, []);
  await serve("upstream-ttfb", "upstream.ts", upstreams.ttfb, [
    "--chunks",
    String(TTFB_STREAM.chunks),
    "--interval-ms",
    String(TTFB_STREAM.intervalMs),
  ]);
  await serve("upstream-streams", "upstream.ts", upstreams.streams, [
    "--chunks",
    String(STALL.chunks),
    "--interval-ms",
    String(STALL.intervalMs),
  ]);
  const realisticUpstream = await serve("upstream-realistic", "upstream.ts", upstreams.realistic, [
    "--delay-ms",
    String(REALISTIC_UPSTREAM.delayMs),
    "--chunks",
    String(REALISTIC_UPSTREAM.chunks),
    "--interval-ms",
    String(REALISTIC_UPSTREAM.intervalMs),
  ]);
  const bare = (name: string, port: number, to: number) =>
    serve(name, "bare-proxy.ts", port, ["--upstream", `http://127.0.0.1:${to}`], UNCAPPED_FETCH);
  const bareJson = await bare("bare-proxy", PORTS.bare, upstreams.json);
  await bare("bare-proxy-ttfb", PORTS.bareTtfb, upstreams.ttfb);
  await bare("bare-proxy-streams", PORTS.bareStreams, upstreams.streams);

  // Scenarios that speak to the mock with its own model name, on one port per kind of upstream.
  const mockScenario = (pid: number, ports: { json: number; ttfb: number; streams: number }) => async () => ({
    pid,
    load: { url: url(ports.json), env: { WRK_MODEL: "bench-model" } },
    ttfb: { url: url(ports.ttfb), model: "bench-model" },
    streams: { url: url(ports.streams), model: "bench-model" },
  });
  await add("direct", "the mock upstream itself", async () => ({
    ...(await mockScenario(upstream.proc.pid, upstreams)()),
    // Its own process under the realistic load: the mock answering after 60 ms.
    realistic: { url: url(upstreams.realistic), env: { WRK_MODEL: "bench-model" } },
    realisticPid: realisticUpstream.proc.pid,
  }));
  await add(
    "bare-proxy",
    "a bare Bun fetch proxy hop (the floor)",
    mockScenario(bareJson.proc.pid, { json: PORTS.bare, ttfb: PORTS.bareTtfb, streams: PORTS.bareStreams }),
  );
  if (peerProblem) results.push(newResult("portkey", `@portkey-ai/gateway ${PORTKEY_VERSION} on Node`, peerProblem));
  else {
    const auth = { WRK_KEY: "sk-bench", WRK_MODEL: "bench-model" };
    await add("portkey", `@portkey-ai/gateway ${PORTKEY_VERSION} on Node`, async () => {
      const child = await startPortkey(PORTS.portkey);
      return {
        pid: child.proc.pid,
        load: { url: url(PORTS.portkey), env: auth, headers: portkeyHeaders(upstreams.json) },
        ttfb: {
          url: url(PORTS.portkey),
          model: "bench-model",
          key: auth.WRK_KEY,
          headers: portkeyHeaders(upstreams.ttfb),
        },
        streams: {
          url: url(PORTS.portkey),
          model: "bench-model",
          key: auth.WRK_KEY,
          headers: portkeyHeaders(upstreams.streams),
        },
        realistic: { url: url(PORTS.portkey), env: auth, headers: portkeyHeaders(upstreams.realistic) },
      };
    });
  }
  const gatewayScenario = (
    name: string,
    port: number,
    databaseUrl: () => Promise<string>,
    db?: { pg: Postgres; name: string },
    allLevels = false,
    traced?: { sink: number },
  ) =>
    add(
      name,
      allLevels
        ? ALL_LEVELS_LABEL
        : `dist/gateway, governance all ON${traced ? ", tracing on (ratio 1.0) to a local OTLP sink" : ""}`,
      async () => {
        // Every request traced and exported (docs/tracing.md): the default batch settings, the standard variables.
        const env = traced
          ? { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${traced.sink}`, OTEL_TRACES_SAMPLER: "always_on" }
          : undefined;
        const gw = await startGateway({ name, port, databaseUrl: await databaseUrl(), upstreams, allLevels, env });
        return {
          pid: gw.child.proc.pid,
          load: { url: url(port), env: { WRK_KEY: gw.key, WRK_MODEL: MODELS.json, WRK_USER: gw.endUser ?? "" } },
          ttfb: { url: url(port), model: MODELS.ttfb, key: gw.key },
          streams: { url: url(port), model: MODELS.streams, key: gw.key },
          realistic:
            allLevels || traced ? undefined : { url: url(port), env: { WRK_KEY: gw.key, WRK_MODEL: MODELS.realistic } },
          gateway: gw,
          db,
        };
      },
    );
  await gatewayScenario(
    "gateway-sqlite",
    PORTS.sqlite,
    async () => `sqlite:///${join(tempDir("gw-bench-db-"), "bench.db")}`,
  );
  // The same with every level of cost control configured: its cost is the difference to the row above it.
  await gatewayScenario(
    "gateway-sqlite-all-levels",
    PORTS.sqliteAll,
    async () => `sqlite:///${join(tempDir("gw-bench-db-"), "bench.db")}`,
    undefined,
    true,
  );
  await serve("otlp-sink", "otlp-sink.ts", PORTS.otlpSink, []);
  await gatewayScenario(
    "traced",
    PORTS.traced,
    async () => `sqlite:///${join(tempDir("gw-bench-db-"), "traced.db")}`,
    undefined,
    false,
    { sink: PORTS.otlpSink },
  );
  if (!pg) {
    results.push(newResult("gateway-postgres", "dist/gateway, governance all ON", "--no-pg"));
    results.push(newResult("gateway-postgres-all-levels", ALL_LEVELS_LABEL, "--no-pg"));
  } else {
    const name = `gw_bench_${Date.now()}`;
    await gatewayScenario("gateway-postgres", PORTS.pg, () => createDatabase(pg, name), { pg, name });
    const all = `gw_bench_all_${Date.now()}`;
    await gatewayScenario(
      "gateway-postgres-all-levels",
      PORTS.pgAll,
      () => createDatabase(pg, all),
      { pg, name: all },
      true,
    );
  }
  return { active, results };
}

async function usageWriterBench(): Promise<Outcome<UsageWriterResult>> {
  return attempt("usage writer", async () => {
    const proc = track(
      spawn([BUN, join(HERE, "usage-writer.ts"), "--seconds", QUICK ? "3" : "5"], {
        cwd: ROOT,
        stdout: "pipe",
        stderr: "pipe",
      }),
    );
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    const line = out.trim().split("\n").at(-1);
    if (code !== 0 || !line) throw new Error(`exit ${code}: ${err.trim().slice(-300)}`);
    return JSON.parse(line) as UsageWriterResult;
  });
}

function meta(ceiling: number): Results["meta"] {
  const git = (...args: string[]) =>
    spawnSync(["git", ...args], { cwd: ROOT })
      .stdout.toString()
      .trim();
  const dirty = git("status", "--porcelain", "--untracked-files=no") ? " (with uncommitted changes)" : "";
  const node = spawnSync(["node", "--version"]).stdout?.toString().trim() || null;
  const wrkOut = spawnSync(["wrk", "-v"]);
  const wrkVersion = /wrk \S+/.exec(wrkOut.stdout.toString() + wrkOut.stderr.toString())?.[0] ?? "wrk";
  return {
    started: new Date().toISOString(),
    commit: `${git("rev-parse", "--short", "HEAD")}${dirty}`,
    bun: Bun.version,
    node,
    wrk: wrkVersion,
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    load_avg: loadavg()[0]!,
    seconds_per_point: SECONDS,
    levels: LEVELS,
    wrk_ceiling_rps: ceiling,
    body: values.stream ? "stream" : "json",
    ttfb_stream: `${TTFB_STREAM.chunks} chunks ${TTFB_STREAM.intervalMs} ms apart, ${TTFB_SAMPLES} samples after 20 warm-up`,
    stall_streams: STALL.streams,
    stall_stream: `${STALL.streams} streams opened at once, ${STALL.chunks} chunks ${STALL.intervalMs} ms apart; stalled = incomplete, or first byte or a gap between reads over ${STALL.gapMs} ms`,
    realistic: {
      seconds: REALISTIC.seconds,
      clients: REALISTIC.clients,
      stream_clients: Math.round(REALISTIC.clients * STREAM_SHARE),
      upstream: `answers after ${REALISTIC_UPSTREAM.delayMs} ms; streams: ${REALISTIC_UPSTREAM.chunks} chunks ${REALISTIC_UPSTREAM.intervalMs} ms apart after that`,
    },
    writer_rows: WRITER_ROWS,
  };
}

async function main(): Promise<void> {
  // A leftover process on one of our ports would answer in place of the one we start, and be measured.
  assertPortsFree(Object.values(PORTS));
  ensureWrk();
  if (!values["no-build"] || !existsSync(BINARY)) buildBinary();
  const peerProblem = values["no-peer"] ? "--no-peer" : ensurePortkey();
  const pg = values["no-pg"] ? null : await startPostgres({ privatePort: PORTS.postgres, fallbackUrl: values.pg });
  const upstreams: Required<Upstreams> = {
    json: PORTS.upstream,
    ttfb: PORTS.upstreamTtfb,
    streams: PORTS.upstreamStreams,
    realistic: PORTS.upstreamRealistic,
  };
  const { active, results } = await startScenarios(upstreams, pg, peerProblem);
  const notes: string[] = [];

  await Bun.sleep(1000);
  for (const s of active) s.result.rss.idle_mb = rssMb(s.pid);
  const ceiling = (
    await runWrk({ url: url(PORTS.upstream, "/v1/models"), connections: 64, seconds: SECONDS, get: true })
  ).rps;
  const run: Results = { meta: meta(ceiling), scenarios: results, db_statements: [], notes };
  console.log(`wrk ceiling ${ceiling} rps; ${SECONDS} s per point; levels ${LEVELS.join(", ")}`);

  for (const s of active) await runWrk({ ...s.load, connections: 32, seconds: WARMUP_SECONDS });
  // Concurrency outside, scenarios inside: each level's figures come from the same minute of machine noise.
  for (const c of LEVELS) {
    for (const s of active) {
      const before = await dbCounters(s);
      const { result, peakMb } = await withPeakRss(
        s.pid,
        runWrk({
          ...s.load,
          connections: c,
          seconds: SECONDS,
          env: { ...s.load.env, WRK_STREAM: values.stream ? "1" : "0" },
        }),
      );
      const after = await dbCounters(s);
      if (before && after) {
        s.counters.requests += result.requests;
        s.counters.gateway_counter += after.gw - before.gw;
        if (before.pg !== null && after.pg !== null)
          s.counters.pg_stat_statements = (s.counters.pg_stat_statements ?? 0) + after.pg - before.pg;
      }
      s.result.sweep.push({ ...result, peak_rss_mb: peakMb });
      const rss = s.result.rss;
      if (peakMb !== null) rss.loaded_peak_mb = Math.max(rss.loaded_peak_mb ?? 0, peakMb);
      console.log(
        `${s.result.name.padEnd(17)} c=${String(c).padEnd(3)} ${String(result.rps).padStart(6)} rps  p50 ${result.p50} µs  p99 ${result.p99} µs  failed ${failures(result)}`,
      );
    }
  }
  await Bun.sleep(5000);
  for (const s of active) s.result.rss.after_mb = rssMb(s.pid);
  for (const s of active.filter((x) => x.gateway)) {
    const pgSource = s.db
      ? s.db.pg.statements
        ? `pg_stat_statements on the ${s.db.pg.source}`
        : `the ${s.db.pg.source} has no pg_stat_statements: gateway counter only`
      : "SQLite: gateway counter only";
    run.db_statements.push({ ...s.counters, source: pgSource });
  }

  console.log("streams: time to first byte...");
  for (const s of active) {
    s.result.ttfb = await attempt(`${s.result.name} TTFB`, () => measureTtfb(s.ttfb, TTFB_SAMPLES));
    const t = s.result.ttfb;
    if (!("error" in t))
      console.log(`  ${s.result.name.padEnd(17)} p50 ${t.p50_ms} ms p99 ${t.p99_ms} ms (errors ${t.errors})`);
  }
  console.log(`streams: ${STALL.streams} at once...`);
  for (const s of active) {
    s.result.streams = await attempt(`${s.result.name} streams`, () => measureStalls(s.streams, STALL));
    const x = s.result.streams;
    if (!("error" in x))
      console.log(
        `  ${s.result.name.padEnd(17)} ${x.completed}/${x.streams} complete, ${x.stalled} stalled, first byte max ${x.first_byte_max_ms} ms, max gap ${x.max_gap_ms} ms`,
      );
    await Bun.sleep(2000); // let the sockets of this round close before the next
  }
  const sqliteStreams = active.find((s) => s.result.name === "gateway-sqlite")?.result.streams;
  if (sqliteStreams && !("error" in sqliteStreams) && sqliteStreams.stalled > 0) {
    // Is it Bun's default cap of 256 fetches in flight? The same gateway with the cap raised answers that.
    run.streams_diagnostic = await attempt("streams diagnostic", async () => {
      const gw = await startGateway({
        name: "gateway-diagnostic",
        port: PORTS.diagnostic,
        databaseUrl: `sqlite:///${join(tempDir("gw-bench-db-"), "diag.db")}`,
        upstreams,
        env: UNCAPPED_FETCH,
      });
      try {
        return await measureStalls({ url: url(PORTS.diagnostic), model: MODELS.streams, key: gw.key }, STALL);
      } finally {
        await stop(gw.child.proc);
      }
    });
  }

  if (REALISTIC.seconds > 0) {
    const streamClients = Math.round(REALISTIC.clients * STREAM_SHARE);
    console.log(
      `realistic load: ${REALISTIC.clients} clients (${REALISTIC.clients - streamClients} JSON, ${streamClients} streams) for ${REALISTIC.seconds} s...`,
    );
    for (const s of active.filter((x) => x.realistic)) {
      s.result.realistic = await attempt(`${s.result.name} realistic`, () =>
        runRealistic(s.realisticPid ?? s.pid, s.realistic!, REALISTIC),
      );
      const x = s.result.realistic;
      if (!("error" in x))
        console.log(
          `  ${s.result.name.padEnd(17)} JSON ${x.json.rps} rps p99 ${(x.json.p99 / 1000).toFixed(1)} ms, streams ${x.streams.rps}/s p99 ${(x.streams.p99 / 1000).toFixed(1)} ms, failed ${failures(x.json) + failures(x.streams)}, peak RSS ${x.peak_rss_mb} MB`,
        );
      await Bun.sleep(3000); // the clients' sockets close before the next target's run
    }
  }

  console.log("usage writer...");
  run.usage_writer = await usageWriterBench();
  console.log("what the rollups cost the usage writer...");
  const freshDb = (dialect: "sqlite" | "pg") => async () =>
    dialect === "pg" && pg
      ? createDatabase(pg, `gw_bench_rollups_${Date.now()}_${Math.floor(Math.random() * 1e6)}`)
      : `sqlite:///${join(tempDir("gw-bench-rollups-"), "w.db")}`;
  run.rollups = {
    sqlite: await attempt(
      "rollups (SQLite)",
      async () => (await writerCost(freshDb("sqlite"), WRITER_ROWS, ["bench"])).bench!,
    ),
    postgres: pg
      ? await attempt(
          "rollups (Postgres)",
          async () => (await writerCost(freshDb("pg"), WRITER_ROWS, ["bench"])).bench!,
        )
      : undefined,
  };

  console.log("cold starts...");
  const cold = async (name: string, what: string, o: Parameters<typeof coldStart>[0]) => {
    const s = results.find((r) => r.name === name);
    if (s && !s.skipped)
      s.cold_start = await attempt(`${name} cold start`, async () => ({ ...(await coldStart(o)), what }));
  };
  await cold("gateway-sqlite", "dist/gateway, fresh SQLite", {
    name: "gateway",
    runs: COLD_RUNS,
    url: url(PORTS.cold, "/health"),
    cmd: (dir) => [
      BINARY,
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      String(PORTS.cold),
      "--database-url",
      `sqlite:///${join(dir, "gw.db")}`,
      "--master-key",
      MASTER,
    ],
  });
  await cold("direct", "bun upstream.ts", {
    name: "upstream",
    runs: COLD_RUNS,
    url: url(PORTS.coldPeer, "/v1/models"),
    cmd: () => [BUN, join(HERE, "upstream.ts"), "--port", String(PORTS.coldPeer)],
  });
  await cold("bare-proxy", "bun bare-proxy.ts", {
    name: "bare",
    runs: COLD_RUNS,
    url: url(PORTS.coldPeer, "/v1/models"),
    cmd: () => [
      BUN,
      join(HERE, "bare-proxy.ts"),
      "--port",
      String(PORTS.coldPeer),
      "--upstream",
      `http://127.0.0.1:${PORTS.upstream}`,
    ],
  });
  await cold("portkey", "node start-server.js", {
    name: "portkey",
    runs: COLD_RUNS,
    url: url(PORTS.coldPeer, "/"),
    cmd: () => portkeyCommand(PORTS.coldPeer),
  });

  const soakSeconds = Number(values.soak);
  if (soakSeconds > 0) {
    console.log(`soak: ${soakSeconds} s against a fresh gateway-sqlite...`);
    run.soak = await attempt("soak", async () => {
      const gw = await startGateway({
        name: "gateway-soak",
        port: PORTS.soak,
        databaseUrl: `sqlite:///${join(tempDir("gw-bench-db-"), "soak.db")}`,
        upstreams,
      });
      try {
        return await runSoak({
          pid: gw.child.proc.pid,
          url: url(PORTS.soak),
          env: { WRK_KEY: gw.key, WRK_MODEL: MODELS.json },
          seconds: soakSeconds,
        });
      } finally {
        await stop(gw.child.proc);
      }
    });
  }

  notes.push(
    `Postgres: ${pg ? `${pg.source} (${pg.url})${pg.note ? `; the private cluster was not possible: ${pg.note}` : ""}` : "not run (--no-pg)"}. The gateway's pool: its defaults (10 + 20 overflow).`,
    `bare-proxy runs with BUN_CONFIG_MAX_HTTP_REQUESTS=65535: Bun's fetch keeps at most 256 requests in flight by default, which would make the floor stall on ${STALL.streams} streams. The gateway runs as shipped.`,
  );
  if (!results.find((s) => s.name === "portkey")?.skipped) {
    notes.push(
      `Portkey: ${PORTKEY_ENTRY.replace(`${ROOT}/`, "")} on Node, routed with x-portkey-provider: openai and x-portkey-custom-host; @hono/node-server pinned to 1.14.1 (from 1.14.2 its streams fail with "TypeError: immutable", Portkey-AI/gateway#1389/#1550). Portkey waits 25 ms before forwarding the first chunk of a stream (a setTimeout in its stream handler), which is most of its TTFB.`,
    );
  }
  notes.push(
    "Cold start: the gateway is the compiled binary; direct and bare-proxy are Bun scripts, Portkey is Node; each to the first answer on its own health route.",
    "RSS is of the one process serving each scenario (for direct: the mock). Under load = the peak sampled every 250 ms during the sweep; after = 5 s after it.",
  );
  if (REALISTIC.seconds > 0) {
    notes.push(
      `Realistic load: ${REALISTIC.seconds} s per target${QUICK ? " (--quick; the issue's figure is 60 s)" : ""}, run after the streams on the same processes (bare-proxy, the all-levels gateways and traced are left out to keep the run short). wrk raises its own open-files limit in the shell that starts it; each process under test shows its limit in the table.`,
    );
    const lowFd = results.filter((s) => {
      const x = s.realistic && !("error" in s.realistic) ? s.realistic : undefined;
      return x && x.open_files_limit !== null && x.open_files_limit < 2 * REALISTIC.clients + 64;
    });
    if (lowFd.length)
      notes.push(
        `Open files: ${lowFd.map((s) => s.name).join(", ")} ran with a limit under two descriptors per client; their errors may be that limit.`,
      );
  }
  if (run.streams_diagnostic && !("error" in run.streams_diagnostic)) {
    notes.push(
      `Streams diagnostic: the same gateway-sqlite with BUN_CONFIG_MAX_HTTP_REQUESTS=65535 had ${run.streams_diagnostic.stalled} of ${run.streams_diagnostic.streams} streams stalled (first byte max ${run.streams_diagnostic.first_byte_max_ms} ms).`,
    );
  }
  notes.push(`Load average (1 min) at the start: ${run.meta.load_avg.toFixed(2)} on ${run.meta.cores} cores.`);
  writeResults(run);
}

function writeResults(run: Results): void {
  const outDir = join(HERE, "results");
  mkdirSync(outDir, { recursive: true });
  const stamp = run.meta.started.replace(/[:.]/g, "-");
  const chart = renderChart(
    run.scenarios
      .filter((s) => !s.skipped)
      .map((s) => ({
        name: s.name,
        points: s.sweep.map((w) => ({
          c: w.connections,
          p50_us: w.p50,
          p99_us: w.p99,
          p999_us: w.p999,
          rps: w.rps,
        })),
        ttfb_ms: s.ttfb && !("error" in s.ttfb) ? s.ttfb.samples_ms : undefined,
      })),
    "Latency percentiles and throughput vs concurrency; stream time to first byte",
    `${run.meta.started.slice(0, 16).replace("T", " ")} UTC, commit ${run.meta.commit}; wrk 1 thread, ${run.meta.seconds_per_point} s per point, ${run.meta.body} chat bodies`,
  );
  writeFileSync(join(outDir, `${stamp}.png`), chart);
  writeFileSync(join(outDir, `${stamp}.json`), JSON.stringify(run, null, 2));
  const md = renderMarkdown(run, `${stamp}.png`);
  writeFileSync(join(outDir, `${stamp}.md`), md);
  console.log(`\n${md}\nwritten to scripts/bench/results/${stamp}.{json,md,png}`);
}

try {
  await main();
} finally {
  await stopAll();
  cleanupAll();
}
