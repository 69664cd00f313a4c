/**
 * The tracing code's main-thread time per request in two checkouts at once: both sources' traced gateways under the
 * same wrk load while `perf record` samples them, so a change of a microsecond shows even on a busy machine, where
 * whole-process CPU per request (cpu-cost.ts) swings by more. `--plain` runs this checkout untraced as the other
 * instead, and lists the functions whose main-thread time differs most: where tracing's cost lands outside the
 * tracing code (callers it is inlined into, natives, the collector). JIT frames are named from the JITDump files
 * Bun writes with BUN_JSC_useJITDump=1 (/tmp/jit-<tid>-<pid>-*: `perf inject --jit` does not find them under that
 * name); a sample counts for the first JavaScript frame from its leaf, so natives count for their caller. Needs perf
 * (root).
 *   bun scripts/bench/perf-pair.ts (--other <checkout> | --plain) [--seconds 35] [--warmup 40] [--connections 32]
 *        [--top 20]
 * "Tracing" is every function defined in src/telemetry or the pipeline's trace.ts and nowhere else in src (a name
 * defined twice, like `attempt`, is left out of the total but listed).
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chatLoad, ROOT, startGateway, startMockUpstream, startOtlpSink } from "./gateway";
import { assertPortsFree, cleanupAll, stopAll, tempDir } from "./processes";
import { ensureWrk, runWrk } from "./wrk";

const { values } = parseArgs({
  options: {
    other: { type: "string" },
    plain: { type: "boolean", default: false },
    seconds: { type: "string", default: "35" },
    warmup: { type: "string", default: "40" },
    connections: { type: "string", default: "32" },
    top: { type: "string", default: "20" },
  },
});
if (!values.other === !values.plain) throw new Error("either --other <checkout> or --plain is required");
const PORTS = { upstream: 9191, sink: 9192, gateway: 9193 };
const HZ = 999;

interface Range {
  start: number;
  end: number;
  name: string;
  /** Load order: a later load wins an address the JIT reused. */
  order: number;
}

/** Code ranges of one process's JIT, by start address, from its JITDump's code-load records. */
function jitRanges(pid: number): Range[] {
  const file = readdirSync("/tmp").find((f) => f.startsWith("jit-") && f.split("-")[2] === String(pid));
  if (!file) throw new Error(`no JIT dump of ${pid} in /tmp (BUN_JSC_useJITDump)`);
  const data = readFileSync(join("/tmp", file));
  const ranges: Range[] = [];
  for (let at = data.readUInt32LE(8); at + 16 <= data.length; ) {
    const size = data.readUInt32LE(at + 4);
    if (size === 0) break;
    if (data.readUInt32LE(at) === 0) {
      // JIT_CODE_LOAD: header (16), pid, tid, vma, code address, code size, index, then the name.
      const start = Number(data.readBigUInt64LE(at + 32));
      const end = start + Number(data.readBigUInt64LE(at + 40));
      const full = data.toString("utf8", at + 56, data.indexOf(0, at + 56));
      ranges.push({ start, end, name: full.replace(/^JSC-\w+: /, "").split("#")[0] ?? full, order: ranges.length });
    }
    at += size;
  }
  rmSync(join("/tmp", file));
  return ranges.sort((a, b) => a.start - b.start);
}

/** The function whose code holds `ip`: the nearest starts below it, the latest load among those that hold it. */
function lookup(ranges: Range[], ip: number): string | null {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((ranges[mid] as Range).start <= ip) lo = mid + 1;
    else hi = mid;
  }
  let best: Range | null = null;
  for (let i = lo - 1; i >= 0 && i >= lo - 64; i--) {
    const r = ranges[i] as Range;
    if (ip < r.end && (best === null || r.order > best.order)) best = r;
  }
  return best?.name ?? null;
}

