/**
 * Streams, before and after a change (issue #20): two gateway binaries side by side on SQLite and on Postgres, with
 * the bare hop beside them, measured in alternation round by round (the order reversed every round) so a busy
 * machine weighs on both alike. Per round and target: stream time to first byte and the gaps between chunks at c=1
 * (run.ts's TTFB stream: 3 chunks 5 ms apart), then N streams opened at once (20 chunks 50 ms apart) checked for
 * stalls. Prints each figure per round and the medians over the rounds, with the load average at each round.
 *   bun scripts/bench/streams-ab.ts --before /path/to/old/gateway [--after dist/gateway] [--rounds 3]
 *        [--samples 200] [--streams 2000] [--no-pg] [--pg postgres://postgres@127.0.0.1:5432]
 */
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BINARY, MODELS, startGateway, type Upstreams } from "./gateway";
import { createDatabase, startPostgres } from "./pg-stats";
import { cleanupAll, cpuUs, start, tempDir, waitReady } from "./processes";
import { median, round as rounded } from "./stats";
import { measureStalls, measureTtfb, type StreamTarget } from "./streams";

const { values } = parseArgs({
  options: {
    before: { type: "string" },
    after: { type: "string", default: BINARY },
    rounds: { type: "string", default: "3" },
    samples: { type: "string", default: "200" },
    streams: { type: "string", default: "2000" },
    "no-pg": { type: "boolean", default: false },
    pg: { type: "string", default: "postgres://postgres@127.0.0.1:5432" },
  },
});
const BEFORE = values.before ?? "";
if (!existsSync(BEFORE)) throw new Error("--before must name a gateway binary");
if (!existsSync(values.after)) throw new Error(`${values.after} not found: bun run build first`);
const PORTS = {
  upstreamTtfb: 9241,
  upstreamStreams: 9242,
  bareTtfb: 9243,
  bareStreams: 9244,
  gateways: 9245,
  postgres: 9259,
};
const HERE = import.meta.dir;
const BUN = process.execPath;
const TTFB_STREAM = { chunks: 3, intervalMs: 5 };
const STALL = { streams: Number(values.streams), chunks: 20, intervalMs: 50, gapMs: 2000 };
const url = (port: number, path = "/v1/chat/completions") => `http://127.0.0.1:${port}${path}`;

interface Target {
  name: string;
  /** The process whose CPU per stream is counted. */
  pid: number;
  ttfb: StreamTarget;
  streams: StreamTarget;
}

