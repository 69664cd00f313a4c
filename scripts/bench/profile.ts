/**
 * Where the gateway's time goes: the sources under Bun's CPU profiler (`bun --cpu-prof-md`), governance on as in the
 * benchmark, driven by wrk against the mock upstream; prints the functions that hold the most samples and keeps the
 * whole profile (call tree included) in scripts/bench/results/<time>-profile.md.
 *   bun scripts/bench/profile.ts [--seconds 10] [--connections 64] [--stream] [--all-levels] [--traced] [--top 40]
 * Samples are taken while JavaScript runs on the main thread: native frames (fetch, Response, the server's own work)
 * count where they are entered. The usage worker and Bun's HTTP client thread are not in it.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chatLoad, ROOT, startGateway, startMockUpstream, startOtlpSink } from "./gateway";
import { assertPortsFree, cleanupAll, stop, stopAll, tempDir } from "./processes";
import { ensureWrk, runWrk } from "./wrk";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    connections: { type: "string", default: "64" },
    stream: { type: "boolean", default: false },
    "all-levels": { type: "boolean", default: false },
    traced: { type: "boolean", default: false },
    top: { type: "string", default: "40" },
  },
});
const PORTS = { upstream: 9171, gateway: 9172, sink: 9173 };

interface Row {
  samples: number;
  name: string;
  where: string;
}

/** The "Function Details" entries of a --cpu-prof-md profile, most samples first. */
export function topFunctions(markdown: string, n: number): { total: number; rows: Row[] } {
  const details = markdown.slice(markdown.indexOf("## Function Details"));
  const rows: Row[] = [];
  for (const m of details.matchAll(/### `(.*?)`\n`(.*?)` \| Self: .*? \| Total: .*? \| Samples: (\d+)/g)) {
    rows.push({ samples: Number(m[3]), name: m[1] ?? "", where: (m[2] ?? "").replace(`${ROOT}/`, "") });
  }
  rows.sort((a, b) => b.samples - a.samples);
  return { total: rows.reduce((s, r) => s + r.samples, 0), rows: rows.slice(0, n) };
}

async function main(): Promise<void> {
  assertPortsFree(Object.values(PORTS));
  ensureWrk();
  const profileDir = tempDir("gw-profile-");
  await startMockUpstream(PORTS.upstream);
  const upstreams = { json: PORTS.upstream, ttfb: PORTS.upstream, streams: PORTS.upstream };
  if (values.traced) startOtlpSink(PORTS.sink);
  const gw = await startGateway({
    name: "gateway-profiled",
    port: PORTS.gateway,
    databaseUrl: `sqlite:///${join(tempDir("gw-profile-db-"), "bench.db")}`,
    upstreams,
    allLevels: values["all-levels"],
    readyTimeoutMs: 90_000,
    env: values.traced
      ? { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${PORTS.sink}`, OTEL_TRACES_SAMPLER: "always_on" }
      : undefined,
    command: [
      process.execPath,
      "--cpu-prof-md",
      `--cpu-prof-dir=${profileDir}`,
      "--cpu-prof-interval=200",
      join(ROOT, "src/main.ts"),
    ],
  });
  const load = chatLoad(gw, values.stream);
  const warm = await runWrk({ ...load, connections: 16, seconds: 3 }); // warm-up: the JIT settles before the measured run
  const run = await runWrk({ ...load, connections: Number(values.connections), seconds: Number(values.seconds) });
  // The profile is written when the process exits.
  await stop(gw.child.proc);
  const file = readdirSync(profileDir).find((f) => f.endsWith(".md"));
  if (!file) throw new Error("the profiler wrote no profile");
  const markdown = readFileSync(join(profileDir, file), "utf8");
  const { total, rows } = topFunctions(markdown, Number(values.top));
  const lines = [
    `c=${run.connections}: ${run.rps} rps, p50 ${run.p50} µs, p99 ${run.p99} µs, ${run.non2xx} non-2xx; ${total} samples over ${warm.requests + run.requests} requests (warm-up included)`,
    "",
    "| samples | share | function | where |",
    "|---:|---:|---|---|",
    ...rows.map((r) => `| ${r.samples} | ${((100 * r.samples) / total).toFixed(1)}% | \`${r.name}\` | ${r.where} |`),
  ];
  const outDir = join(import.meta.dir, "results");
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, `${new Date().toISOString().replace(/[:.]/g, "-")}-profile.md`);
  writeFileSync(out, `${lines.join("\n")}\n\n${markdown}`);
  console.log(`${lines.join("\n")}\n\nfull profile: ${out.replace(`${ROOT}/`, "")}`);
}

try {
  await main();
} finally {
  await stopAll();
  cleanupAll();
}
