/**
 * The analytics benchmark (issue #17): `bun run bench:analytics` (= bun scripts/bench/analytics.ts).
 * Per dialect it seeds a database (scripts/bench/seed-usage.ts: by default 10 million rows over 90 days, 1,000
 * users, 5,000 keys, 50 models), starts dist/gateway on it and measures:
 *   - p50/p95 of every analytics endpoint (summary, series, overview) over typical console ranges;
 *   - GET /v1/usage page 1 and page 10,000 (keyset; the offset form beside it);
 *   - the CSV export of `--export-rows` rows (default 1M), with the gateway's RSS sampled every 100 ms;
 *   - the console's first load in Chromium (fresh profile, cache cold; time until the overview's cards show; bytes);
 *   - usage-writer rows/s with and without rollups, on the same rows (two mixes: the gateway bench's single model,
 *     and the seed's heavy-tailed keys/models/end users).
 * Writes scripts/bench/results/<stamp>-analytics.{json,md}.
 *
 *   bun scripts/bench/analytics.ts [--rows 10000000] [--days 90] [--dialects sqlite,pg] [--pg postgres://postgres@127.0.0.1:5432]
 *        [--pg-database NAME] [--sqlite-db PATH] [--iterations 40] [--export-rows 1000000] [--writer-rows 100000]
 *        [--no-build] [--no-browser]
 *
 * --pg-database NAME: the Postgres database is NAME and is kept after the run: seeded when it does not exist yet,
 * measured as it is when it does (a 10M seed takes about 20 minutes; --rows and --days are then those it holds).
 * --sqlite-db PATH: the same for the SQLite database file (a 10M seed takes about 11 minutes here).
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { openStore, type Store } from "../../src/db/client";
import { encodeCursor } from "../../src/services/usage";
import { BINARY, buildBinary, ROOT } from "./gateway";
import { createDatabase, databaseExists, type Postgres } from "./pg-stats";
import { cleanupAll, rssMb, start, stopAll, tempDir, waitReady } from "./processes";
import { seededFacts, seedUsage } from "./seed-usage";
import { median, percentile } from "./stats";
import { type WriterCost, writerCost } from "./writer-cost";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "10000000" },
    days: { type: "string", default: "90" },
    dialects: { type: "string", default: "sqlite,pg" },
    pg: { type: "string", default: "postgres://postgres@127.0.0.1:5432" },
    "pg-database": { type: "string" },
    "sqlite-db": { type: "string" },
    iterations: { type: "string", default: "40" },
    "export-rows": { type: "string", default: "1000000" },
    "writer-rows": { type: "string", default: "100000" },
    "no-build": { type: "boolean", default: false },
    "no-browser": { type: "boolean", default: false },
  },
});
const ROWS = Number(values.rows);
const DAYS = Number(values.days);
const ITER = Number(values.iterations);
const EXPORT_ROWS = Math.min(Number(values["export-rows"]), ROWS);
const WRITER_ROWS = Number(values["writer-rows"]);
const MASTER = "bench-analytics-master-key-0123456789";
const PORT = 9170;
const TARGETS = { analyticsP95Ms: 50, usagePageP95Ms: 20, firstLoadMs: 1000, writerCost: 0.1 };

interface Timing {
  name: string;
  path: string;
  p50_ms: number;
  p95_ms: number;
  target_ms: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

async function time(base: string, path: string, n: number): Promise<number[]> {
  const once = async () => {
    const t0 = performance.now();
    const res = await fetch(base + path, { headers: { authorization: `Bearer ${MASTER}` } });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${path} -> ${res.status}`);
    return performance.now() - t0;
  };
  for (let i = 0; i < 3; i++) await once();
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await once());
  return out;
}

/** The (timestamp, id) of the row at `offset`, newest first: a page's cursor, or an export's start. */
async function rowAt(store: Store, offset: number): Promise<{ ts: number; id: string }> {
  const rows = await store.query<{ ts: unknown; id: string }>(
    `SELECT ${store.dialect === "pg" ? '(extract(epoch from "timestamp") * 1000)::bigint' : '"timestamp"'} AS ts, id FROM usage_logs ORDER BY "timestamp" DESC, id DESC LIMIT 1 OFFSET ${Math.max(0, offset)}`,
  );
  return { ts: Number(rows[0]!.ts), id: rows[0]!.id };
}