/** Names defined (function, class, method, arrow constant) in `files`. */
function definitions(files: string[]): Set<string> {
  const names = new Set<string>();
  const re =
    /(?:function\*?\s+(\w+)|class\s+(\w+)|^\s+(?:(?:private|public|static|async|get|set)\s+)*(\w+)\s*(?:<[^>]*>)?\([^)]*\)\s*(?::[^{;]+)?\{|const\s+(\w+)\s*=\s*(?:async\s*)?\()/gm;
  for (const f of files)
    for (const m of readFileSync(f, "utf8").matchAll(re)) names.add(m[1] ?? m[2] ?? m[3] ?? m[4] ?? "");
  return names;
}

const sources = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .map((f) => join(ROOT, dir, f));
const tracingFiles = [...sources("src/telemetry"), join(ROOT, "src/services/inference/pipeline/trace.ts")];
const tracing = definitions(tracingFiles);
const elsewhere = definitions(sources("src").filter((f) => !tracingFiles.includes(f)));

async function main(): Promise<void> {
  assertPortsFree(Object.values(PORTS));
  ensureWrk();
  await startMockUpstream(PORTS.upstream);
  startOtlpSink(PORTS.sink);
  const upstreams = { json: PORTS.upstream, ttfb: PORTS.upstream, streams: PORTS.upstream };
  const traced = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${PORTS.sink}`, OTEL_TRACES_SAMPLER: "always_on" };
  const checkouts = [
    { name: "this", root: ROOT, env: traced },
    values.plain
      ? { name: "this, untraced", root: ROOT, env: {} }
      : { name: "other", root: values.other as string, env: traced },
  ];
  const gateways = [];
  for (const [i, c] of checkouts.entries())
    gateways.push(
      await startGateway({
        name: c.name,
        port: PORTS.gateway + i,
        databaseUrl: `sqlite:///${join(tempDir("gw-perf-db-"), "bench.db")}`,
        upstreams,
        env: { ...c.env, BUN_JSC_useJITDump: "1" },
        command: [process.execPath, join(c.root, "src/main.ts")],
        readyTimeoutMs: 60_000,
      }),
    );
  const connections = Number(values.connections);
  const seconds = Number(values.seconds);
  await Promise.all(gateways.map((g) => runWrk({ ...chatLoad(g), connections, seconds: Number(values.warmup) })));
  const data = join(tempDir("gw-perf-"), "perf.data");
  const pids = gateways.map((g) => g.child.proc.pid);
  // wrk runs past the sampled window on both sides, so every sample falls under full load.
  const loads = gateways.map((g) => runWrk({ ...chatLoad(g), connections, seconds: seconds + 4 }));
  await Bun.sleep(2000);
  const perf = Bun.spawn(
    ["perf", "record", "-q", "-e", "cpu-clock", "-F", String(HZ), "-g", "-p", pids.join(","), "-o", data],
    { stdout: "ignore", stderr: "inherit" },
  );
  await Bun.sleep(seconds * 1000);
  perf.kill("SIGINT");
  await perf.exited;
  const rps = (await Promise.all(loads)).map((r) => r.rps);
  const script = Bun.spawn(["perf", "script", "-i", data, "-F", "pid,tid,ip"], { stdout: "pipe", stderr: "ignore" });
  const text = await new Response(script.stdout).text();
  await stopAll();
  const ranges = pids.map(jitRanges);
  const counts = pids.map(() => new Map<string, number>());
  const totals = pids.map(() => 0);
  for (const sample of text.split("\n\n")) {
    const [head, ...frames] = sample.trim().split("\n");
    const [pid, tid] = (head ?? "").trim().split("/").map(Number);
    const at = pids.indexOf(pid as number);
    if (at < 0 || pid !== tid) continue; // the main thread only
    totals[at] = (totals[at] ?? 0) + 1;
    let name = "(no JavaScript frame)";
    for (const frame of frames) {
      const found = lookup(ranges[at] ?? [], Number.parseInt(frame.trim(), 16));
      if (found) {
        name = found;
        break;
      }
    }
    const c = counts[at] as Map<string, number>;
    c.set(name, (c.get(name) ?? 0) + 1);
  }
  // Samples to µs per request: each stands for 1/HZ s of the window, which served rps × seconds requests.
  const us = (i: number, n: number) => (n * 1e6) / HZ / ((rps[i] as number) * seconds);
  const rows = new Map<string, number[]>();
  for (const [i, c] of counts.entries())
    for (const [name, n] of c)
      if (tracing.has(name)) rows.set(name, Object.assign(rows.get(name) ?? [0, 0], { [i]: us(i, n) }));
  const total = (i: number) =>
    [...rows].filter(([name]) => !elsewhere.has(name)).reduce((s, [, v]) => s + (v[i] ?? 0), 0);
  console.log(`\n| | ${checkouts.map((c) => `${c.name} (${c.root})`).join(" | ")} |\n|---|---:|---:|`);
  console.log(`| rps | ${rps.join(" | ")} |`);
  console.log(`| main thread, µs per request | ${totals.map((n, i) => us(i, n).toFixed(1)).join(" | ")} |`);
  console.log(`| tracing code, µs per request | ${checkouts.map((_, i) => total(i).toFixed(2)).join(" | ")} |`);
  const top = [...rows].sort((a, b) => Math.max(...b[1]) - Math.max(...a[1])).slice(0, Number(values.top));
  for (const [name, v] of top)
    console.log(
      `| ${name}${elsewhere.has(name) ? " (also defined elsewhere)" : ""} | ${v.map((x) => x.toFixed(2)).join(" | ")} |`,
    );
  if (values.plain) printDifferences(counts, us);
}

/** Every function's main-thread µs per request in both gateways, the largest differences first. */
function printDifferences(counts: Map<string, number>[], us: (i: number, n: number) => number): void {
  const names = new Set(counts.flatMap((c) => [...c.keys()]));
  const rows = [...names].map((name) => {
    const v = counts.map((c, i) => us(i, c.get(name) ?? 0));
    return { name, v, delta: (v[0] as number) - (v[1] as number) };
  });
  rows.sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta));
  console.log("\n| function | traced | untraced | difference |\n|---|---:|---:|---:|");
  for (const r of rows.slice(0, Number(values.top)))
    console.log(`| ${r.name} | ${r.v.map((x) => x.toFixed(2)).join(" | ")} | ${r.delta.toFixed(2)} |`);
}

try {
  await main();
} finally {
  await stopAll();
  cleanupAll();
}
