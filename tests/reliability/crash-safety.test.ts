/**
 * Crash safety of the compiled binary (SPEC §0 Storage, §7.3 items 4 and 9): SIGKILL under load, restart on the same
 * port and journal directory. Every request that got a complete response has exactly one usage row (matched by
 * x-request-id), users.spend equals the sum of the user's row costs once the restart settles, and the leases the
 * killed process held are released by the sweep (short `reservation_ttl_seconds` / `budget_sweep_interval_seconds`;
 * a lease's TTL follows reservation_ttl_seconds, capped at 60 s).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DIALECTS, type TestDatabase } from "../helpers/db";
import { type MockServer, startOpenAIMock } from "../../src/providers/_mocks";
import {
  admin,
  baseConfig,
  call,
  dbReader,
  type GatewayProc,
  killAll,
  openaiProvider,
  type Reply,
  report,
  spawnGateway,
  tempDir,
  until,
  usageRows,
  userMoney,
  writeConfig,
} from "./_harness";

const PROMPT = [{ role: "user", content: "A prompt long enough that its estimate covers the mock's usage." }];
const MODEL = "openai:gpt-4o-mini";
const STREAM_MODEL = "openai:gpt-4o-mini+chunks-4+interval-15";

let mock: MockServer;
beforeAll(() => {
  mock = startOpenAIMock();
});
afterAll(async () => {
  await killAll();
  await mock.stop();
});

describe.each(DIALECTS)("SIGKILL under load ($dialect)", ({ create }) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await create();
  });
  afterAll(async () => {
    await killAll();
    await db.drop();
  });

  test("complete responses keep exactly one row each; spend equals the rows; the dead process's leases are swept", async () => {
    const dir = tempDir("gw-rel-crash-");
    const config = writeConfig(
      dir,
      baseConfig(db.url, {
        providers: openaiProvider(mock.apiBase),
        reservation_ttl_seconds: 2,
        budget_sweep_interval_seconds: 1,
        auto_migrate: false,
      }),
    );
    let gw: GatewayProc = await spawnGateway({ cwd: dir, config });
    const port = gw.port;
    for (const model of [MODEL, STREAM_MODEL])
      await admin(gw.url, "POST", "/v1/pricing", {
        model_key: model,
        input_price_per_million: 1000,
        output_price_per_million: 1000,
      });
    const budget = await admin<{ budget_id: string }>(gw.url, "POST", "/v1/budgets", { max_budget: 1000 });
    await admin(gw.url, "POST", "/v1/users", { user_id: "crash-user", budget_id: budget.budget_id });
    const { key } = await admin<{ key: string }>(gw.url, "POST", "/v1/keys", { user_id: "crash-user" });

    // 32 workers loop JSON calls and streams until the process dies under them.
    const completed: Reply[] = [];
    let broken = 0;
    let dead = false;
    const worker = async (w: number) => {
      for (let i = 0; !dead; i++) {
        const stream = (w + i) % 3 === 0;
        try {
          const r = await call(`${gw.url}/v1/chat/completions`, {
            token: key,
            body: {
              model: stream ? STREAM_MODEL : MODEL,
              messages: PROMPT,
              max_tokens: 16,
              ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
            },
          });
          const complete =
            r.status === 200 &&
            (stream ? r.text.trimEnd().endsWith("data: [DONE]") : JSON.parse(r.text).choices?.length === 1);
          if (complete) completed.push(r);
          else broken++;
        } catch {
          broken++;
        }
      }
    };
    const load = Promise.all(Array.from({ length: 32 }, (_, w) => worker(w)));
    await Bun.sleep(1500);
    gw.kill("SIGKILL");
    expect(await gw.exited).not.toBe(0);
    dead = true;
    await load;
    expect(completed.length).toBeGreaterThan(50);

    gw = await spawnGateway({ cwd: dir, config, port });
    const reader = dbReader(db.url);
    try {
      const ids = new Set(completed.map((r) => r.requestId));
      let rows = await usageRows(reader, "crash-user");
      await until(async () => {
        rows = await usageRows(reader, "crash-user");
        return [...ids].every((id) => rows.some((r) => r.request_id === id));
      }, 5000);
      const perId = new Map<string | null, number>();
      for (const r of rows) perId.set(r.request_id, (perId.get(r.request_id) ?? 0) + 1);
      const lost = [...ids].filter((id) => !perId.has(id)).length;
      const duplicated = [...perId.values()].filter((n) => n > 1).length;
      const rowSpend = rows.reduce((a, r) => a + (r.cost ?? 0), 0);
      // Leases of the killed process expire after 2 s; the sweep (every 1 s) hands them back.
      let money = await userMoney(reader, "crash-user");
      const settled = await until(async () => {
        money = await userMoney(reader, "crash-user");
        return money.reserved === 0 && money.spend === rowSpend;
      }, 8000);
      report(`crash safety ${db.dialect}`, {
        completed: completed.length,
        broken_by_kill: broken,
        rows: rows.length,
        rows_lost: lost,
        duplicated,
        spend_usd: (money.spend / 1e6).toFixed(6),
        row_cost_usd: (rowSpend / 1e6).toFixed(6),
        reserved_usd: (money.reserved / 1e6).toFixed(6),
      });
      expect(lost).toBe(0);
      expect(duplicated).toBe(0);
      expect(ids.size).toBe(completed.length);
      expect(money.spend).toBe(rowSpend);
      expect(money.reserved).toBe(0);
      expect(settled).toBe(true);
      const leases = await reader.all<{ n: unknown }>(
        "SELECT COUNT(*) AS n FROM budget_reservations WHERE amount_micros > 0 AND subject_kind = 'user' AND subject_id = $1",
        ["crash-user"],
      );
      expect(Number(leases[0]?.n)).toBe(0);
      // The restarted process serves and bills normally.
      const after = await call(`${gw.url}/v1/chat/completions`, {
        token: key,
        body: { model: MODEL, messages: PROMPT, max_tokens: 16 },
      });
      expect(after.status).toBe(200);
    } finally {
      await reader.close();
      await gw.stop();
    }
  }, 60_000);
});
