/**
 * Gateway CPU per request (user + system time of the whole process, every thread, from /proc) for the governance
 * variants side by side: plain, every cost-control level, tracing on. CPU per request is what a feature costs, and
 * unlike throughput it holds still when the machine is busy.
 *   bun scripts/bench/cpu-cost.ts [--seconds 8] [--connections 64] [--rounds 2] [--warmup 15] [--only plain,traced] [--source]
 * `--paired` runs every variant at once instead, each under its own wrk at connections/variants, window after window:
 * the machine's speed, which drifts by tens of percent between runs a minute apart here, is then the same for all of
 * them, so their CPU per request compares within each window (the table gives the median ratio to the first variant).
 * `--before BINARY` adds each variant again on an older build, for a change's before and after from one run.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chatLoad, ROOT, startGateway, startMockUpstream, startOtlpSink } from "./gateway";
import { assertPortsFree, cleanupAll, cpuUs, stop, stopAll, tempDir } from "./processes";
import { median } from "./stats";
import { ensureWrk, runWrk } from "./wrk";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "8" },
    connections: { type: "string", default: "64" },
    rounds: { type: "string", default: "2" },
    warmup: { type: "string", default: "15" },
    only: { type: "string" },
    source: { type: "boolean", default: false },
    paired: { type: "boolean", default: false },
    before: { type: "string" },
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
  await startMockUpstream(PORTS.upstream);
  startOtlpSink(PORTS.sink);
  await new Promise((r) => setTimeout(r, 500));
  const upstreams = { json: PORTS.upstream, ttfb: PORTS.upstream, streams: PORTS.upstream };
  const base: Variant[] = [
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
  const before = values.before;
  const variants = before
    ? base.flatMap((v) => [v, { ...v, name: `${v.name} (before)`, command: [before] }])
    : base.map((v) => (values.source ? { ...v, command: [process.execPath, join(ROOT, "src/main.ts")] } : v));
  const launch = async (v: Variant, port: number): Promise<Launched> => {
    const gw = await startGateway({
      name: v.name.replace(/\W+/g, "-"),
      port,
      databaseUrl: `sqlite:///${join(tempDir("gw-cpu-db-"), "bench.db")}`,
      upstreams,
      allLevels: v.allLevels,
      env: v.env,
      ...(v.command ? { command: v.command } : {}),
    });
    return { variant: v, pid: gw.child.proc.pid, proc: gw.child.proc, load: chatLoad(gw) };
  };
  const results: Record<string, { rps: number; cpu: number }[]> = {};
  if (values.paired) await paired(variants, launch, results);
  else
    for (let round = 0; round < Number(values.rounds); round++)
      for (const v of variants) {
        const l = await launch(v, PORTS.gateway);
        await runWrk({ ...l.load, connections: 32, seconds: Number(values.warmup) }); // past the JIT's compile phase
        const m = await measure([l], Number(values.connections));
        results[v.name] = [...(results[v.name] ?? []), ...m];
        await stop(l.proc);
      }
  console.log("\n| variant | rps (median) | CPU µs/request (min) |\n|---|---:|---:|");
  for (const [name, rs] of Object.entries(results)) {
    const rps = rs.map((r) => r.rps).sort((a, b) => a - b)[Math.floor(rs.length / 2)];
    console.log(`| ${name} | ${rps} | ${Math.min(...rs.map((r) => r.cpu)).toFixed(1)} |`);
  }
  if (values.paired) {
    const first = variants[0]?.name ?? "";
    const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
    console.log(
      `\n| variant | CPU per request / ${first}'s (median of windows) | rps / ${first}'s (median) | rps / ${first}'s (windows' range) |\n|---|---:|---:|---:|`,
    );
    for (const v of variants.slice(1)) {
      const rs = results[v.name] ?? [];
      const ref = results[first] ?? [];
      const cpu = median(rs.map((r, i) => r.cpu / (ref[i]?.cpu ?? Number.NaN)));
      const rpsRatios = rs.map((r, i) => r.rps / (ref[i]?.rps ?? Number.NaN));
      const range = `${pct(Math.min(...rpsRatios))} to ${pct(Math.max(...rpsRatios))}`;
      console.log(`| ${v.name} | ${pct(cpu)} | ${pct(median(rpsRatios))} | ${range} |`);
    }
  }
}

interface Variant {
  name: string;
  allLevels?: boolean;
  env?: Record<string, string>;
  command?: string[];
}
interface Launched {
  variant: Variant;
  pid: number;
  proc: Parameters<typeof stop>[0];
  load: { url: string; env: Record<string, string> };
}

/** Every variant started at once, then loaded at once window after window (same machine state for all). */
async function paired(
  variants: Variant[],
  launch: (v: Variant, port: number) => Promise<Launched>,
  results: Record<string, { rps: number; cpu: number }[]>,
): Promise<void> {
  const launched: Launched[] = [];
  for (const [i, v] of variants.entries()) launched.push(await launch(v, PORTS.gateway + i));
  const share = Math.max(1, Math.round(Number(values.connections) / launched.length));
  await Promise.all(launched.map((l) => runWrk({ ...l.load, connections: share, seconds: Number(values.warmup) })));
  for (let round = 0; round < Number(values.rounds); round++) {
    const m = await measure(launched, share);
    for (const [i, l] of launched.entries())
      results[l.variant.name] = [...(results[l.variant.name] ?? []), m[i] as { rps: number; cpu: number }];
  }
  for (const l of launched) await stop(l.proc);
}

/** One window of load on each gateway at once: CPU per request (all threads) and rps of each. */
async function measure(launched: Launched[], connections: number): Promise<{ rps: number; cpu: number }[]> {
  const before = launched.map((l) => ({ total: cpuUs(l.pid), threads: threadCpu(l.pid) }));
  const runs = await Promise.all(
    launched.map((l) => runWrk({ ...l.load, connections, seconds: Number(values.seconds) })),
  );
  return launched.map((l, i) => {
    const run = runs[i] as Awaited<ReturnType<typeof runWrk>>;
    const b = before[i] as (typeof before)[number];
    const cpu = (cpuUs(l.pid) - b.total) / run.requests;
    const threads = [...threadCpu(l.pid)]
      .map(([name, us]) => [name, (us - (b.threads.get(name) ?? 0)) / run.requests] as const)
      .filter(([, us]) => us >= 1)
      .sort((x, y) => y[1] - x[1])
      .map(([name, us]) => `${name} ${us.toFixed(1)}`)
      .join(", ");
    console.log(
      `${l.variant.name}: ${run.rps} rps, ${cpu.toFixed(1)} µs CPU/request, non2xx ${run.non2xx} (${threads})`,
    );
    return { rps: run.rps, cpu };
  });
}

try {
  await main();
} finally {
  await stopAll();
  cleanupAll();
}
