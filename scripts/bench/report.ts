/**
 * The results (written as JSON as they are) and their Markdown report: the targets of issue #8 with our figures
 * beside direct, the bare hop and Portkey from the same run, each with a pass/miss mark, then the detail tables.
 */
import type { SoakResult } from "./soak";
import type { ColdStart } from "./startup";
import type { StallResult, TtfbResult } from "./streams";
import { failures, type WrkResult } from "./wrk";

export type Failed = { error: string };
export type Outcome<T> = T | Failed;
export const failed = <T>(x: Outcome<T> | undefined): x is Failed =>
  typeof x === "object" && x !== null && "error" in x;
const ok = <T>(x: Outcome<T> | undefined): T | undefined => (x === undefined || failed(x) ? undefined : x);

export interface ScenarioResult {
  name: string;
  what: string;
  /** Why the scenario did not run at all. */
  skipped?: string;
  sweep: WrkResult[];
  rss: { idle_mb: number | null; loaded_peak_mb: number | null; after_mb: number | null };
  ttfb?: Outcome<TtfbResult>;
  streams?: Outcome<StallResult>;
  cold_start?: Outcome<ColdStart & { what: string }>;
}

export interface UsageWriterResult {
  offered_rows_per_s: number;
  seconds: number;
  committed_rows_per_s: number;
  max_queue_depth: number;
  queue_depth_at_end: number;
  drain_ms: number;
  enqueue_us_per_row: number;
  lag_idle_p99_ms: number;
  lag_load_p99_ms: number;
  lag_load_max_ms: number;
  capacity_rows_per_s: number;
  rows_in_db: number;
  rows_expected: number;
}

export interface DbStatements {
  scenario: string;
  requests: number;
  /** pg_stat_statements calls in the gateway's database during its load runs (null: not available). */
  pg_stat_statements: number | null;
  /** The gateway's own gateway_db_statements counter over the same runs. */
  gateway_counter: number;
  source: string;
}

export interface Results {
  meta: {
    started: string;
    commit: string;
    bun: string;
    node: string | null;
    wrk: string;
    cpu: string;
    cores: number;
    /** 1-minute load average when the run started: other work on the machine shows up here. */
    load_avg: number;
    seconds_per_point: number;
    levels: number[];
    wrk_ceiling_rps: number;
    body: "json" | "stream";
    ttfb_stream: string;
    stall_streams: number;
    stall_stream: string;
  };
  scenarios: ScenarioResult[];
  /** The gateway again with Bun's fetch cap raised, to show whether that cap is what stalls streams. */
  streams_diagnostic?: Outcome<StallResult>;
  usage_writer?: Outcome<UsageWriterResult>;
  db_statements: DbStatements[];
  soak?: Outcome<SoakResult>;
  notes: string[];
}

export const TARGETS = {
  addedP50Us: 110,
  addedP99Us: 400,
  vsBare: 0.9,
  vsPortkey: 10,
  addedTtfbMs: 0.5,
  coldStartMs: 100,
  idleRssMb: 60,
  soakMbPerMin: 1,
  usageRowsPerS: 20_000,
  /** "Without slowing requests": the p99 lateness of a 1 ms timer may grow by at most this much under the writer's load. */
  usageLagMs: 1,
  statementsPerRequest: 0.5,
};

const at = (s: ScenarioResult | undefined, c: number) => s?.sweep.find((w) => w.connections === c);
const n0 = (x: number) => Math.round(x).toLocaleString("en-US");
const f = (x: number, d = 2) => x.toFixed(d);
const signed = (x: number, unit: string, d = 0) => `${x >= 0 ? "+" : ""}${x.toFixed(d)} ${unit}`;
const ms = (us: number) => f(us / 1000);
type Mark = "pass" | "**miss**" | "n/a" | "not run";
const mark = (value: number | undefined, good: (v: number) => boolean): Mark =>
  value === undefined || Number.isNaN(value) ? "not run" : good(value) ? "pass" : "**miss**";

/** One target row: a figure per scenario and a mark for each gateway. */
interface TargetRow {
  target: string;
  goal: string;
  cell: (s: ScenarioResult) => string;
  /** The value the goal applies to, per gateway; undefined = not measured. */
  value: (s: ScenarioResult) => number | undefined;
  good: (v: number) => boolean;
  /** Gateways the target does not apply to. */
  notFor?: string[];
}

