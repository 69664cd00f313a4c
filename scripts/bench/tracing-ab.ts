/**
 * Tracing's cost on its own (issue #18): the bench's gateway setup twice, tracing off and tracing on at ratio 1.0
 * exporting to a local OTLP sink, measured in alternation (off/on, then on/off) with a pause before each run so
 * the previous run's deferred work (usage rows, span export) has drained. The side-by-side sweep of run.ts runs
 * `traced` right after gateway-sqlite, which then pays for that scenario's deferred work; this does not.
 *   bun scripts/bench/tracing-ab.ts [--rounds 4] [--seconds 4] [--warmup 15] [--connections 64] [--no-build]
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
  },
});
const PORTS = { upstream: 9201, off: 9203, on: 9205, sink: 9206 };
const HERE = import.meta.dir;
const PAUSE_MS = 4000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main(): Promise<void> {
  ensureWrk();
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
  const db = (name: string) => `sqlite:///${join(tempDir("gw-bench-db-"), `${name}.db`)}`;
  const gateways: Record<"off" | "on", { gw: Gateway; port: number }> = {
    off: {
      gw: await startGateway({ name: "ab-off", port: PORTS.off, databaseUrl: db("off"), upstreams }),
      port: PORTS.off,
    },
    on: {
      gw: await startGateway({
        name: "ab-on",
        port: PORTS.on,
        databaseUrl: db("on"),
        upstreams,
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${PORTS.sink}`, OTEL_TRACES_SAMPLER: "always_on" },
      }),
      port: PORTS.on,
    },
  };
  await Bun.sleep(1000);
  console.log(
    `idle RSS: off ${rssMb(gateways.off.gw.child.proc.pid)} MB, on ${rssMb(gateways.on.gw.child.proc.pid)} MB`,
  );
  const load = (name: "off" | "on", connections: number, seconds: number) => {
    const { gw, port } = gateways[name];
    return runWrk({
      url: `http://127.0.0.1:${port}/v1/chat/completions`,
      env: { WRK_KEY: gw.key, WRK_MODEL: MODELS.json },
      connections,
      seconds,
    });
  };
  // Past the JIT's compile phase (the first ~50,000 requests; run.ts WARMUP_SECONDS), so the pair compares steady states.
  for (const name of ["off", "on"] as const) await load(name, 32, Number(values.warmup));
  const rps: Record<"off" | "on", number[]> = { off: [], on: [] };
  const c = Number(values.connections);
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const name of round % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const)) {
      await Bun.sleep(PAUSE_MS);
      const result = await load(name, c, Number(values.seconds));
      rps[name].push(result.rps);
      console.log(`round ${round} tracing ${name.padEnd(3)} c=${c} ${result.rps} rps  p50 ${result.p50} µs`);
    }
  }
  const [off, on] = [median(rps.off), median(rps.on)];
  console.log(`median rps: off ${off}, on ${on}: tracing on serves ${((100 * on) / off).toFixed(1)} % (target ≥ 90 %)`);
}

try {
  await main();
} finally {
  await cleanupAll();
}
