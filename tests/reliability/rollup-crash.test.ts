/**
 * Usage rollups stay exact through crashes: the compiled binary serves a randomized load (three keys of two users,
 * end users, several models, upstream errors, streams) and is SIGKILLed mid-load twice; each restart replays the
 * usage journal (rows already committed are skipped, and must not be counted again). Then every usage_rollups row
 * must equal what the usage_logs rows of its hour and dimensions add up to, no group missing or extra, and the
 * analytics API's totals, per end user (which the rollups do not keep) and per model of one end user, must equal
 * the rows'. Both dialects.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DIALECTS, type TestDatabase } from "../helpers/db";
import { type MockServer, startOpenAIMock } from "../../src/providers/_mocks";
import {
  admin,
  baseConfig,
  call,
  dbReader,
  type DbReader,
  type GatewayProc,
  killAll,
  MASTER,
  openaiProvider,
  report,
  spawnGateway,
  tempDir,
  until,
  writeConfig,
} from "./_harness";

const HOUR = 3_600_000;
const MODELS = [
  "openai:gpt-4o-mini",
  "openai:gpt-4o",
  "openai:gpt-4o-mini+error-500",
  "openai:gpt-4o-mini+chunks-4+interval-10",
];

let mock: MockServer;
beforeAll(() => {
  mock = startOpenAIMock();
});
afterAll(async () => {
  await killAll();
  await mock.stop();
});

type Group = {
  requests: number;
  errors: number;
  prompt: number;
  completion: number;
  total: number;
  cost: number;
  latencyCount: number;
  latencySum: number;
  ttfbCount: number;
  ttfbSum: number;
};

/**
 * What the rows add up to per (hour, dimensions), computed here from the raw rows, not by the gateway's SQL; with
 * `by`, per that row's value instead.
 */
async function fromRows(db: DbReader, by?: (r: Record<string, unknown>) => string | null): Promise<Map<string, Group>> {
  const rows = await db.all<Record<string, unknown>>(
    "SELECT timestamp, user_id, api_key_id, end_user_id, model, provider, status, status_code, prompt_tokens, completion_tokens, total_tokens, cost_micros, latency_ms, ttfb_ms FROM usage_logs",
  );
  const out = new Map<string, Group>();
  for (const r of rows) {
    const t = r.timestamp instanceof Date ? r.timestamp.getTime() : Number(r.timestamp);
    const key = by
      ? by(r)
      : [
          Math.floor(t / HOUR) * HOUR,
          r.user_id ?? "",
          r.api_key_id ?? "",
          r.model,
          r.provider ?? "",
          r.status,
          Number(r.status_code ?? 0),
        ].join("|");
    if (key === null) continue;
    const g = out.get(key) ?? {
      requests: 0,
      errors: 0,
      prompt: 0,
      completion: 0,
      total: 0,
      cost: 0,
      latencyCount: 0,
      latencySum: 0,
      ttfbCount: 0,
      ttfbSum: 0,
    };
    g.requests++;
    if (r.status === "error") g.errors++;
    g.prompt += Number(r.prompt_tokens ?? 0);
    g.completion += Number(r.completion_tokens ?? 0);
    g.total += Number(r.total_tokens ?? 0);
    g.cost += Number(r.cost_micros ?? 0);
    if (r.latency_ms !== null) {
      g.latencyCount++;
      g.latencySum += Number(r.latency_ms);
    }
    if (r.ttfb_ms !== null) {
      g.ttfbCount++;
      g.ttfbSum += Number(r.ttfb_ms);
    }
    out.set(key, g);
  }
  return out;
}

async function fromRollups(db: DbReader, dialect: string): Promise<Map<string, Group & { histogram: number }>> {
  const hour = dialect === "pg" ? "(extract(epoch from hour) * 1000)::bigint" : "hour";
  const hist = Array.from({ length: 16 }, (_, i) => `lat_${String(i).padStart(2, "0")}`).join(" + ");
  const rows = await db.all<Record<string, unknown>>(
    `SELECT ${hour} AS h, user_id, api_key_id, model, provider, status, status_code, requests, errors, prompt_tokens, completion_tokens, total_tokens, cost_micros, latency_count, latency_ms_sum, ttfb_count, ttfb_ms_sum, ${hist} AS histogram FROM usage_rollups`,
  );
  return new Map(
    rows.map((r) => [
      [Number(r.h), r.user_id, r.api_key_id, r.model, r.provider, r.status, Number(r.status_code)].join("|"),
      {
        requests: Number(r.requests),
        errors: Number(r.errors),
        prompt: Number(r.prompt_tokens),
        completion: Number(r.completion_tokens),
        total: Number(r.total_tokens),
        cost: Number(r.cost_micros),
        latencyCount: Number(r.latency_count),
        latencySum: Number(r.latency_ms_sum),
        ttfbCount: Number(r.ttfb_count),
        ttfbSum: Number(r.ttfb_ms_sum),
        histogram: Number(r.histogram),
      },
    ]),
  );
}

