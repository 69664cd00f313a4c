/**
 * Seeds a gateway database with synthetic usage for the analytics benchmark (scripts/bench/analytics.ts), on SQLite
 * or Postgres: users, keys (each user owns keys/users of them), prices, budgets on a fifth of the users, and `rows`
 * usage rows spread evenly over the last `days` days, then the rollups and marginals built from them by the same
 * statements as the migration's backfill (src/services/rollups/marginals.ts), and the prefix points (prefix.ts).
 *
 * Traffic is heavy-tailed, as real traffic is: keys, models and end users are drawn from Zipf distributions (keys
 * s=1.1, models s=1.2, end users s=1.0), 40 % of the requests carry an end user, 3 % fail (429, 500, 502), latency
 * is log-normal around 900 ms. Bulk path: the usage table's secondary indexes are dropped during the load and
 * rebuilt after, rows go in multi-row INSERTs (SQLite) or jsonb chunks (Postgres) without the writer's per-batch
 * rollup upserts, and the rollups are then built a day at a time.
 *
 *   bun scripts/bench/seed-usage.ts --db sqlite:///path.db|postgres://... [--rows 10000000] [--days 90]
 *        [--users 1000] [--keys 5000] [--models 50] [--end-users 20000] [--seed 1]
 */
import { Database, type SQLQueryBindings } from "bun:sqlite";
import { parseArgs } from "node:util";
import { openStore, type Store } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";
import {
  PG_INSERT_ROWS_SQL,
  sqliteInsertValues,
  toUsageLine,
  USAGE_INSERT_COLUMNS,
  type UsageRowInsert,
} from "../../src/services/governance/usage-insert";
import { dailyMarginals, hourlyMarginals, rollupsFromRows } from "../../src/services/rollups/marginals";
import { rebuildPoints, RECENT_MS } from "../../src/services/rollups/prefix";
import { DAY_MS, HOUR_MS, msOf, SqlParams } from "../../src/services/rollups/sql";

export interface SeedOptions {
  db: string;
  rows: number;
  days: number;
  users: number;
  keys: number;
  models: number;
  endUsers: number;
  seed: number;
  /** Progress lines (default: console.log). */
  log?: (line: string) => void;
}

export interface SeedResult {
  rows: number;
  /** Null when the database was seeded by an earlier run (seededFacts). */
  seconds: { rows: number; indexes: number; rollups: number } | null;
  rollupRows: number;
  marginalRows: number;
  /** The busiest key (for filtered queries). */
  topKeyId: string;
  /** When the seeded range ends (rows are before it). */
  end: number;
}

/** Deterministic randomness (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A sampler of ranks 0..n-1 with P(k) ∝ 1/(k+1)^s. */
function zipf(n: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) total += 1 / (k + 1) ** s;
  let acc = 0;
  for (let k = 0; k < n; k++) {
    acc += 1 / (k + 1) ** s / total;
    cdf[k] = acc;
  }
  return () => {
    const r = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < r) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const PROVIDERS = ["openai", "anthropic", "gemini", "mistral", "groq", "together"];