/** Streams the export; the gateway's RSS is sampled every 100 ms and read at each quarter of the rows. */
async function exportRun(
  base: string,
  pid: number,
  startDate: number,
): Promise<Record<string, number | null | (number | null)[]>> {
  const samples: number[] = [];
  const before = rssMb(pid);
  const timer = setInterval(() => {
    const mb = rssMb(pid);
    if (mb !== null) samples.push(mb);
  }, 100);
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/usage/export.csv?start_date=${encodeURIComponent(iso(startDate))}`, {
    headers: { authorization: `Bearer ${MASTER}` },
  });
  let lines = 0;
  let bytes = 0;
  const quarters: (number | null)[] = [];
  for await (const chunk of res.body!) {
    bytes += chunk.length;
    for (const b of chunk) if (b === 10) lines++;
    if (lines >= ((quarters.length + 1) * EXPORT_ROWS) / 4) quarters.push(rssMb(pid));
  }
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  return {
    rows: lines - 1,
    seconds: Math.round(seconds * 10) / 10,
    mb: Math.round(bytes / 1e5) / 10,
    rss_before_mb: before,
    rss_at_quarters_mb: quarters,
    rss_peak_mb: Math.max(...samples),
    rss_after_mb: rssMb(pid),
    rss_samples: samples.length,
  };
}

async function firstLoad(base: string): Promise<Record<string, number> | { error: string }> {
  try {
    const { chromium } = await import("playwright-core");
    const signIn = await fetch(`${base}/ui/api/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ master_key: MASTER }),
    });
    const cookie = signIn.headers.get("set-cookie")!.split(";")[0]!.split("=");
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
      ],
    });
    const runs: number[] = [];
    let transfer = 0;
    try {
      for (let i = 0; i < 5; i++) {
        const context = await browser.newContext();
        await context.addCookies([{ name: cookie[0]!, value: cookie[1]!, url: `${base}/ui` }]);
        const page = await context.newPage();
        const t0 = performance.now();
        await page.goto(`${base}/ui`);
        await page.getByTestId("card-requests").waitFor({ timeout: 30_000 });
        runs.push(performance.now() - t0);
        // Bytes of the page and its assets as sent (gzip); the data calls are not part of the "first load".
        transfer = (await page.evaluate(
          "performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource').filter((e) => e.name.includes('/ui/assets/'))).reduce((a, e) => a + e.transferSize, 0)",
        )) as number;
        await context.close();
      }
    } finally {
      await browser.close();
    }
    return {
      median_ms: Math.round(median(runs)),
      max_ms: Math.round(Math.max(...runs)),
      transfer_kb: Math.round(transfer / 102.4) / 10,
    };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

