/**
 * What the rollups cost the usage writer: rows/s of its insert with the rollups (what the gateway runs) and of the
 * bare insert, on the same rows, three rounds on fresh databases. A round writes its two databases batch by batch in
 * turn, so both share the machine's load of the moment (run one after the other, the same code's CPU cost differed
 * by up to 20 points between runs here). Mixes: "bench" (the gateway bench's one model, no end user) and
 * "heavy-tailed" (the seed's Zipf-like keys, models and end users). Also the CPU time per row of this process plus,
 * on Postgres, of the one server backend that runs the statements (from /proc, when the server is local): wall-clock
 * rates swing with the machine's load, CPU per row holds still.
 *
 * Run alone: `bun scripts/bench/writer-cost.ts [--dialects sqlite,pg] [--rows 50000] [--mixes bench,heavy-tailed]
 * [--pg postgres://postgres@127.0.0.1:5432]` prints one JSON line per dialect, with the load average at its end.
 */
import { join } from "node:path";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { openStore, type Store } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";
import {
  fromUsageLine,
  insertUsageLines,
  PG_INSERT_ROWS_SQL,
  SQLITE_INSERT_SQL,
  sqliteInsertValues,
  toUsageLine,
  type UsageRowInsert,
} from "../../src/services/governance/usage-insert";
import { createDatabase } from "./pg-stats";
import { cpuUs, tempDir } from "./processes";

export type Mix = "bench" | "heavy-tailed";
type Variant = "with" | "without";
export interface WriterCost {
  with_rollups_rows_per_s: number;
  without_rollups_rows_per_s: number;
  /** Percent of the bare insert's rate lost to the rollups. */
  cost: number;
  /** CPU µs per row (this process and the Postgres backend); null when the backend's /proc is out of reach. */
  with_rollups_cpu_us_per_row: number | null;
  without_rollups_cpu_us_per_row: number | null;
  /** Percent of the rate lost to the rollups when CPU bound (1 - CPU without / CPU with). */
  cpu_cost: number | null;
}

/** One connection: the writer runs one statement at a time, and its backend's CPU is then one process's. */
const ONE_CONNECTION = { poolSize: 1, maxOverflow: 0, poolTimeoutSeconds: 30, poolRecycleSeconds: -1 };

/** CPU µs so far of this process plus the store's Postgres backend; null when that backend cannot be read. */
async function cpuProbe(store: Store): Promise<() => number | null> {
  let backend: number | null = null;
  if (store.dialect === "pg") {
    const [row] = await store.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    backend = Number(row?.pid);
  }
  return () => {
    const own = process.cpuUsage();
    try {
      return own.user + own.system + (backend === null ? 0 : cpuUs(backend));
    } catch {
      return null; // a remote server
    }
  };
}

