/**
 * The results (written as JSON as they are) and their Markdown report: the targets of issue #20 (and, below them,
 * those of issue #8 still tracked) with our figures beside direct, the bare hop and Portkey from the same run, each
 * with a pass/miss mark per gateway, then the detail tables.
 */
import type { RealisticResult } from "./realistic";
import type { SoakResult } from "./soak";
import type { ColdStart } from "./startup";
import type { StallResult, TtfbResult } from "./streams";
import { failures, type WrkResult } from "./wrk";
import type { WriterCost } from "./writer-cost";

export type Failed = { error: string };
export type Outcome<T> = T | Failed;
export const failed = <T>(x: Outcome<T> | undefined): x is Failed =>
  typeof x === "object" && x !== null && "error" in x;
const ok = <T>(x: Outcome<T> | undefined): T | undefined => (x === undefined || failed(x) ? undefined : x);

/** One point of the concurrency sweep, with the peak RSS of the process under test during it. */
export type SweepPoint = WrkResult & { peak_rss_mb: number | null };

export interface ScenarioResult {
  name: string;
  what: string;
  /** Why the scenario did not run at all. */
  skipped?: string;
  sweep: SweepPoint[];
  rss: { idle_mb: number | null; loaded_peak_mb: number | null; after_mb: number | null };
  ttfb?: Outcome<TtfbResult>;
  streams?: Outcome<StallResult>;
  realistic?: Outcome<RealisticResult>;
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
    realistic: { seconds: number; clients: number; stream_clients: number; upstream: string };
    writer_rows: number;
  };
  scenarios: ScenarioResult[];
  /** The gateway again with Bun's fetch cap raised, to show whether that cap is what stalls streams. */
  streams_diagnostic?: Outcome<StallResult>;
  usage_writer?: Outcome<UsageWriterResult>;
  /** The usage writer's insert with and without the rollups, per dialect (the binary has no switch for them). */
  rollups?: { sqlite?: Outcome<WriterCost>; postgres?: Outcome<WriterCost> };
  db_statements: DbStatements[];
  soak?: Outcome<SoakResult>;
  notes: string[];
}