export function renderMarkdown(r: Results, chartFile: string): string {
  const by = (name: string) => r.scenarios.find((s) => s.name === name);
  const direct = by("direct");
  const bare = by("bare-proxy");
  const portkey = by("portkey");
  const peers = [direct, bare, portkey].filter((s): s is ScenarioResult => s !== undefined);
  const gateways = r.scenarios.filter((s) => s.name.startsWith("gateway-"));
  const running = (s: ScenarioResult | undefined) => (s && !s.skipped ? s : undefined);
  const directTtfb = ok(direct?.ttfb);
  const soak = ok(r.soak);
  const writer = ok(r.usage_writer);
  const stmts = (s: ScenarioResult) => r.db_statements.find((d) => d.scenario === s.name);

  const addedAt1 = (s: ScenarioResult, key: "p50" | "p99") => {
    const mine = at(running(s), 1);
    const base = at(direct, 1);
    return mine && base ? mine[key] - base[key] : undefined;
  };
  const rps64 = (s: ScenarioResult | undefined) => at(running(s), 64)?.rps;
  const addedTtfb = (s: ScenarioResult) => {
    const t = ok(s.ttfb);
    return t && directTtfb ? t.p50_ms - directTtfb.p50_ms : undefined;
  };
  const stallCell = (s: ScenarioResult) => {
    const x = s.streams;
    if (!x) return "not run";
    if (failed(x)) return `error: ${x.error.slice(0, 60)}`;
    return `${n0(x.completed)}/${n0(x.streams)} complete, ${n0(x.stalled)} stalled, first byte max ${f(x.first_byte_max_ms, 0)} ms, max gap ${f(x.max_gap_ms, 0)} ms`;
  };
  const skippedCell = (s: ScenarioResult) => (s.skipped ? `not run (${s.skipped})` : undefined);
  const rows: TargetRow[] = [
    {
      target: "added latency over direct at c=1, p50",
      goal: `≤ ${TARGETS.addedP50Us} µs`,
      cell: (s) =>
        skippedCell(s) ??
        (s === direct
          ? `${at(s, 1)?.p50 ?? "-"} µs (base)`
          : addedAt1(s, "p50") === undefined
            ? "-"
            : signed(addedAt1(s, "p50")!, "µs")),
      value: (s) => addedAt1(s, "p50"),
      good: (v) => v <= TARGETS.addedP50Us,
    },
    {
      target: "added latency over direct at c=1, p99",
      goal: `≤ ${TARGETS.addedP99Us} µs`,
      cell: (s) =>
        skippedCell(s) ??
        (s === direct
          ? `${at(s, 1)?.p99 ?? "-"} µs (base)`
          : addedAt1(s, "p99") === undefined
            ? "-"
            : signed(addedAt1(s, "p99")!, "µs")),
      value: (s) => addedAt1(s, "p99"),
      good: (v) => v <= TARGETS.addedP99Us,
    },
    {
      target: "throughput at c=64 vs the bare hop",
      goal: `≥ ${TARGETS.vsBare}× bare`,
      cell: (s) =>
        skippedCell(s) ??
        (rps64(s) === undefined
          ? "-"
          : `${n0(rps64(s)!)} rps${rps64(bare) ? ` (${f(rps64(s)! / rps64(bare)!)}×)` : ""}`),
      value: (s) => (rps64(s) && rps64(bare) ? rps64(s)! / rps64(bare)! : undefined),
      good: (v) => v >= TARGETS.vsBare,
    },
    {
      target: "throughput at c=64 vs Portkey",
      goal: `≥ ${TARGETS.vsPortkey}× Portkey`,
      cell: (s) =>
        skippedCell(s) ??
        (rps64(s) === undefined
          ? "-"
          : `${n0(rps64(s)!)} rps${rps64(portkey) ? ` (${f(rps64(s)! / rps64(portkey)!, 1)}×)` : ""}`),
      value: (s) => (rps64(s) && rps64(portkey) ? rps64(s)! / rps64(portkey)! : undefined),
      good: (v) => v >= TARGETS.vsPortkey,
    },
    {
      target: "added time to first byte on streams (p50, c=1)",
      goal: `≤ ${TARGETS.addedTtfbMs} ms`,
      cell: (s) => {
        const t = s.ttfb;
        if (!t) return skippedCell(s) ?? "not run";
        if (failed(t)) return `error: ${t.error.slice(0, 60)}`;
        if (s === direct) return `${f(t.p50_ms, 3)} ms (base)`;
        return directTtfb
          ? `${signed(t.p50_ms - directTtfb.p50_ms, "ms", 3)} (p99 ${signed(t.p99_ms - directTtfb.p99_ms, "ms", 2)})`
          : `${f(t.p50_ms, 3)} ms`;
      },
      value: addedTtfb,
      good: (v) => v <= TARGETS.addedTtfbMs,
    },
    {
      target: `${n0(r.meta.stall_streams)} concurrent streams`,
      goal: "no stall",
      cell: (s) => skippedCell(s) ?? stallCell(s),
      value: (s) => ok(s.streams)?.stalled,
      good: (v) => v === 0,
    },
    {
      target: "cold start to a 200 from /health (median of runs)",
      goal: `≤ ${TARGETS.coldStartMs} ms`,
      cell: (s) => {
        const c = s.cold_start;
        if (s.name !== "gateway-sqlite" && s.name.startsWith("gateway-")) return "n/a (same binary)";
        if (!c) return skippedCell(s) ?? "not run";
        return failed(c) ? `error: ${c.error.slice(0, 60)}` : `${f(c.median_ms, 1)} ms (${c.what})`;
      },
      value: (s) => ok(s.cold_start)?.median_ms,
      good: (v) => v <= TARGETS.coldStartMs,
      notFor: ["gateway-postgres", "gateway-sqlite-all-levels", "gateway-postgres-all-levels"],
    },
    {
      target: "idle RSS",
      goal: `≤ ${TARGETS.idleRssMb} MB`,
      cell: (s) => skippedCell(s) ?? (s.rss.idle_mb === null ? "-" : `${f(s.rss.idle_mb, 1)} MB`),
      value: (s) => s.rss.idle_mb ?? undefined,
      good: (v) => v <= TARGETS.idleRssMb,
    },
    {
      target: "RSS growth over the soak (steady load, after warm-up)",
      goal: `< ${TARGETS.soakMbPerMin} MB/min`,
      cell: (s) => {
        if (s.name !== "gateway-sqlite") return "n/a";
        if (!r.soak) return "not run (use --soak 600)";
        if (failed(r.soak)) return `error: ${r.soak.error.slice(0, 60)}`;
        return `${signed(r.soak.slope_mb_per_min, "MB/min", 2)} ± ${f(r.soak.slope_stderr_mb_per_min)} over ${r.soak.seconds} s`;
      },
      value: (s) => (s.name === "gateway-sqlite" ? soak?.slope_mb_per_min : undefined),
      good: (v) => v < TARGETS.soakMbPerMin,
      notFor: ["gateway-postgres", "gateway-sqlite-all-levels", "gateway-postgres-all-levels"],
    },
    {
      target: "usage writer into SQLite, without slowing requests",
      goal: `≥ ${n0(TARGETS.usageRowsPerS)} rows/s, timer lag p99 +≤ ${TARGETS.usageLagMs} ms`,
      cell: (s) => {
        if (s.name !== "gateway-sqlite") return "n/a";
        if (!r.usage_writer) return "not run";
        if (failed(r.usage_writer)) return `error: ${r.usage_writer.error.slice(0, 60)}`;
        const w = r.usage_writer;
        return `${n0(w.committed_rows_per_s)} rows/s committed of ${n0(w.offered_rows_per_s)} offered; lag p99 ${f(w.lag_idle_p99_ms)} → ${f(w.lag_load_p99_ms)} ms`;
      },
      value: (s) =>
        s.name === "gateway-sqlite" && writer
          ? writer.committed_rows_per_s >= TARGETS.usageRowsPerS &&
            writer.queue_depth_at_end < writer.offered_rows_per_s &&
            writer.lag_load_p99_ms - writer.lag_idle_p99_ms <= TARGETS.usageLagMs
            ? 1
            : 0
          : undefined,
      good: (v) => v === 1,
      notFor: ["gateway-postgres", "gateway-sqlite-all-levels", "gateway-postgres-all-levels"],
    },
    {
      target: "Postgres statements per served request (amortized)",
      goal: `≤ ${TARGETS.statementsPerRequest}`,
      cell: (s) => {
        if (!s.name.startsWith("gateway-postgres")) return "n/a";
        const d = stmts(s);
        if (!d?.requests) return skippedCell(s) ?? "not run";
        const pgs =
          d.pg_stat_statements === null ? "" : `${f(d.pg_stat_statements / d.requests, 3)} (pg_stat_statements); `;
        return `${pgs}${f(d.gateway_counter / d.requests, 3)} (gateway counter)`;
      },
      value: (s) => {
        const d = s.name.startsWith("gateway-postgres") ? stmts(s) : undefined;
        if (!d?.requests) return undefined;
        return (d.pg_stat_statements ?? d.gateway_counter) / d.requests;
      },
      good: (v) => v <= TARGETS.statementsPerRequest,
      notFor: ["gateway-sqlite", "gateway-sqlite-all-levels"],
    },
  ];

  // The traced gateway is measured beside the others but has no targets of its own: its mark is its ratio to
  // gateway-sqlite (docs/tracing.md), given under the load table.
  const traced = r.scenarios.filter((s) => s.name === "traced");
  const targetCols = [...peers, ...gateways];
  const cols = [...targetCols, ...traced];
  const out: string[] = [];
  const m = r.meta;
  out.push(`# Benchmark ${m.started}`);
  out.push("");
  out.push(
    `Commit ${m.commit}; Bun ${m.bun}${m.node ? `, Node ${m.node}` : ""}, ${m.wrk}; ${m.cores} cores (${m.cpu}). ` +
      `wrk: 1 thread, ${m.seconds_per_point} s per point, ${m.body === "stream" ? "SSE stream" : "JSON"} chat bodies; its own ceiling (GET on the mock, c=64): ${n0(m.wrk_ceiling_rps)} rps. ` +
      `Everything runs on the same machine, side by side in one invocation.`,
  );
  out.push("");
  out.push(`![latency vs concurrency](${chartFile})`);
  out.push("");
  out.push("## Targets");
  out.push("");
  out.push(
    `| target | goal | ${targetCols.map((s) => s.name).join(" | ")} | ${gateways.map((g) => `mark (${g.name.replace("gateway-", "")})`).join(" | ")} |`,
  );
  out.push(`|---|---|${targetCols.map(() => "---").join("|")}|${gateways.map(() => "---").join("|")}|`);
  for (const row of rows) {
    const marks = gateways.map((g) =>
      row.notFor?.includes(g.name) ? "n/a" : g.skipped ? "not run" : mark(row.value(g), row.good),
    );
    out.push(`| ${row.target} | ${row.goal} | ${targetCols.map(row.cell).join(" | ")} | ${marks.join(" | ")} |`);
  }
  out.push("");

  out.push("## Load (wrk, chat completions)");
  out.push("");
  out.push(
    "| scenario | c=1 rps | c=1 p50 µs | c=1 p99 µs | c=1 p99.9 µs | c=64 rps | c=64 p50 ms | c=64 p99 ms | c=64 p99.9 ms | c=64 vs bare | failed requests |",
  );
  out.push("|---|---|---|---|---|---|---|---|---|---|---|");
  for (const s of cols) {
    if (s.skipped) {
      out.push(`| ${s.name} | not run: ${s.skipped} | ${Array(9).fill("-").join(" | ")} |`);
      continue;
    }
    const a = at(s, 1);
    const b = at(s, 64);
    const failedReq = s.sweep.reduce((n, w) => n + failures(w), 0);
    out.push(
      `| ${s.name} | ${a ? n0(a.rps) : "-"} | ${a?.p50 ?? "-"} | ${a?.p99 ?? "-"} | ${a?.p999 ?? "-"} | ${b ? n0(b.rps) : "-"} | ${b ? ms(b.p50) : "-"} | ${b ? ms(b.p99) : "-"} | ${b ? ms(b.p999) : "-"} | ${b && rps64(bare) ? `${f(b.rps / rps64(bare)!)}×` : "-"} | ${n0(failedReq)} |`,
    );
  }
  out.push("");
  const sqlite = r.scenarios.find((s) => s.name === "gateway-sqlite");
  for (const t of traced.filter((x) => !x.skipped)) {
    const [on, off] = [at(t, 64), sqlite ? at(sqlite, 64) : undefined];
    if (on && off)
      out.push(
        `Tracing (traced: gateway-sqlite's setup, every request traced and exported to a local OTLP sink): ${f((100 * on.rps) / off.rps, 1)} % of gateway-sqlite's c=64 throughput (issue #18 target: at least 90 %).`,
        "",
      );
  }
  out.push("Concurrency sweep (rps / p50 / p99, latencies in ms), the data of the chart:");
  out.push("");
  out.push(`| scenario | ${m.levels.map((c) => `c=${c}`).join(" | ")} |`);
  out.push(`|---|${m.levels.map(() => "---").join("|")}|`);
  for (const s of cols.filter((x) => !x.skipped)) {
    out.push(
      `| ${s.name} | ${m.levels.map((c) => (at(s, c) ? `${n0(at(s, c)!.rps)} / ${ms(at(s, c)!.p50)} / ${ms(at(s, c)!.p99)}` : "-")).join(" | ")} |`,
    );
  }
  out.push("");

  out.push("## Streams");
  out.push("");
  out.push(
    `Time to first byte (first SSE \`data:\` byte), sequential streams (${m.ttfb_stream}); stall test: ${m.stall_stream}.`,
  );
  out.push("");
  out.push(
    "| scenario | TTFB p50 ms | TTFB p99 ms | added p50 ms | added p99 ms | streams complete | stalled | first byte p50 / max ms | max gap ms | wall ms |",
  );
  out.push("|---|---|---|---|---|---|---|---|---|---|");
  const streamRow = (name: string, ttfb: Outcome<TtfbResult> | undefined, st: Outcome<StallResult> | undefined) => {
    const t = ok(ttfb);
    const x = ok(st);
    const tErr = failed(ttfb) ? `error: ${ttfb.error.slice(0, 80)}` : "-";
    const xErr = failed(st) ? `error: ${st.error.slice(0, 80)}` : "-";
    return `| ${name} | ${t ? f(t.p50_ms, 3) : tErr} | ${t ? f(t.p99_ms, 3) : "-"} | ${t && directTtfb ? f(t.p50_ms - directTtfb.p50_ms, 3) : "-"} | ${t && directTtfb ? f(t.p99_ms - directTtfb.p99_ms, 3) : "-"} | ${x ? `${n0(x.completed)}/${n0(x.streams)}` : xErr} | ${x ? n0(x.stalled) : "-"} | ${x ? `${f(x.first_byte_p50_ms, 0)} / ${f(x.first_byte_max_ms, 0)}` : "-"} | ${x ? f(x.max_gap_ms, 0) : "-"} | ${x ? n0(x.wall_ms) : "-"} |`;
  };
  for (const s of cols.filter((x) => !x.skipped)) out.push(streamRow(s.name, s.ttfb, s.streams));
  if (r.streams_diagnostic)
    out.push(
      streamRow("gateway-sqlite, BUN_CONFIG_MAX_HTTP_REQUESTS=65535 (diagnostic)", undefined, r.streams_diagnostic),
    );
  const errs = cols.flatMap((s) =>
    Object.entries(ok(s.streams)?.errors ?? {}).map(([e, k]) => `${s.name}: ${k}× ${e}`),
  );
  if (errs.length) out.push("", `Stream errors: ${errs.join("; ")}`);
  out.push("");

  out.push("## Memory and start-up");
  out.push("");
  out.push("| scenario | RSS idle MB | RSS under load (peak) MB | RSS after MB | cold start median ms | runs ms |");
  out.push("|---|---|---|---|---|---|");
  for (const s of cols.filter((x) => !x.skipped)) {
    const c = ok(s.cold_start);
    out.push(
      `| ${s.name} | ${s.rss.idle_mb ?? "-"} | ${s.rss.loaded_peak_mb ?? "-"} | ${s.rss.after_mb ?? "-"} | ${c ? `${f(c.median_ms, 1)} (${c.what})` : "-"} | ${c ? c.runs_ms.map((x) => f(x, 0)).join(", ") : "-"} |`,
    );
  }
  out.push("");

  out.push("## Usage writer (SQLite)");
  out.push("");
  if (!r.usage_writer) out.push("Not run.");
  else if (failed(r.usage_writer)) out.push(`Failed: ${r.usage_writer.error}`);
  else {
    const w = r.usage_writer;
    out.push(
      "| offered rows/s | committed rows/s | queue depth max / at end | drain ms | enqueue µs/row | timer lag p99 idle → load ms | lag max ms | capacity rows/s | rows in DB / expected |",
    );
    out.push("|---|---|---|---|---|---|---|---|---|");
    out.push(
      `| ${n0(w.offered_rows_per_s)} | ${n0(w.committed_rows_per_s)} | ${n0(w.max_queue_depth)} / ${n0(w.queue_depth_at_end)} | ${w.drain_ms} | ${f(w.enqueue_us_per_row)} | ${f(w.lag_idle_p99_ms)} → ${f(w.lag_load_p99_ms)} | ${f(w.lag_load_max_ms, 1)} | ${n0(w.capacity_rows_per_s)} | ${n0(w.rows_in_db)} / ${n0(w.rows_expected)} |`,
    );
    out.push("");
    out.push(
      `Paced phase: rows enqueued at the offered rate for ${w.seconds} s through the gateway's writer (SQLite worker-thread inserter, crash journal); pass = committed ≥ ${n0(TARGETS.usageRowsPerS)}/s, queue at the end under one second of rows, and the p99 lateness of a 1 ms timer (the event loop that serves requests) up by ≤ ${TARGETS.usageLagMs} ms. Capacity: 100k rows enqueued as fast as the loop allows.`,
    );
  }
  out.push("");

  out.push("## Database statements per request");
  out.push("");
  out.push("| scenario | requests | pg_stat_statements calls | per request | gateway counter | per request | source |");
  out.push("|---|---|---|---|---|---|---|");
  for (const d of r.db_statements) {
    const pgs = d.pg_stat_statements;
    out.push(
      `| ${d.scenario} | ${n0(d.requests)} | ${pgs === null ? "-" : n0(pgs)} | ${pgs === null || !d.requests ? "-" : f(pgs / d.requests, 3)} | ${n0(d.gateway_counter)} | ${d.requests ? f(d.gateway_counter / d.requests, 3) : "-"} | ${d.source} |`,
    );
  }
  out.push("");
  out.push(
    "Counted over all of the scenario's wrk runs (every concurrency level), background statements included; pg_stat_statements counts BEGIN/COMMIT too.",
  );
  out.push("");

  out.push("## Soak");
  out.push("");
  if (!r.soak) out.push("Not run (use `--soak 600` for the 10-minute soak).");
  else if (failed(r.soak)) out.push(`Failed: ${r.soak.error}`);
  else {
    const s = r.soak;
    out.push(
      `gateway-sqlite, wrk c=${s.connections} for ${s.seconds} s (${n0(s.rps)} rps, ${n0(s.failed_requests)} failed requests); RSS sampled every ${s.sample_s} s: ` +
        `${s.rss_start_mb ?? "-"} MB at ${s.warmup_s} s → ${s.rss_end_mb ?? "-"} MB at the end; least-squares slope after the ${s.warmup_s} s warm-up: ` +
        `**${signed(s.slope_mb_per_min, "MB/min", 3)}** (standard error ${f(s.slope_stderr_mb_per_min, 3)} MB/min).`,
    );
    out.push("");
    out.push(`Samples (s, MB): ${s.samples.map(([t, mb]) => `${t}:${mb}`).join(" ")}`);
  }
  out.push("");

  if (r.notes.length) {
    out.push("## Notes");
    out.push("");
    for (const n of r.notes) out.push(`- ${n}`);
    out.push("");
  }
  return out.join("\n");
}