/** Rows/s and CPU per row of the writer's insert with rollups and of the bare insert, in turn per batch (above). */
export async function writerCost(
  dbUrl: () => Promise<string>,
  rows: number,
  mixes: Mix[],
): Promise<Partial<Record<Mix, WriterCost>>> {
  const out: Partial<Record<Mix, WriterCost>> = {};
  for (const mix of mixes) {
    let k = 0;
    const row = (i: number): UsageRowInsert => {
      const heavy = mix === "heavy-tailed";
      const key = heavy ? Math.floor(5000 * Math.random() ** 3) : -1;
      return {
        id: Bun.randomUUIDv7(),
        apiKeyId: null,
        userId: null,
        endUserId: heavy && Math.random() < 0.4 ? `eu-${Math.floor(20000 * Math.random() ** 3)}` : null,
        timestamp: new Date(),
        model: heavy ? `model-${Math.floor(50 * Math.random() ** 3)}` : "bench-model",
        provider: heavy ? `p${key % 6}` : "bench",
        endpoint: "/v1/chat/completions",
        promptTokens: 12,
        completionTokens: 8,
        totalTokens: 20,
        costMicros: 28,
        status: "success",
        statusCode: 200,
        estimated: false,
        requestId: `req-${k++}-${i}`,
        latencyMs: 100 + (i % 900),
        ttfbMs: 40,
      };
    };
    const lines = Array.from({ length: rows }, (_, i) => toUsageLine(row(i)));
    const rate: { with: number[]; without: number[] } = { with: [], without: [] };
    const cpu: { with: (number | null)[]; without: (number | null)[] } = { with: [], without: [] };
    const insert = async (variant: Variant, store: Store, batch: string[]) => {
      if (variant === "with") await insertUsageLines(store, batch);
      else if (store.dialect === "pg") await store.query(PG_INSERT_ROWS_SQL, [`[${batch.join(",")}]`]);
      else {
        const values = sqliteInsertValues(batch.map(fromUsageLine));
        const width = values.length / batch.length;
        await store.rawTx(async (exec) => {
          for (let j = 0; j < values.length; j += width) await exec(SQLITE_INSERT_SQL, values.slice(j, j + width));
        });
      }
    };
    for (let round = 0; round < 3; round++) {
      const open = async (variant: Variant) => {
        const store = openStore(await dbUrl(), ONE_CONNECTION);
        await migrate(store);
        return { variant, store, cpuNow: await cpuProbe(store), ms: 0, cpu: 0 as number | null };
      };
      const both = [await open("with"), await open("without")];
      // Which variant goes first alternates: neither always runs right after the other's commit.
      for (let i = 0; i < lines.length; i += 500) {
        const batch = lines.slice(i, i + 500);
        for (const run of (i / 500) % 2 ? [...both].reverse() : both) {
          const cpu0 = run.cpuNow();
          const t0 = performance.now();
          await insert(run.variant, run.store, batch);
          run.ms += performance.now() - t0;
          const cpu1 = run.cpuNow();
          run.cpu = run.cpu === null || cpu0 === null || cpu1 === null ? null : run.cpu + cpu1 - cpu0;
        }
      }
      for (const run of both) {
        rate[run.variant].push(lines.length / (run.ms / 1000));
        cpu[run.variant].push(run.cpu === null ? null : run.cpu / lines.length);
        await run.store.close();
      }
    }
    const best = { with: Math.max(...rate.with), without: Math.max(...rate.without) };
    const least = (xs: (number | null)[]) => (xs.includes(null) ? null : Math.min(...(xs as number[])));
    const cpuWith = least(cpu.with);
    const cpuWithout = least(cpu.without);
    const tenth = (x: number) => Math.round(x * 10) / 10;
    out[mix] = {
      with_rollups_rows_per_s: Math.round(best.with),
      without_rollups_rows_per_s: Math.round(best.without),
      cost: tenth((1 - best.with / best.without) * 100),
      with_rollups_cpu_us_per_row: cpuWith === null ? null : tenth(cpuWith),
      without_rollups_cpu_us_per_row: cpuWithout === null ? null : tenth(cpuWithout),
      cpu_cost: cpuWith === null || cpuWithout === null ? null : tenth((1 - cpuWithout / cpuWith) * 100),
    };
  }
  return out;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      dialects: { type: "string", default: "sqlite,pg" },
      rows: { type: "string", default: "50000" },
      mixes: { type: "string", default: "bench,heavy-tailed" },
      pg: { type: "string", default: "postgres://postgres@127.0.0.1:5432" },
    },
  });
  let n = 0;
  for (const dialect of values.dialects.split(",")) {
    const dir = dialect === "sqlite" ? tempDir("gw-bench-writer-") : "";
    const fresh = async () =>
      dialect === "sqlite"
        ? `sqlite:///${join(dir, `w${n++}.db`)}`
        : createDatabase(
            { url: values.pg, source: "existing server", statements: false },
            `gw_bench_w_${process.pid}_${n++}`,
          );
    const result = await writerCost(fresh, Number(values.rows), values.mixes.split(",") as Mix[]);
    console.log(JSON.stringify({ dialect, ...result, load: loadavg().map((x) => Math.round(x * 100) / 100) }));
  }
}