async function main(): Promise<void> {
  const serve = async (name: string, script: string, port: number, args: string[], env?: Record<string, string>) => {
    const child = start(name, [BUN, join(HERE, script), "--port", String(port), ...args], { env });
    await waitReady(child, url(port, "/v1/models"));
    return child.proc.pid;
  };
  await serve("ab-upstream-ttfb", "upstream.ts", PORTS.upstreamTtfb, [
    "--chunks",
    String(TTFB_STREAM.chunks),
    "--interval-ms",
    String(TTFB_STREAM.intervalMs),
  ]);
  await serve("ab-upstream-streams", "upstream.ts", PORTS.upstreamStreams, [
    "--chunks",
    String(STALL.chunks),
    "--interval-ms",
    String(STALL.intervalMs),
  ]);
  // The bare hop is the floor, so Bun's default cap of 256 fetches in flight must not hold it back (as in run.ts).
  const uncapped = { BUN_CONFIG_MAX_HTTP_REQUESTS: "65535" };
  // One bare process for both upstreams' paths would mix their CPU; the TTFB hop's is the one counted per stream.
  const barePid = await serve(
    "ab-bare-ttfb",
    "bare-proxy.ts",
    PORTS.bareTtfb,
    ["--upstream", `http://127.0.0.1:${PORTS.upstreamTtfb}`],
    uncapped,
  );
  const bareStreamsPid = await serve(
    "ab-bare-streams",
    "bare-proxy.ts",
    PORTS.bareStreams,
    ["--upstream", `http://127.0.0.1:${PORTS.upstreamStreams}`],
    uncapped,
  );

  const targets: Target[] = [
    {
      name: "bare",
      pid: barePid,
      ttfb: { url: url(PORTS.bareTtfb), model: "bench-model" },
      streams: { url: url(PORTS.bareStreams), model: "bench-model" },
    },
  ];
  const upstreams: Upstreams = { json: PORTS.upstreamTtfb, ttfb: PORTS.upstreamTtfb, streams: PORTS.upstreamStreams };
  const pg = values["no-pg"] ? null : await startPostgres({ privatePort: PORTS.postgres, fallbackUrl: values.pg });
  let port = PORTS.gateways;
  for (const [label, binary] of [
    ["before", BEFORE],
    ["after", values.after],
  ] as const) {
    const databases: [string, () => Promise<string>][] = [
      ["sqlite", async () => `sqlite:///${join(tempDir("gw-bench-db-"), "gateway.db")}`],
    ];
    if (pg) databases.push(["pg", () => createDatabase(pg, `streams_ab_${label}_${process.pid}`)]);
    for (const [dialect, databaseUrl] of databases) {
      const name = `${label}-${dialect}`;
      const gw = await startGateway({
        name: `ab-${name}`,
        port,
        databaseUrl: await databaseUrl(),
        upstreams,
        command: [binary],
      });
      targets.push({
        name,
        pid: gw.child.proc.pid,
        ttfb: { url: url(port), model: MODELS.ttfb, key: gw.key },
        streams: { url: url(port), model: MODELS.streams, key: gw.key },
      });
      port++;
    }
  }

  // Warm-up: every target serves the TTFB stream until the JIT has compiled the stream path.
  for (const t of targets) await measureTtfb(t.ttfb, 500);
  const samples = Number(values.samples);
  const figures = new Map<string, Record<string, number[]>>(targets.map((t) => [t.name, {}]));
  const note = (t: string, figure: string, x: number) => {
    const row = figures.get(t)!;
    row[figure] = [...(row[figure] ?? []), x];
  };
  for (let round = 0; round < Number(values.rounds); round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    const load = loadavg().map((x) => x.toFixed(2));
    console.log(`round ${round} (load average ${load.join(" ")})`);
    for (const t of order) {
      const cpu = cpuUs(t.pid);
      const r = await measureTtfb(t.ttfb, samples);
      // Warm-up requests of the client included: CPU per stream opened, whatever the machine's load.
      const cpuPerStream = (cpuUs(t.pid) - cpu) / (samples + Math.min(20, samples)) / 1000;
      note(t.name, "cpu_ms_per_stream", rounded(cpuPerStream, 3));
      note(t.name, "ttfb_p50_ms", r.p50_ms);
      note(t.name, "ttfb_p99_ms", r.p99_ms);
      note(t.name, "gap_p99_ms", r.gap_p99_ms);
      console.log(
        `  ${t.name.padEnd(12)} TTFB p50 ${r.p50_ms} p99 ${r.p99_ms} max ${r.max_ms} ms, gap p50 ${r.gap_p50_ms} p99 ${r.gap_p99_ms} ms, CPU ${cpuPerStream.toFixed(3)} ms/stream, errors ${r.errors}`,
      );
    }
    for (const t of order) {
      await Bun.sleep(2000);
      const pid = t.pid === barePid ? bareStreamsPid : t.pid;
      const cpu = cpuUs(pid);
      const s = await measureStalls(t.streams, STALL);
      const burstCpu = (cpuUs(pid) - cpu) / STALL.streams / 1000;
      note(t.name, "burst_cpu_ms_per_stream", rounded(burstCpu, 3));
      note(t.name, "stalled", s.stalled);
      note(t.name, "first_byte_max_ms", s.first_byte_max_ms);
      note(t.name, "first_byte_p50_ms", s.first_byte_p50_ms);
      console.log(
        `  ${t.name.padEnd(12)} ${STALL.streams} streams: ${s.completed} complete, ${s.stalled} stalled, first byte p50 ${s.first_byte_p50_ms} max ${s.first_byte_max_ms} ms, max gap ${s.max_gap_ms} ms, wall ${s.wall_ms} ms, CPU ${burstCpu.toFixed(3)} ms/stream ${JSON.stringify(s.errors)}`,
      );
    }
  }
  console.log(
    `medians over ${values.rounds} rounds (load average now ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}):`,
  );
  for (const [name, row] of figures)
    console.log(
      `  ${name.padEnd(12)} ${Object.entries(row)
        .map(([k, xs]) => `${k} ${median(xs)}`)
        .join(", ")}`,
    );
}

try {
  await main();
} finally {
  cleanupAll();
}