async function benchDialect(dialect: "sqlite" | "pg"): Promise<Record<string, unknown>> {
  const dir = tempDir(`gw-bench-analytics-${dialect}-`);
  const pg: Postgres = { url: values.pg!, source: "existing server", statements: false };
  let n = 0;
  const freshDb = async () =>
    dialect === "sqlite"
      ? `sqlite:///${join(dir, `w${n++}.db`)}`
      : createDatabase(pg, `gw_bench_w_${process.pid}_${n++}`);
  const keptFile = values["sqlite-db"] === undefined ? undefined : resolve(values["sqlite-db"]);
  const kept = dialect === "pg" ? values["pg-database"] : keptFile;
  const reused = kept !== undefined && (dialect === "pg" ? await databaseExists(pg, kept) : existsSync(kept));
  let dbUrl: string;
  if (dialect === "sqlite") dbUrl = `sqlite:///${keptFile ?? join(dir, "usage.db")}`;
  else if (kept === undefined) dbUrl = await createDatabase(pg, `gw_bench_analytics_${process.pid}`);
  else dbUrl = reused ? `${pg.url}/${kept}` : await createDatabase(pg, kept, { keep: true });
  if (reused) console.log(`[${dialect}] reusing the rows of ${kept}`);
  else console.log(`[${dialect}] seeding ${ROWS} rows over ${DAYS} days...`);
  const seeded = reused
    ? await seededFacts(dbUrl)
    : await seedUsage({
        db: dbUrl,
        rows: ROWS,
        days: DAYS,
        users: 1000,
        keys: 5000,
        models: 50,
        endUsers: 20000,
        seed: 1,
        log: (l) => console.log(`[${dialect}] ${l}`),
      });
  writeFileSync(
    join(dir, "config.yml"),
    stringify({ database_url: dbUrl, master_key: MASTER, log_level: "warning", bootstrap_api_key: false }),
  );
  const gw = start(
    `analytics-${dialect}`,
    [BINARY, "serve", "--config", join(dir, "config.yml"), "--port", String(PORT), "--host", "127.0.0.1"],
    { cwd: dir },
  );
  const base = `http://127.0.0.1:${PORT}`;
  await waitReady(gw, `${base}/health`, 600_000);
  const end = seeded.end;
  const ago = (ms: number) => `start=${encodeURIComponent(iso(end - ms))}&end=${encodeURIComponent(iso(end))}`;
  const H = 3_600_000;
  const D = 24 * H;
  const queries: [string, string][] = [
    ["summary 24h", `/v1/usage/summary?${ago(D)}`],
    ["summary 7d by model", `/v1/usage/summary?${ago(7 * D)}&group_by=model`],
    ["summary 30d by key (top 10)", `/v1/usage/summary?${ago(30 * D)}&group_by=key&limit=10`],
    ["summary 90d by user (top 10)", `/v1/usage/summary?${ago(90 * D)}&group_by=user&limit=10`],
    ["summary 7d, one key, by model", `/v1/usage/summary?${ago(7 * D)}&api_key_id=${seeded.topKeyId}&group_by=model`],
    ["series 1h by minute", `/v1/usage/series?${ago(H)}&bucket=minute`],
    ["series 24h by hour, cost", `/v1/usage/series?${ago(D)}&bucket=hour&metric=cost`],
    ["series 7d by hour, top 5 models", `/v1/usage/series?${ago(7 * D)}&bucket=hour&group_by=model`],
    ["series 7d by hour, latency p95", `/v1/usage/series?${ago(7 * D)}&bucket=hour&metric=latency_p95`],
    ["series 90d by day, top 5 keys", `/v1/usage/series?${ago(90 * D)}&bucket=day&group_by=key`],
    ["overview (24h)", `/v1/overview?${ago(D)}`],
  ];
  const timings: Timing[] = [];
  for (const [name, path] of queries) {
    const ms = await time(base, path, ITER);
    timings.push({
      name,
      path,
      p50_ms: round(percentile(ms, 50)),
      p95_ms: round(percentile(ms, 95)),
      target_ms: TARGETS.analyticsP95Ms,
    });
    console.log(`[${dialect}] ${name}: p95 ${round(percentile(ms, 95))} ms`);
  }
  const store = openStore(dbUrl);
  const page = 10_000;
  const offset = Math.min((page - 1) * 100, Math.max(0, ROWS - 100));
  const before = await rowAt(store, offset - 1);
  const exportStart = await rowAt(store, EXPORT_ROWS - 1);
  await store.close();
  for (const [name, path, n] of [
    ["/v1/usage page 1", "/v1/usage?limit=100", ITER],
    [
      `/v1/usage page ${Math.floor(offset / 100) + 1} (keyset)`,
      `/v1/usage?limit=100&cursor=${encodeCursor(before)}`,
      ITER,
    ],
    [`/v1/usage page ${Math.floor(offset / 100) + 1} (skip, for comparison)`, `/v1/usage?limit=100&skip=${offset}`, 5],
  ] as const) {
    const ms = await time(base, path, n);
    timings.push({
      name,
      path,
      p50_ms: round(percentile(ms, 50)),
      p95_ms: round(percentile(ms, 95)),
      target_ms: TARGETS.usagePageP95Ms,
    });
    console.log(`[${dialect}] ${name}: p95 ${round(percentile(ms, 95))} ms`);
  }
  console.log(`[${dialect}] exporting ${EXPORT_ROWS} rows as CSV...`);
  const exported = await exportRun(base, gw.proc.pid, exportStart.ts);
  const load = values["no-browser"] ? { error: "--no-browser" } : await firstLoad(base);
  await stopAll();
  console.log(`[${dialect}] usage writer with and without rollups...`);
  const writer = await writerCost(freshDb, WRITER_ROWS, ["bench", "heavy-tailed"]);
  return { dialect, seeded, timings, export: exported, first_load: load, writer };
}