describe.each(DIALECTS)("usage rollups after SIGKILLs ($dialect)", ({ create }) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await create();
  });
  afterAll(async () => {
    await killAll();
    await db.drop();
  });

  test("every rollup row equals its rows after two crashes and journal replays", async () => {
    const dir = tempDir("gw-rollup-crash-");
    const config = writeConfig(
      dir,
      baseConfig(db.url, { providers: openaiProvider(mock.apiBase), auto_migrate: false }),
    );
    let gw: GatewayProc = await spawnGateway({ cwd: dir, config });
    const port = gw.port;
    for (const model of MODELS)
      await admin(gw.url, "POST", "/v1/pricing", {
        model_key: model,
        input_price_per_million: 3,
        output_price_per_million: 15,
      });
    const keys: string[] = [];
    for (const [user, n] of [
      ["rollup-a", 2],
      ["rollup-b", 1],
    ] as const) {
      await admin(gw.url, "POST", "/v1/users", { user_id: user });
      for (let i = 0; i < n; i++)
        keys.push((await admin<{ key: string }>(gw.url, "POST", "/v1/keys", { user_id: user })).key);
    }
    let completed = 0;
    const load = async (ms: number) => {
      let dead = false;
      const worker = async (w: number) => {
        for (let i = 0; !dead; i++) {
          const model = MODELS[(w * 7 + i * 3) % MODELS.length]!;
          const stream = model.includes("chunks");
          const endUser = [undefined, "eu-1", "eu-2"][(w + i) % 3];
          try {
            const r = await call(`${gw.url}/v1/chat/completions`, {
              token: keys[(w + i) % keys.length],
              body: {
                model,
                messages: [{ role: "user", content: `hello ${w} ${i}` }],
                max_tokens: 16,
                ...(endUser ? { user: endUser } : {}),
                ...(stream ? { stream: true } : {}),
              },
            });
            if (r.status === 200) completed++;
          } catch {
            // Cut by the kill.
          }
        }
      };
      const workers = Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
      await Bun.sleep(ms);
      gw.kill("SIGKILL");
      expect(await gw.exited).not.toBe(0);
      dead = true;
      await workers;
      gw = await spawnGateway({ cwd: dir, config, port });
    };
    await load(1200);
    await load(900);
    const reader = dbReader(db.url);
    try {
      // The restart replays the journal; wait until the writer has nothing queued.
      const queued = async () => {
        const res = await call(`${gw.url}/metrics`);
        return Number(/^gateway_usage_log_queue_depth (\d+)/m.exec(res.text)?.[1] ?? "1");
      };
      expect(await until(async () => (await queued()) === 0, 15_000, 100)).toBe(true);
      const want = await fromRows(reader);
      const got = await fromRollups(reader, db.dialect);
      const rows = [...want.values()].reduce((n, g) => n + g.requests, 0);
      report(`rollups after crashes ${db.dialect}`, { completed, rows, groups: want.size, rollup_rows: got.size });
      expect(rows).toBeGreaterThanOrEqual(completed);
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [key, g] of want) {
        const r = got.get(key)!;
        expect({ key, ...r, histogram: undefined }).toEqual({ key, ...g, histogram: undefined });
        expect(r.histogram).toBe(r.latencyCount);
      }
      const summary = await admin<{ totals: { requests: number; errors: number; cost: number; total_tokens: number } }>(
        gw.url,
        "GET",
        `/v1/usage/summary?start=${encodeURIComponent(new Date(Date.now() - 2 * HOUR).toISOString())}&end=${encodeURIComponent(new Date(Date.now() + HOUR).toISOString())}`,
        undefined,
        MASTER,
      );
      const all = [...want.values()].reduce(
        (a, g) => ({
          requests: a.requests + g.requests,
          errors: a.errors + g.errors,
          cost: a.cost + g.cost,
          total: a.total + g.total,
        }),
        { requests: 0, errors: 0, cost: 0, total: 0 },
      );
      expect(summary.totals).toMatchObject({
        requests: all.requests,
        errors: all.errors,
        total_tokens: all.total,
        cost: all.cost / 1e6,
      });
      // End users are not in the rollups: grouped by them, and one of them grouped by model, the API must still
      // give the rows' sums exactly.
      for (const [query, by] of [
        ["group_by=end_user", (r: Record<string, unknown>) => (r.end_user_id as string | null) ?? ""],
        [
          "group_by=model&end_user_id=eu-1",
          (r: Record<string, unknown>) => (r.end_user_id === "eu-1" ? `${r.provider ?? ""}:${r.model}` : null),
        ],
      ] as const) {
        const groups = await fromRows(reader, by);
        const res = await admin<{
          groups: { key: string | null; requests: number; errors: number; total_tokens: number; cost: number }[];
        }>(
          gw.url,
          "GET",
          `/v1/usage/summary?${query}&limit=100&start=${encodeURIComponent(new Date(Date.now() - 2 * HOUR).toISOString())}&end=${encodeURIComponent(new Date(Date.now() + HOUR).toISOString())}`,
          undefined,
          MASTER,
        );
        expect(groups.size).toBeGreaterThan(1);
        const got = new Map(
          res.groups.map((g) => [
            g.key ?? "",
            { requests: g.requests, errors: g.errors, total: g.total_tokens, cost: g.cost },
          ]),
        );
        const want = new Map(
          [...groups].map(([k, g]) => [
            k,
            { requests: g.requests, errors: g.errors, total: g.total, cost: g.cost / 1e6 },
          ]),
        );
        expect({ query, groups: got }).toEqual({ query, groups: want });
      }
    } finally {
      await reader.close();
      await gw.stop();
    }
  }, 120_000);
});