export async function seedUsage(o: SeedOptions): Promise<SeedResult> {
  const log = o.log ?? ((line: string) => console.log(line));
  const store = openStore(o.db, { poolSize: 4, maxOverflow: 0, poolTimeoutSeconds: 60, poolRecycleSeconds: -1 });
  try {
    await migrate(store);
    const random = rng(o.seed);
    const end = Date.now();
    const start = end - o.days * 86_400_000;
    const at = new Date(start);
    const { db, t } = store;
    const models = Array.from({ length: o.models }, (_, i) => ({
      provider: PROVIDERS[i % PROVIDERS.length]!,
      model: `model-${String(i).padStart(2, "0")}`,
      input: 0.1 + (i % 10) * 0.5,
      output: 0.4 + (i % 10) * 2,
    }));
    await db.insert(t.budgets).values(
      Array.from({ length: 10 }, (_, i) => ({
        budgetId: `budget-${i}`,
        maxBudgetMicros: (i + 1) * 50_000_000,
        budgetDurationSec: 30 * 86_400,
        createdAt: at,
        updatedAt: at,
      })),
    );
    for (let i = 0; i < o.users; i += 500) {
      await db.insert(t.users).values(
        Array.from({ length: Math.min(500, o.users - i) }, (_, j) => {
          const n = i + j;
          const budgeted = n % 5 === 0;
          return {
            userId: `user-${n}`,
            alias: `User ${n}`,
            budgetId: budgeted ? `budget-${n % 10}` : null,
            spendMicros: budgeted ? Math.floor(random() * ((n % 10) + 1) * 60_000_000) : 0,
            createdAt: at,
            updatedAt: at,
            metadata: {},
          };
        }),
      );
    }
    for (let i = 0; i < o.keys; i += 500) {
      await db.insert(t.apiKeys).values(
        Array.from({ length: Math.min(500, o.keys - i) }, (_, j) => {
          const n = i + j;
          return {
            id: `key-${n}`,
            keyHash: `seed-hash-${n}`,
            keyPrefix: "gw-seed000",
            keyName: `key ${n}`,
            userId: `user-${n % o.users}`,
            createdAt: at,
            isActive: true,
            metadata: {},
          };
        }),
      );
    }
    await db.insert(t.modelPricing).values(
      models.map((m) => ({
        modelKey: `${m.provider}:${m.model}`,
        effectiveAt: at,
        inputPricePerMillionMicros: Math.round(m.input * 1e6),
        outputPricePerMillionMicros: Math.round(m.output * 1e6),
        createdAt: at,
        updatedAt: at,
      })),
    );

    const key = zipf(o.keys, 1.1, random);
    const model = zipf(o.models, 1.2, random);
    const endUser = zipf(o.endUsers, 1.0, random);
    const span = end - start;
    const row = (i: number): UsageRowInsert => {
      const ts = start + Math.floor(((i + random()) / o.rows) * span);
      const k = key();
      const m = models[model()]!;
      const r = random();
      const failed = r < 0.03;
      const prompt = 50 + Math.floor(random() * 2000);
      const completion = failed ? 0 : 10 + Math.floor(random() * 800);
      const latency = Math.round(Math.exp(Math.log(900) + 0.8 * (random() + random() + random() - 1.5)));
      return {
        id: Bun.randomUUIDv7("hex", ts),
        apiKeyId: `key-${k}`,
        userId: `user-${k % o.users}`,
        endUserId: random() < 0.4 ? `end-user-${endUser()}` : null,
        timestamp: new Date(ts),
        model: m.model,
        provider: m.provider,
        endpoint: "/v1/chat/completions",
        promptTokens: prompt,
        completionTokens: failed ? null : completion,
        totalTokens: failed ? null : prompt + completion,
        costMicros: failed ? null : Math.round((prompt * m.input + completion * m.output) / 1),
        status: failed ? "error" : "success",
        statusCode: failed ? [429, 500, 502][Math.floor(r * 100) % 3]! : 200,
        estimated: false,
        requestId: null,
        attempt: 1,
        attempts: 1,
        latencyMs: latency,
        ttfbMs: Math.round(latency * 0.3),
      };
    };

    const dropped = await dropUsageIndexes(store);
    let started = performance.now();
    if (store.dialect === "sqlite") await loadSqlite(o, row, log);
    else await loadPg(store, o, row, log);
    const rowsSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    for (const sql of dropped) await store.exec(sql);
    const indexSeconds = (performance.now() - started) / 1000;
    log(`indexes rebuilt in ${indexSeconds.toFixed(1)} s`);
    started = performance.now();
    const p = () => new SqlParams(store.dialect);
    // A day at a time: each GROUP BY sorts a day's rows in memory, where one pass over every row spilled to disk
    // (at 10 million rows SQLite's single pass ran for over half an hour).
    for (let day = Math.floor(start / DAY_MS) * DAY_MS; day < end; day += DAY_MS) {
      const range = { from: day, to: day + DAY_MS };
      for (const s of [
        ...rollupsFromRows(p, store.dialect, range),
        ...hourlyMarginals(p, store.dialect, range),
        ...dailyMarginals(p, store.dialect, range),
      ])
        await store.query(s.sql, s.params);
    }
    // The prefix points the compactor would have built: every day boundary, and every hour of the recent window.
    const cutoff = Math.ceil(end / HOUR_MS) * HOUR_MS;
    const recent = Array.from({ length: RECENT_MS / HOUR_MS }, (_, i) => cutoff - RECENT_MS + i * HOUR_MS);
    await rebuildPoints((sql, params) => store.query(sql, params), p, store.dialect, recent, cutoff);
    // Postgres: what autovacuum does to a bulk-loaded table in production (a server may have it off, as here): the
    // visibility map set, so index-only scans skip the heap.
    await store.exec(store.dialect === "pg" ? "VACUUM ANALYZE" : "ANALYZE");
    const rollupSeconds = (performance.now() - started) / 1000;
    const result = {
      ...(await counts(store)),
      seconds: { rows: rowsSeconds, indexes: indexSeconds, rollups: rollupSeconds },
      topKeyId: "key-0",
      end,
    };
    log(
      `rollups and marginals built in ${rollupSeconds.toFixed(1)} s: ${result.rollupRows} rollup rows, ${result.marginalRows} marginal rows`,
    );
    return result;
  } finally {
    await store.close();
  }
}