const round = (x: number) => Math.round(x * 10) / 10;
const mark = (ok: boolean) => (ok ? "pass" : "miss");

function markdown(results: Record<string, unknown>[]): string {
  const out = [
    `# Analytics benchmark, ${new Date().toISOString()}`,
    "",
    `${ROWS} usage rows over ${DAYS} days, 1,000 users, 5,000 keys, 50 models (scripts/bench/seed-usage.ts).`,
    "",
  ];
  for (const r of results as {
    dialect: string;
    seeded: { rows: number; rollupRows: number; marginalRows: number; seconds: Record<string, number> | null };
    timings: Timing[];
    export: Record<string, number | number[]>;
    first_load: Record<string, number | string>;
    writer: Record<string, WriterCost>;
  }[]) {
    out.push(
      `## ${r.dialect}`,
      "",
      r.seeded.seconds
        ? `Seeded: ${r.seeded.rollupRows} rollup rows, ${r.seeded.marginalRows} marginal rows; load ${round(r.seeded.seconds.rows ?? 0)} s, indexes ${round(r.seeded.seconds.indexes ?? 0)} s, rollups ${round(r.seeded.seconds.rollups ?? 0)} s.`
        : `Seeded by an earlier run (--pg-database or --sqlite-db): ${r.seeded.rows} usage rows, ${r.seeded.rollupRows} rollup rows, ${r.seeded.marginalRows} marginal rows.`,
      "",
    );
    out.push("| request | p50 ms | p95 ms | target p95 | |", "|---|---|---|---|---|");
    for (const t of r.timings)
      out.push(
        `| ${t.name} | ${t.p50_ms} | ${t.p95_ms} | ${t.name.includes("skip") ? "-" : `≤ ${t.target_ms}`} | ${t.name.includes("skip") ? "" : mark(t.p95_ms <= t.target_ms)} |`,
      );
    const e = r.export;
    out.push(
      "",
      `CSV export: ${e.rows} rows, ${e.mb} MB in ${e.seconds} s; gateway RSS ${e.rss_before_mb} MB before, ${(e.rss_at_quarters_mb as unknown as number[]).join(" / ")} MB after each quarter of the rows, peak ${e.rss_peak_mb} MB (${e.rss_samples} samples), ${e.rss_after_mb} MB after.`,
    );
    const f = r.first_load;
    out.push(
      "",
      "error" in f
        ? `Console first load: not measured (${f.error}).`
        : `Console first load (Chromium, cold cache, until the overview's cards show): median ${f.median_ms} ms, max ${f.max_ms} ms; page and assets ${f.transfer_kb} KB as sent (target ≤ ${TARGETS.firstLoadMs} ms: ${mark(Number(f.median_ms) <= TARGETS.firstLoadMs)}).`,
    );
    out.push(
      "",
      "| usage writer | rows/s with rollups | rows/s without | cost | CPU µs/row with / without | CPU cost | target ≤ 10 % |",
      "|---|---|---|---|---|---|---|",
    );
    for (const [mix, w] of Object.entries(r.writer))
      out.push(
        `| ${mix} rows | ${w.with_rollups_rows_per_s} | ${w.without_rollups_rows_per_s} | ${w.cost} % | ${w.with_rollups_cpu_us_per_row ?? "n/a"} / ${w.without_rollups_cpu_us_per_row ?? "n/a"} | ${w.cpu_cost === null ? "n/a" : `${w.cpu_cost} %`} | ${mark(w.cost <= TARGETS.writerCost * 100)} |`,
      );
    out.push("");
  }
  return out.join("\n");
}

process.on("SIGINT", () => {
  cleanupAll();
  process.exit(130);
});
try {
  if (!values["no-build"]) buildBinary();
  const results: Record<string, unknown>[] = [];
  for (const d of values.dialects!.split(",") as ("sqlite" | "pg")[]) results.push(await benchDialect(d));
  const dir = join(ROOT, "scripts/bench/results");
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  writeFileSync(join(dir, `${stamp}-analytics.json`), JSON.stringify(results, null, 2));
  const md = markdown(results);
  writeFileSync(join(dir, `${stamp}-analytics.md`), md);
  console.log(`\n${md}\nwrote scripts/bench/results/${stamp}-analytics.{json,md}`);
} finally {
  await stopAll();
  cleanupAll();
}
