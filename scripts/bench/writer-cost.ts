/**
 * What the rollups cost the usage writer: rows/s of its insert with the rollups (what the gateway runs) and of the
 * bare insert, on the same rows and fresh databases, three rounds alternating. Mixes: "bench" (the gateway bench's
 * one model, no end user) and "heavy-tailed" (the seed's Zipf-like keys, models and end users).
 */
import { openStore } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";
import {
  insertUsageLines,
  PG_INSERT_ROWS_SQL,
  SQLITE_INSERT_SQL,
  sqliteInsertValues,
  toUsageLine,
  type UsageRowInsert,
} from "../../src/services/governance/usage-insert";

export type Mix = "bench" | "heavy-tailed";
export interface WriterCost {
  with_rollups_rows_per_s: number;
  without_rollups_rows_per_s: number;
  /** Percent of the bare insert's rate lost to the rollups. */
  cost: number;
}

/** Rows/s of the writer's insert with rollups and of the bare insert, on fresh databases, alternating to share noise. */
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
    for (let round = 0; round < 3; round++) {
      for (const variant of ["with", "without"] as const) {
        const store = openStore(await dbUrl());
        await migrate(store);
        const t0 = performance.now();
        for (let i = 0; i < lines.length; i += 500) {
          const batch = lines.slice(i, i + 500);
          if (variant === "with") await insertUsageLines(store, batch);
          else if (store.dialect === "pg") await store.query(PG_INSERT_ROWS_SQL, [`[${batch.join(",")}]`]);
          else {
            const values = sqliteInsertValues(
              batch.map((l) => ({ ...JSON.parse(l), timestamp: new Date(JSON.parse(l).timestamp) })),
            );
            const width = values.length / batch.length;
            await store.rawTx(async (exec) => {
              for (let j = 0; j < values.length; j += width) await exec(SQLITE_INSERT_SQL, values.slice(j, j + width));
            });
          }
        }
        rate[variant].push(lines.length / ((performance.now() - t0) / 1000));
        await store.close();
      }
    }
    const best = { with: Math.max(...rate.with), without: Math.max(...rate.without) };
    out[mix] = {
      with_rollups_rows_per_s: Math.round(best.with),
      without_rollups_rows_per_s: Math.round(best.without),
      cost: Math.round((1 - best.with / best.without) * 1000) / 10,
    };
  }
  return out;
}
