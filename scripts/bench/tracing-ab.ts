/**
 * Tracing's cost on its own (issue #18): the bench's gateway setup twice, tracing off and tracing on at ratio 1.0
 * exporting to a local OTLP sink, measured in alternation (off/on, then on/off) with a pause before each run so
 * the previous run's deferred work (usage rows, span export) has drained. The side-by-side sweep of run.ts runs
 * `traced` right after gateway-sqlite, which then pays for that scenario's deferred work; this does not.
 * `--before OLD_BINARY` adds that binary's off/on pair to every round, so a change's before and after come from one
 * machine state.
 *   bun scripts/bench/tracing-ab.ts [--rounds 4] [--seconds 4] [--warmup 15] [--connections 64] [--no-build]
 *        [--before /path/to/old/gateway]
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BINARY, buildBinary, type Gateway, MODELS, startGateway } from "./gateway";
import { cleanupAll, rssMb, start, tempDir, waitReady } from "./processes";
import { ensureWrk, runWrk } from "./wrk";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "4" },
    seconds: { type: "string", default: "4" },
    warmup: { type: "string", default: "15" },
    connections: { type: "string", default: "64" },
    "no-build": { type: "boolean", default: false },
    before: { type: "string" },
  },
});
const PORTS = { upstream: 9201, sink: 9206, gateways: 9210 };
const HERE = import.meta.dir;
const PAUSE_MS = 4000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

interface Variant {
  name: string;
  build: string;
  tracing: "off" | "on";
  gw: Gateway;
  port: number;
  rps: number[];
}

async function main(): Promise<void> {
  ensureWrk();
  if (values.before && !existsSync(values.before)) throw new Error(`--before: ${values.before} not found`);
  if (!values["no-build"] || !existsSync(BINARY)) buildBinary();
  const upstream = start("ab-upstream", [
    process.execPath,
    join(HERE, "upstream.ts"),
    "--port",
    String(PORTS.upstream),
  ]);
  await waitReady(upstream, `http://127.0.0.1:${PORTS.upstream}/v1/models`);
  const sink = start("ab-otlp-sink", [process.execPath, join(HERE, "otlp-sink.ts"), "--port", String(PORTS.sink)]);
  await waitReady(sink, `http://127.0.0.1:${PORTS.sink}/`);
  const upstreams = { json: PORTS.upstream, ttfb: PORTS.upstream, streams: PORTS.upstream };
  const builds: [string, string][] = [
    ["after", BINARY],
    ...(values.before ? [["before", values.before] as [string, string]] : []),
  ];
  const variants: Variant[] = [];
  for (const [build, binary] of builds) {
    for (const tracing of ["off", "on"] as const) {
      const name = values.before ? `${build} ${tracing}` : tracing;
      const port = PORTS.gateways + variants.length;
      const gw = await startGateway({
        name: `ab-${build}-${tracing}`,
        port,
        databaseUrl: `sqlite:///${join(tempDir("gw-bench-db-"), "gateway.db")}`,
        upstreams,
        command: [binary],
        env:
          tracing === "on"
            ? { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${PORTS.sink}`, OTEL_TRACES_SAMPLER: "always_on" }
            : undefined,
      });
      variants.push({ name, build, tracing, gw, port, rps: [] });
    }
  }
  await Bun.sleep(1000);
  console.log(`idle RSS: ${variants.map((v) => `${v.name} ${rssMb(v.gw.child.proc.pid)} MB`).join(", ")}`);
  const load = (v: Variant, connections: number, seconds: number) =>
    runWrk({
      url: `http://127.0.0.1:${v.port}/v1/chat/completions`,
      env: { WRK_KEY: v.gw.key, WRK_MODEL: MODELS.json },
      connections,
      seconds,
    });
  // Past the JIT's compile phase (the first ~50,000 requests; run.ts WARMUP_SECONDS), so the pair compares steady states.
  for (const v of variants) await load(v, 32, Number(values.warmup));
  const c = Number(values.connections);
  for (let round = 0; round < Number(values.rounds); round++) {
    // Every round starts with the next variant, so none always runs first or last.
    const order = variants.map((_, i) => variants[(i + round) % variants.length] as Variant);
    for (const v of order) {
      await Bun.sleep(PAUSE_MS);
      const result = await load(v, c, Number(values.seconds));
      v.rps.push(result.rps);
      console.log(`round ${round} ${v.name.padEnd(10)} c=${c} ${result.rps} rps  p50 ${result.p50} µs`);
    }
  }
  for (const [build] of builds) {
    const [off, on] = (["off", "on"] as const).map((t) =>
      median((variants.find((v) => v.build === build && v.tracing === t) as Variant).rps),
    ) as [number, number];
    const label = values.before ? `${build}: ` : "";
    console.log(
      `${label}median rps: off ${off}, on ${on}: tracing on serves ${((100 * on) / off).toFixed(1)} % (target ≥ 90 %)`,
    );
  }
}

try {
  await main();
} finally {
  await cleanupAll();
}