async function counts(store: Store): Promise<Pick<SeedResult, "rows" | "rollupRows" | "marginalRows">> {
  const count = async (table: string) =>
    Number((await store.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${table}`))[0]!.n);
  return {
    rows: await count("usage_logs"),
    rollupRows: await count("usage_rollups"),
    marginalRows: await count("usage_marginals"),
  };
}

/**
 * What a database seeded by an earlier run holds, to measure it again: its range ends just after its last row (the
 * seed's own end was at most one row's spacing later), the same end on every rerun.
 */
export async function seededFacts(db: string): Promise<SeedResult> {
  const store = openStore(db);
  try {
    const last = `(SELECT MAX(${msOf(store.dialect, '"timestamp"')}) FROM usage_logs)`;
    const [row] = await store.query<{ end: unknown }>(`SELECT ${last} + 1 AS "end"`);
    return { ...(await counts(store)), seconds: null, topKeyId: "key-0", end: Number(row!.end) };
  } finally {
    await store.close();
  }
}

/** Drops usage_logs' secondary indexes (and Postgres foreign keys) for the load; returns the statements that recreate them. */
async function dropUsageIndexes(store: Store): Promise<string[]> {
  const defs =
    store.dialect === "sqlite"
      ? (
          await store.query<{ name: string; sql: string }>(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'usage_logs' AND sql IS NOT NULL",
          )
        ).map((r) => ({ name: r.name, sql: r.sql }))
      : (
          await store.query<{ name: string; sql: string }>(
            "SELECT indexname AS name, indexdef AS sql FROM pg_indexes WHERE tablename = 'usage_logs' AND indexname <> 'usage_logs_pkey'",
          )
        ).map((r) => ({ name: r.name, sql: r.sql }));
  for (const d of defs) await store.exec(`DROP INDEX "${d.name}"`);
  // Postgres: the foreign keys too (a lookup per row and key while loading; one join each when added back). SQLite
  // loads with foreign_keys off.
  const fks =
    store.dialect === "pg"
      ? await store.query<{ name: string; def: string }>(
          "SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'usage_logs'::regclass AND contype = 'f'",
        )
      : [];
  for (const f of fks) await store.exec(`ALTER TABLE usage_logs DROP CONSTRAINT "${f.name}"`);
  return [...defs.map((d) => d.sql), ...fks.map((f) => `ALTER TABLE usage_logs ADD CONSTRAINT "${f.name}" ${f.def}`)];
}

const CHUNK = 200;
const PROGRESS = 1_000_000;

async function loadSqlite(
  o: SeedOptions,
  row: (i: number) => UsageRowInsert,
  log: (line: string) => void,
): Promise<void> {
  const path = o.db.slice("sqlite:///".length);
  const db = new Database(path, { strict: true });
  db.exec(
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA foreign_keys = OFF; PRAGMA cache_size = -262144;",
  );
  const width = USAGE_INSERT_COLUMNS.split(",").length;
  const insert = db.query(
    `INSERT INTO usage_logs (${USAGE_INSERT_COLUMNS}) VALUES ${Array.from({ length: CHUNK }, () => `(${new Array(width).fill("?").join(",")})`).join(",")}`,
  );
  const one = db.query(
    `INSERT INTO usage_logs (${USAGE_INSERT_COLUMNS}) VALUES (${new Array(width).fill("?").join(",")})`,
  );
  const started = performance.now();
  let i = 0;
  while (i < o.rows) {
    const upTo = Math.min(o.rows, i + 100_000);
    db.exec("BEGIN");
    for (; i + CHUNK <= upTo; i += CHUNK)
      insert.run(...(sqliteInsertValues(Array.from({ length: CHUNK }, (_, j) => row(i + j))) as SQLQueryBindings[]));
    for (; i < upTo; i++) one.run(...(sqliteInsertValues([row(i)]) as SQLQueryBindings[]));
    db.exec("COMMIT");
    if (i % PROGRESS === 0 || i === o.rows)
      log(`${i} rows (${Math.round(i / ((performance.now() - started) / 1000))} rows/s)`);
  }
  db.close();
}

async function loadPg(
  store: Store,
  o: SeedOptions,
  row: (i: number) => UsageRowInsert,
  log: (line: string) => void,
): Promise<void> {
  const started = performance.now();
  const chunk = 5000;
  // Two statements in flight: the server parses one chunk's JSON while this process builds the next.
  let inFlight: Promise<unknown> = Promise.resolve();
  for (let i = 0; i < o.rows; i += chunk) {
    const lines: string[] = [];
    for (let j = i; j < Math.min(o.rows, i + chunk); j++) lines.push(toUsageLine(row(j)));
    const previous = inFlight;
    inFlight = previous.then(() => store.query(PG_INSERT_ROWS_SQL, [`[${lines.join(",")}]`]));
    await previous;
    const done = Math.min(o.rows, i + chunk);
    if (done % PROGRESS === 0 || done === o.rows)
      log(`${done} rows (${Math.round(done / ((performance.now() - started) / 1000))} rows/s)`);
  }
  await inFlight;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      db: { type: "string" },
      rows: { type: "string", default: "10000000" },
      days: { type: "string", default: "90" },
      users: { type: "string", default: "1000" },
      keys: { type: "string", default: "5000" },
      models: { type: "string", default: "50" },
      "end-users": { type: "string", default: "20000" },
      seed: { type: "string", default: "1" },
    },
  });
  if (!values.db) throw new Error("--db sqlite:///path.db or postgres://... is required (an empty database)");
  const result = await seedUsage({
    db: values.db,
    rows: Number(values.rows),
    days: Number(values.days),
    users: Number(values.users),
    keys: Number(values.keys),
    models: Number(values.models),
    endUsers: Number(values["end-users"]),
    seed: Number(values.seed),
  });
  console.log(JSON.stringify(result));
}
