/**
 * Deoptimizations of the gateway under load. JavaScriptCore's optimized code exits back to a slower tier when one
 * of its speculations fails (a value of another type, an array of another kind); one that fails on nearly every call
 * recompiles and exits again, and costs far more than the code it runs (docs/benchmark.md has the case this found).
 * Starts the gateway with `BUN_JSC_printEachOSRExit`, drives it with wrk at c=64, and prints the exits per 1,000
 * requests after the warm-up, by function and reason (a healthy gateway stays in single digits).
 *   bun scripts/bench/jit-exits.ts [--seconds 20] [--warmup 15] [--traced] [--all-levels] [--source] [--top 10]
 * It runs dist/gateway as built (`bun run build` first), or with `--source` src/main.ts, whose function names are the
 * sources' own rather than minified ones.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BINARY, chatLoad, ROOT, startGateway, startMockUpstream, startOtlpSink } from "./gateway";
import { assertPortsFree, cleanupAll, stopAll, tempDir } from "./processes";
import { ensureWrk, runWrk } from "./wrk";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "20" },
    warmup: { type: "string", default: "15" },
    traced: { type: "boolean", default: false },
    "all-levels": { type: "boolean", default: false },
    source: { type: "boolean", default: false },
    top: { type: "string", default: "10" },
  },
});
const PORTS = { upstream: 9161, sink: 9162, gateway: 9163 };
const EXIT = /^Speculation failure in (\S+?)#\w+:\[[^\]]*\] @ exit #\d+ \(bc#(\w+), (\w+)\)/gm;

async function main(): Promise<void> {
  assertPortsFree(Object.values(PORTS));
  ensureWrk();
  if (!values.source && !existsSync(BINARY)) throw new Error(`${BINARY} is missing: run bun run build first`);
  await startMockUpstream(PORTS.upstream);
  if (values.traced) startOtlpSink(PORTS.sink);
  const gw = await startGateway({
    name: "gateway-jit-exits",
    port: PORTS.gateway,
    databaseUrl: `sqlite:///${join(tempDir("gw-jit-db-"), "bench.db")}`,
    upstreams: { json: PORTS.upstream, ttfb: PORTS.upstream, streams: PORTS.upstream },
    env: {
      BUN_JSC_printEachOSRExit: "1",
      ...(values.traced ? { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${PORTS.sink}` } : {}),
    },
    allLevels: values["all-levels"],
    readyTimeoutMs: 90_000,
    ...(values.source ? { command: [process.execPath, join(ROOT, "src/main.ts")] } : {}),
  });
  const load = { ...chatLoad(gw), connections: 64 };
  await runWrk({ ...load, seconds: Number(values.warmup) });
  const from = readFileSync(gw.child.log, "utf8").length;
  const run = await runWrk({ ...load, seconds: Number(values.seconds) });
  const log = readFileSync(gw.child.log, "utf8").slice(from);
  const bySite = new Map<string, number>();
  let total = 0;
  for (const m of log.matchAll(EXIT)) {
    const site = `${m[1]} (bc#${m[2]}, ${m[3]})`;
    bySite.set(site, (bySite.get(site) ?? 0) + 1);
    total++;
  }
  const perK = (n: number) => ((n * 1000) / run.requests).toFixed(1);
  console.log(
    `${values.traced ? "traced" : "plain"}, ${values.source ? "sources" : "dist/gateway"}: ${run.requests} requests ` +
      `(${run.rps} rps) after a ${values.warmup} s warm-up, ${total} exits, ${perK(total)} per 1,000 requests`,
  );
  console.log("\n| exits per 1,000 requests | function (bytecode, reason) |\n|---:|---|");
  const top = [...bySite].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top));
  for (const [site, n] of top) console.log(`| ${perK(n)} | ${site} |`);
}

try {
  await main();
} finally {
  await stopAll();
  cleanupAll();
}
