/**
 * Gateway CPU per request (user + system time of the whole process, every thread, from /proc) for the governance
 * variants side by side: plain, every cost-control level, tracing on. CPU per request is what a feature costs, and
 * unlike throughput it holds still when the machine is busy.
 *   bun scripts/bench/cpu-cost.ts [--seconds 8] [--connections 64] [--rounds 2] [--warmup 15] [--only plain,traced] [--source]
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { MODELS, ROOT, startGateway } from "./gateway";
import { assertPortsFree, cleanupAll, cpuUs, start, stop, stopAll, tempDir, waitReady } from "./processes";
import { ensureWrk, runWrk } from "./wrk";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "8" },
    connections: { type: "string", default: "64" },
    rounds: { type: "string", default: "2" },
    warmup: { type: "string", default: "15" },
    only: { type: "string" },
    source: { type: "boolean", default: false },
  },
});
const PORTS = { upstream: 9181, sink: 9182, gateway: 9183 };
const TICK_US = 1e6 / 100; // USER_HZ

/** CPU µs per thread name (threads of one name summed), e.g. the HTTP client thread apart from the main thread. */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) * TICK_US);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

async function main(): Promise<void> {
  assertPortsFree(Object.values(PORTS));
  ensureWrk();
  const upstream = start("upstream", [
    process.execPath,
    join(import.meta.dir, "upstream.ts"),
    "--port",
    String(PORTS.upstream),
  ]);
  await waitReady(upstream, `http://127.0.0.1:${PORTS.upstream}/v1/models`);
  const sink = start("otlp-sink", [
    process.execPath,
    join(import.meta.dir, "otlp-sink.ts"),
    "--port",
    String(PORTS.sink),
  ]);
  await new Promise((r) => setTimeout(r, 500));
  const upstreams = { json: PORTS.upstream, ttfb: PORTS.upstream, streams: PORTS.upstream };
  const variants: { name: string; allLevels?: boolean; env?: Record<string, string> }[] = [
    { name: "plain" },
    { name: "all-levels", allLevels: true },
    {
      name: "sampled-off",
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${PORTS.sink}`, OTEL_TRACES_SAMPLER: "always_off" },
    },
    {
      name: "traced",
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${PORTS.sink}`, OTEL_TRACES_SAMPLER: "always_on" },
    },
  ].filter((v) => !values.only || values.only.split(",").includes(v.name));
  const results: Record<string, { rps: number; cpu: number }[]> = {};
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const v of variants) {
      const gw = await startGateway({
        name: v.name,
        port: PORTS.gateway,
        databaseUrl: `sqlite:///${join(tempDir("gw-cpu-db-"), "bench.db")}`,
        upstreams,
        allLevels: v.allLevels,
        env: v.env,
        ...(values.source ? { command: [process.execPath, join(ROOT, "src/main.ts")] } : {}),
      });
      const load = {
        url: `${gw.base}/v1/chat/completions`,
        env: {
          WRK_KEY: gw.key,
          WRK_MODEL: MODELS.json,
          WRK_STREAM: "0",
          ...(gw.endUser ? { WRK_USER: gw.endUser } : {}),
        },
      };
      await runWrk({ ...load, connections: 32, seconds: Number(values.warmup) }); // past the JIT's compile phase
      const pid = gw.child.proc.pid;
      const before = cpuUs(pid);
      const threadsBefore = threadCpu(pid);
      const sinkBefore = cpuUs(sink.proc.pid);
      const upBefore = cpuUs(upstream.proc.pid);
      const run = await runWrk({ ...load, connections: Number(values.connections), seconds: Number(values.seconds) });
      const cpu = (cpuUs(pid) - before) / run.requests;
      const threads = [...threadCpu(pid)]
        .map(([name, us]) => [name, (us - (threadsBefore.get(name) ?? 0)) / run.requests] as const)
        .filter(([, us]) => us >= 1)
        .sort((a, b) => b[1] - a[1])
        .map(([name, us]) => `${name} ${us.toFixed(1)}`)
        .join(", ");
      results[v.name] = [...(results[v.name] ?? []), { rps: run.rps, cpu }];
      console.log(
        `${v.name}: ${run.rps} rps, ${cpu.toFixed(1)} µs CPU/request, non2xx ${run.non2xx} (${threads}); sink ${((cpuUs(sink.proc.pid) - sinkBefore) / run.requests).toFixed(1)}, upstream ${((cpuUs(upstream.proc.pid) - upBefore) / run.requests).toFixed(1)}`,
      );
      await stop(gw.child.proc);
    }
  }
  console.log("\n| variant | rps (median) | CPU µs/request (min) |\n|---|---:|---:|");
  for (const [name, rs] of Object.entries(results)) {
    const rps = rs.map((r) => r.rps).sort((a, b) => a - b)[Math.floor(rs.length / 2)];
    console.log(`| ${name} | ${rps} | ${Math.min(...rs.map((r) => r.cpu)).toFixed(1)} |`);
  }
}

try {
  await main();
} finally {
  await stopAll();
  cleanupAll();
}