/** Issue #20's targets. */
export const TARGETS = {
  addedP50Us: 100,
  addedP99Us: 400,
  addedP999Us: 1000,
  vsBare: { "gateway-sqlite": 0.75, "gateway-postgres": 0.65 } as Record<string, number>,
  addedTtfbP50Ms: 0.3,
  addedTtfbP99Ms: 1,
  addedGapP99Ms: 0.1,
  /** 2,000 streams at once: first-byte maximum at most this many times the bare hop's. */
  firstByteVsBare: 2,
  realisticVsDirect: 0.97,
  realisticAddedP99Ms: 5,
  realisticPeakRssMb: 250,
  idleRssMb: 60,
  coldStartMs: 100,
  /** Each feature's cost, as a share of c=64 throughput. */
  featureCost: 0.05,
};
/** Issue #8's targets that issue #20 does not restate. */
export const EARLIER_TARGETS = {
  vsPortkey: 10,
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
const pct = (x: number) => `${f(100 * x, 1)} %`;
const ms = (us: number) => f(us / 1000);
type Mark = "pass" | "**miss**" | "n/a" | "not run" | "-";
const mark = (value: number | undefined, good: (v: number) => boolean): Mark =>
  value === undefined || Number.isNaN(value) ? "not run" : good(value) ? "pass" : "**miss**";

/** One target row: a figure per scenario and a mark for each gateway. */
interface TargetRow {
  target: string;
  goal: string;
  cell: (s: ScenarioResult) => string;
  /** The value the goal applies to, per gateway; undefined = not measured. */
  value: (s: ScenarioResult) => number | undefined;
  /** Whether the gateway's value meets the goal; absent: a figure reported without a goal. */
  good?: (v: number, gateway: string) => boolean;
  /** Gateways the target does not apply to. */
  notFor?: string[];
}

export function renderMarkdown(r: Results, chartFile: string): string {
  const by = (name: string) => r.scenarios.find((s) => s.name === name);
  const direct = by("direct");
  const bare = by("bare-proxy");
  const portkey = by("portkey");
  const sqlite = by("gateway-sqlite");
  const peers = [direct, bare, portkey].filter((s): s is ScenarioResult => s !== undefined);
  // The systems of issue #20's table; the all-levels and traced gateways show up as feature costs and in the details.
  const gateways = [sqlite, by("gateway-postgres")].filter((s): s is ScenarioResult => s !== undefined);
  const allGateways = r.scenarios.filter((s) => s.name.startsWith("gateway-"));
  const running = (s: ScenarioResult | undefined) => (s && !s.skipped ? s : undefined);
  const directTtfb = ok(direct?.ttfb);
  const directReal = ok(direct?.realistic);
  const soak = ok(r.soak);
  const writer = ok(r.usage_writer);
  const stmts = (s: ScenarioResult) => r.db_statements.find((d) => d.scenario === s.name);
  const isGateway = (s: ScenarioResult) => s.name.startsWith("gateway-");
  const skippedCell = (s: ScenarioResult) => (s.skipped ? `not run (${s.skipped.slice(0, 80)})` : undefined);
  const errorCell = (x: Failed) => `error: ${x.error.slice(0, 60)}`;

  const addedAt1 = (s: ScenarioResult, key: "p50" | "p99" | "p999") => {
    const mine = at(running(s), 1);
    const base = at(direct, 1);
    return mine && base ? mine[key] - base[key] : undefined;
  };
  const addedRow = (key: "p50" | "p99" | "p999", label: string, goalUs: number): TargetRow => ({
    target: `c=1, added latency over direct, ${label}`,
    goal: `≤ ${n0(goalUs)} µs`,
    cell: (s) =>
      skippedCell(s) ??
      (s === direct
        ? `${at(s, 1)?.[key] ?? "-"} µs (base)`
        : addedAt1(s, key) === undefined
          ? "-"
          : signed(addedAt1(s, key)!, "µs")),
    value: (s) => addedAt1(s, key),
    good: (v) => v <= goalUs,
  });
  const rps64 = (s: ScenarioResult | undefined) => at(running(s), 64)?.rps;
  const ttfbAdded = (s: ScenarioResult, key: "p50_ms" | "p99_ms" | "gap_p99_ms") => {
    const t = ok(s.ttfb);
    return t && directTtfb ? t[key] - directTtfb[key] : undefined;
  };
  const ttfbRow = (key: "p50_ms" | "p99_ms" | "gap_p99_ms", label: string, goalMs: number): TargetRow => ({
    target: label,
    goal: `≤ ${goalMs} ms`,
    cell: (s) => {
      const t = s.ttfb;
      if (!t) return skippedCell(s) ?? "not run";
      if (failed(t)) return errorCell(t);
      if (s === direct) return `${f(t[key], 3)} ms (base)`;
      const added = ttfbAdded(s, key);
      return added === undefined ? `${f(t[key], 3)} ms` : `${signed(added, "ms", 3)} (${f(t[key], 3)} ms)`;
    },
    value: (s) => ttfbAdded(s, key),
    good: (v) => v <= goalMs,
  });
  const bareFirstByteMax = ok(bare?.streams)?.first_byte_max_ms;
  /** The realistic load's worse kind (JSON or streams): lowest throughput ratio, highest added p99. */
  const real = (s: ScenarioResult) => {
    const x = ok(s.realistic);
    if (!x || !directReal) return undefined;
    return {
      x,
      ratio: Math.min(x.json.rps / directReal.json.rps, x.streams.rps / directReal.streams.rps),
      addedP99Ms: Math.max(x.json.p99 - directReal.json.p99, x.streams.p99 - directReal.streams.p99) / 1000,
      errors: failures(x.json) + failures(x.streams),
    };
  };
  const realCell = (s: ScenarioResult, fmt: (x: RealisticResult) => string) => {
    const x = s.realistic;
    if (!x) return skippedCell(s) ?? (s === bare || !isGateway(s) ? "n/a" : "not run");
    return failed(x) ? errorCell(x) : fmt(x);
  };
  /** A feature's cost: 1 - its c=64 throughput over the same gateway's without it. */
  const cost = (on: ScenarioResult | undefined, off: ScenarioResult | undefined) =>
    rps64(on) && rps64(off) ? 1 - rps64(on)! / rps64(off)! : undefined;
  const levelsOf = (s: ScenarioResult) => by(`${s.name}-all-levels`);
  const rollupsOf = (s: ScenarioResult) =>
    ok(
      s.name === "gateway-sqlite" ? r.rollups?.sqlite : s.name === "gateway-postgres" ? r.rollups?.postgres : undefined,
    );
  /**
   * The rollups cannot be turned off in the binary, so their share of c=64 throughput is estimated: the writer time
   * they add per row (1/with - 1/without) times the gateway's c=64 rows per second, as a share of one core.
   */
  const rollupsShare = (s: ScenarioResult) => {
    const w = rollupsOf(s);
    const rps = rps64(s);
    return w && rps ? rps * (1 / w.with_rollups_rows_per_s - 1 / w.without_rollups_rows_per_s) : undefined;
  };
  const tracingCost = (s: ScenarioResult) => (s === sqlite ? cost(by("traced"), sqlite) : undefined);
  const featureRow = (
    feature: string,
    value: (s: ScenarioResult) => number | undefined,
    detail: (s: ScenarioResult) => string,
    notFor?: string[],
  ): TargetRow => ({
    target: `feature cost: ${feature}`,
    goal: `≤ ${pct(TARGETS.featureCost)} of c=64 throughput`,
    cell: (s) => {
      if (!isGateway(s)) return "n/a";
      if (notFor?.includes(s.name)) return "not measured";
      const v = value(s);
      return skippedCell(s) ?? (v === undefined ? "not run" : `${pct(v)} ${detail(s)}`);
    },
    value,
    good: (v) => v <= TARGETS.featureCost,
    notFor,
  });

  const rows: TargetRow[] = [
    addedRow("p50", "p50", TARGETS.addedP50Us),
    addedRow("p99", "p99", TARGETS.addedP99Us),
    addedRow("p999", "p99.9", TARGETS.addedP999Us),
    {
      target: "c=64 throughput vs the bare hop",
      goal: `≥ ${TARGETS.vsBare["gateway-sqlite"]}× (SQLite), ≥ ${TARGETS.vsBare["gateway-postgres"]}× (Postgres)`,
      cell: (s) =>
        skippedCell(s) ??
        (rps64(s) === undefined
          ? "-"
          : `${n0(rps64(s)!)} rps${rps64(bare) && s !== bare ? ` (${f(rps64(s)! / rps64(bare)!)}×)` : ""}`),
      value: (s) => (rps64(s) && rps64(bare) ? rps64(s)! / rps64(bare)! : undefined),
      good: (v, g) => v >= (TARGETS.vsBare[g] ?? 1),
    },
    ttfbRow("p50_ms", "streams: added time to first byte, p50 (c=1)", TARGETS.addedTtfbP50Ms),
    ttfbRow("p99_ms", "streams: added time to first byte, p99 (c=1)", TARGETS.addedTtfbP99Ms),
    ttfbRow("gap_p99_ms", "streams: added gap between chunks, p99 (c=1)", TARGETS.addedGapP99Ms),
    {
      target: `${n0(r.meta.stall_streams)} streams at once`,
      goal: `no stall; first byte max ≤ ${TARGETS.firstByteVsBare}× bare`,
      cell: (s) => {
        const x = s.streams;
        if (!x) return skippedCell(s) ?? "not run";
        if (failed(x)) return errorCell(x);
        const vs = bareFirstByteMax && s !== bare ? ` (${f(x.first_byte_max_ms / bareFirstByteMax, 1)}× bare)` : "";
        return `${n0(x.stalled)} stalled of ${n0(x.streams)}, first byte max ${n0(x.first_byte_max_ms)} ms${vs}`;
      },
      // 1 = no stall and the first-byte maximum within bounds.
      value: (s) => {
        const x = ok(s.streams);
        if (!x || !bareFirstByteMax) return undefined;
        return x.stalled === 0 && x.first_byte_max_ms <= TARGETS.firstByteVsBare * bareFirstByteMax ? 1 : 0;
      },
      good: (v) => v === 1,
    },
    {
      target: `realistic load: throughput vs direct (JSON; streams)`,
      goal: `≥ ${TARGETS.realisticVsDirect}× direct`,
      cell: (s) =>
        realCell(s, (x) =>
          s === direct
            ? `${n0(x.json.rps)} rps; ${n0(x.streams.rps)} streams/s (base: the generator's ceiling)`
            : `${n0(x.json.rps)} rps${directReal ? ` (${f(x.json.rps / directReal.json.rps)}×)` : ""}; ${n0(x.streams.rps)}/s${directReal ? ` (${f(x.streams.rps / directReal.streams.rps)}×)` : ""}`,
        ),
      value: (s) => real(s)?.ratio,
      good: (v) => v >= TARGETS.realisticVsDirect,
    },
    {
      target: "realistic load: added p99 over direct (JSON; streams, whole stream)",
      goal: `≤ ${TARGETS.realisticAddedP99Ms} ms`,
      cell: (s) =>
        realCell(s, (x) =>
          s === direct || !directReal
            ? `p99 ${ms(x.json.p99)} ms; ${ms(x.streams.p99)} ms${s === direct ? " (base)" : ""}`
            : `${signed((x.json.p99 - directReal.json.p99) / 1000, "ms", 1)}; ${signed((x.streams.p99 - directReal.streams.p99) / 1000, "ms", 1)}`,
        ),
      value: (s) => real(s)?.addedP99Ms,
      good: (v) => v <= TARGETS.realisticAddedP99Ms,
    },
    {
      target: "realistic load: peak RSS",
      goal: `≤ ${TARGETS.realisticPeakRssMb} MB`,
      cell: (s) => realCell(s, (x) => (x.peak_rss_mb === null ? "-" : `${f(x.peak_rss_mb, 1)} MB`)),
      value: (s) => ok(s.realistic)?.peak_rss_mb ?? undefined,
      good: (v) => v <= TARGETS.realisticPeakRssMb,
    },
    {
      target: "realistic load: errors (connect, read, timeout, non-2xx)",
      goal: "0",
      cell: (s) => realCell(s, (x) => n0(failures(x.json) + failures(x.streams))),
      value: (s) => {
        const x = ok(s.realistic);
        return x ? failures(x.json) + failures(x.streams) : undefined;
      },
      good: (v) => v === 0,
    },
    {
      target: "idle RSS",
      goal: `≤ ${TARGETS.idleRssMb} MB`,
      cell: (s) => skippedCell(s) ?? (s.rss.idle_mb === null ? "-" : `${f(s.rss.idle_mb, 1)} MB`),
      value: (s) => s.rss.idle_mb ?? undefined,
      good: (v) => v <= TARGETS.idleRssMb,
    },
    {
      target: "peak RSS under c=64",
      goal: "reported",
      cell: (s) => {
        const p = at(running(s), 64)?.peak_rss_mb;
        return skippedCell(s) ?? (p === null || p === undefined ? "-" : `${f(p, 1)} MB`);
      },
      value: (s) => at(running(s), 64)?.peak_rss_mb ?? undefined,
    },
    {
      target: "cold start to a 200 from /health (median of runs)",
      goal: `≤ ${TARGETS.coldStartMs} ms`,
      cell: (s) => {
        const c = s.cold_start;
        if (s.name === "gateway-postgres") return "n/a (same binary)";
        if (!c) return skippedCell(s) ?? "not run";
        return failed(c) ? errorCell(c) : `${f(c.median_ms, 1)} ms (${c.what})`;
      },
      value: (s) => ok(s.cold_start)?.median_ms,
      good: (v) => v <= TARGETS.coldStartMs,
      notFor: ["gateway-postgres"],
    },
    featureRow(
      "budget levels (key, user, team, end user and max_concurrent, all configured)",
      (s) => cost(levelsOf(s), s),
      (s) => (rps64(levelsOf(s)) ? `(${n0(rps64(levelsOf(s))!)} rps against ${n0(rps64(s)!)})` : ""),
    ),
    featureRow("rollups (estimated: no switch in the binary)", rollupsShare, (s) => {
      const w = rollupsOf(s);
      return w
        ? `of a core (writer: ${n0(w.with_rollups_rows_per_s)} rows/s with, ${n0(w.without_rollups_rows_per_s)} without)`
        : "";
    }),
    featureRow(
      "tracing on (ratio 1.0, OTLP export); off is every other row",
      tracingCost,
      () => (rps64(by("traced")) ? `(traced: ${n0(rps64(by("traced"))!)} rps)` : ""),
      ["gateway-postgres"],
    ),
  ];

  const earlierRows: TargetRow[] = [
    {
      target: "throughput at c=64 vs Portkey",
      goal: `≥ ${EARLIER_TARGETS.vsPortkey}× Portkey`,
      cell: (s) =>
        skippedCell(s) ??
        (rps64(s) === undefined
          ? "-"
          : `${n0(rps64(s)!)} rps${rps64(portkey) && s !== portkey ? ` (${f(rps64(s)! / rps64(portkey)!, 1)}×)` : ""}`),
      value: (s) => (rps64(s) && rps64(portkey) ? rps64(s)! / rps64(portkey)! : undefined),
      good: (v) => v >= EARLIER_TARGETS.vsPortkey,
    },
    {
      target: "RSS growth over the soak (steady load, after warm-up)",
      goal: `< ${EARLIER_TARGETS.soakMbPerMin} MB/min`,
      cell: (s) => {
        if (s.name !== "gateway-sqlite") return "n/a";
        if (!r.soak) return "not run (use --soak 600)";
        if (failed(r.soak)) return errorCell(r.soak);
        return `${signed(r.soak.slope_mb_per_min, "MB/min", 2)} ± ${f(r.soak.slope_stderr_mb_per_min)} over ${r.soak.seconds} s`;
      },
      value: (s) => (s.name === "gateway-sqlite" ? soak?.slope_mb_per_min : undefined),
      good: (v) => v < EARLIER_TARGETS.soakMbPerMin,
      notFor: ["gateway-postgres"],
    },
    {
      target: "usage writer into SQLite, without slowing requests",
      goal: `≥ ${n0(EARLIER_TARGETS.usageRowsPerS)} rows/s, timer lag p99 +≤ ${EARLIER_TARGETS.usageLagMs} ms`,
      cell: (s) => {
        if (s.name !== "gateway-sqlite") return "n/a";
        if (!r.usage_writer) return "not run";
        if (failed(r.usage_writer)) return errorCell(r.usage_writer);
        const w = r.usage_writer;
        return `${n0(w.committed_rows_per_s)} rows/s committed of ${n0(w.offered_rows_per_s)} offered; lag p99 ${f(w.lag_idle_p99_ms)} → ${f(w.lag_load_p99_ms)} ms`;
      },
      value: (s) =>
        s.name === "gateway-sqlite" && writer
          ? writer.committed_rows_per_s >= EARLIER_TARGETS.usageRowsPerS &&
            writer.queue_depth_at_end < writer.offered_rows_per_s &&
            writer.lag_load_p99_ms - writer.lag_idle_p99_ms <= EARLIER_TARGETS.usageLagMs
            ? 1
            : 0
          : undefined,
      good: (v) => v === 1,
      notFor: ["gateway-postgres"],
    },
    {
      target: "Postgres statements per served request (amortized)",
      goal: `≤ ${EARLIER_TARGETS.statementsPerRequest}`,
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
      good: (v) => v <= EARLIER_TARGETS.statementsPerRequest,
      notFor: ["gateway-sqlite"],
    },
  ];

  const traced = r.scenarios.filter((s) => s.name === "traced");
  const targetCols = [...peers, ...gateways];
  const cols = [...peers, ...allGateways, ...traced];
  const out: string[] = [];
  const m = r.meta;
  const targetTable = (title: string, table: TargetRow[]) => {
    out.push(title);
    out.push("");
    out.push(
      `| target | goal | ${targetCols.map((s) => s.name).join(" | ")} | ${gateways.map((g) => `mark (${g.name.replace("gateway-", "")})`).join(" | ")} |`,
    );
    out.push(`|---|---|${targetCols.map(() => "---").join("|")}|${gateways.map(() => "---").join("|")}|`);
    for (const row of table) {
      const marks = gateways.map((g): Mark => {
        if (row.notFor?.includes(g.name)) return "n/a";
        if (g.skipped) return "not run";
        const good = row.good;
        return good ? mark(row.value(g), (v) => good(v, g.name)) : "-";
      });
      out.push(`| ${row.target} | ${row.goal} | ${targetCols.map(row.cell).join(" | ")} | ${marks.join(" | ")} |`);
    }
    out.push("");
  };
  out.push(`# Benchmark ${m.started}`);
  out.push("");
  out.push(
    `Commit ${m.commit}; Bun ${m.bun}${m.node ? `, Node ${m.node}` : ""}, ${m.wrk}; ${m.cores} cores (${m.cpu}), load average ${f(m.load_avg)} at the start. ` +
      `wrk: 1 thread, ${m.seconds_per_point} s per point, ${m.body === "stream" ? "SSE stream" : "JSON"} chat bodies; its own ceiling (GET on the mock, c=64): ${n0(m.wrk_ceiling_rps)} rps. ` +
      `Realistic load: ${n0(m.realistic.clients)} clients (${n0(m.realistic.clients - m.realistic.stream_clients)} JSON, ${n0(m.realistic.stream_clients)} streams) for ${m.realistic.seconds} s; the upstream ${m.realistic.upstream}. ` +
      `Everything runs on the same machine, side by side in one invocation.`,
  );
  out.push("");
  out.push(`![latency percentiles vs concurrency, stream TTFB distribution](${chartFile})`);
  out.push("");
  targetTable("## Targets (issue #20)", rows);
  targetTable("## Earlier targets (issue #8)", earlierRows);

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
    "| scenario | TTFB p50 ms | TTFB p99 ms | added p50 ms | added p99 ms | chunk gap p50 / p99 / max ms | added gap p99 ms | streams complete | stalled | first byte p50 / max ms | max gap ms | wall ms |",
  );
  out.push("|---|---|---|---|---|---|---|---|---|---|---|---|");
  const streamRow = (name: string, ttfb: Outcome<TtfbResult> | undefined, st: Outcome<StallResult> | undefined) => {
    const t = ok(ttfb);
    const x = ok(st);
    const tErr = failed(ttfb) ? `error: ${ttfb.error.slice(0, 80)}` : "-";
    const xErr = failed(st) ? `error: ${st.error.slice(0, 80)}` : "-";
    const gaps = t ? `${f(t.gap_p50_ms, 3)} / ${f(t.gap_p99_ms, 3)} / ${f(t.gap_max_ms, 3)}` : "-";
    return `| ${name} | ${t ? f(t.p50_ms, 3) : tErr} | ${t ? f(t.p99_ms, 3) : "-"} | ${t && directTtfb ? f(t.p50_ms - directTtfb.p50_ms, 3) : "-"} | ${t && directTtfb ? f(t.p99_ms - directTtfb.p99_ms, 3) : "-"} | ${gaps} | ${t && directTtfb ? f(t.gap_p99_ms - directTtfb.gap_p99_ms, 3) : "-"} | ${x ? `${n0(x.completed)}/${n0(x.streams)}` : xErr} | ${x ? n0(x.stalled) : "-"} | ${x ? `${f(x.first_byte_p50_ms, 0)} / ${f(x.first_byte_max_ms, 0)}` : "-"} | ${x ? f(x.max_gap_ms, 0) : "-"} | ${x ? n0(x.wall_ms) : "-"} |`;
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
  out.push(
    "Chunk gaps: from each content chunk to the next (or to `[DONE]`) as the client sees them arrive; chunks that arrive in one read count 0 after the first, so a system that holds chunks back and sends them together shows small gaps and a late first byte (a negative added gap is that, or noise).",
  );
  out.push("");

  out.push("## Realistic load");
  out.push("");
  const rm = m.realistic;
  const idealJson = ((rm.clients - rm.stream_clients) * 1000) / 60;
  out.push(
    `${n0(rm.clients)} clients held open for ${rm.seconds} s, two wrk processes side by side: ${n0(rm.clients - rm.stream_clients)} asking for JSON and ${n0(rm.stream_clients)} for streams; the upstream ${rm.upstream}. ` +
      `direct is the load generator's ceiling here (an ideal generator would reach ${n0(idealJson)} JSON rps on a 60 ms upstream). Latencies are to the last byte (whole streams). RSS: the process under test, sampled every 250 ms.`,
  );
  out.push("");
  out.push(
    "| scenario | JSON rps | vs direct | JSON p50 / p99 / p99.9 ms | added p99 | streams/s | vs direct | stream p50 / p99 s | added p99 | errors (connect / read / timeout / non-2xx) | peak RSS MB | open files limit |",
  );
  out.push("|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const s of cols.filter((x) => x.realistic)) {
    if (failed(s.realistic)) {
      out.push(`| ${s.name} | ${errorCell(s.realistic)} | ${Array(11).fill("-").join(" | ")} |`);
      continue;
    }
    const x = s.realistic!;
    const d = directReal;
    const errs = [x.json, x.streams].reduce(
      (a, w) => [a[0]! + w.errors_connect, a[1]! + w.errors_read, a[2]! + w.errors_timeout, a[3]! + w.non2xx],
      [0, 0, 0, 0],
    );
    out.push(
      `| ${s.name} | ${n0(x.json.rps)} | ${d ? `${f(x.json.rps / d.json.rps)}×` : "-"} | ${ms(x.json.p50)} / ${ms(x.json.p99)} / ${ms(x.json.p999)} | ${d ? signed((x.json.p99 - d.json.p99) / 1000, "ms", 1) : "-"} | ${f(x.streams.rps, 0)} | ${d ? `${f(x.streams.rps / d.streams.rps)}×` : "-"} | ${f(x.streams.p50 / 1e6, 3)} / ${f(x.streams.p99 / 1e6, 3)} | ${d ? signed((x.streams.p99 - d.streams.p99) / 1000, "ms", 1) : "-"} | ${errs.map(n0).join(" / ")} | ${x.peak_rss_mb ?? "-"} | ${x.open_files_limit ?? "-"} |`,
    );
  }
  out.push("");

  out.push("## Memory and start-up");
  out.push("");
  out.push(
    "| scenario | RSS idle MB | RSS peak at c=64 MB | RSS peak over the sweep MB | RSS after MB | cold start median ms | runs ms |",
  );
  out.push("|---|---|---|---|---|---|---|");
  for (const s of cols.filter((x) => !x.skipped)) {
    const c = ok(s.cold_start);
    out.push(
      `| ${s.name} | ${s.rss.idle_mb ?? "-"} | ${at(s, 64)?.peak_rss_mb ?? "-"} | ${s.rss.loaded_peak_mb ?? "-"} | ${s.rss.after_mb ?? "-"} | ${c ? `${f(c.median_ms, 1)} (${c.what})` : "-"} | ${c ? c.runs_ms.map((x) => f(x, 0)).join(", ") : "-"} |`,
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
      `Paced phase: rows enqueued at the offered rate for ${w.seconds} s through the gateway's writer (SQLite worker-thread inserter, crash journal); pass = committed ≥ ${n0(EARLIER_TARGETS.usageRowsPerS)}/s, queue at the end under one second of rows, and the p99 lateness of a 1 ms timer (the event loop that serves requests) up by ≤ ${EARLIER_TARGETS.usageLagMs} ms. Capacity: 100k rows enqueued as fast as the loop allows.`,
    );
  }
  out.push("");

  out.push("## What the rollups cost the usage writer");
  out.push("");
  out.push("| dialect | rows/s with rollups | rows/s without | cost | writer time they add per row µs |");
  out.push("|---|---|---|---|---|");
  for (const [dialect, w] of Object.entries(r.rollups ?? {})) {
    if (!w) continue;
    if (failed(w)) {
      out.push(`| ${dialect} | ${errorCell(w)} | - | - | - |`);
      continue;
    }
    const perRow = 1e6 * (1 / w.with_rollups_rows_per_s - 1 / w.without_rollups_rows_per_s);
    out.push(
      `| ${dialect} | ${n0(w.with_rollups_rows_per_s)} | ${n0(w.without_rollups_rows_per_s)} | ${f(w.cost, 1)} % | ${f(perRow, 2)} |`,
    );
  }
  out.push("");
  out.push(
    `The writer's insert of ${n0(m.writer_rows)} rows of the bench's one model, with the rollups and without, on fresh databases, best of three alternating rounds (scripts/bench/writer-cost.ts). The binary always writes the rollups, so the targets table gives the writer time they add per row at the gateway's c=64 rate, as a share of one core: an estimate of their cost, not an A/B of the gateway.`,
  );
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
