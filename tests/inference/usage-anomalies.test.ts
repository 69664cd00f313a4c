/**
 * Upstream usage is checked before it is billed: negative counts are clamped to 0 (never a negative cost), absurd
 * ones to MAX_REPORTED_TOKENS (spend stays a finite, exact integer), each clamp is logged and counted in /metrics;
 * and a usage row already stored with such values (written before the check, or by hand) never breaks a listing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
const MAX_REPORTED_TOKENS = 1_000_000_000;
import { DIALECTS, type TestDatabase } from "../helpers/db";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { budgetUser, hi, parseSse, post, price, type Row, rowsOf } from "./_helpers";

const RATE = 1000;

describe.each(DIALECTS)("upstream usage anomalies ($dialect)", ({ create }) => {
  let db: TestDatabase;
  let gw: TestGateway;

  beforeAll(async () => {
    db = await create();
    gw = await startTestGateway(db, { enable_metrics: true });
    for (const m of ["usage--1000", "usage-1e300", "usage-2.5"]) await price(gw, `openai:m+${m}`, RATE, RATE);
  });
  afterAll(async () => {
    await gw.close();
    await db.drop();
  });

  const anomalies = async (): Promise<number> => {
    const text = await (await fetch(`${gw.base}/metrics`)).text();
    const line = text
      .split("\n")
      .find((l) => l.startsWith('gateway_upstream_usage_anomalies_total{provider="openai"}'));
    return line ? Number(line.split(" ").at(-1)) : 0;
  };

  test("negative counts bill nothing (JSON and stream); huge and fractional counts are clamped; each is counted once", async () => {
    const { key } = await budgetUser(gw, "liar-1", 5);
    const before = await anomalies();
    const neg = await post(gw, "/v1/chat/completions", key, { model: "openai:m+usage--1000", messages: hi });
    expect(neg.status).toBe(200);
    expect(neg.headers.get("x-gateway-cost-usd")).toBe("0.000000");
    await neg.arrayBuffer();
    const stream = await post(gw, "/v1/chat/completions", key, {
      model: "openai:m+usage--1000",
      messages: hi,
      stream: true,
      stream_options: { include_usage: true },
    });
    const usageChunk = parseSse(await stream.text()).events.find((e) => e.json?.["usage"])?.json?.["usage"] as Row;
    expect(usageChunk["cost_usd"]).toBe(0);
    const frac = await post(gw, "/v1/chat/completions", key, { model: "openai:m+usage-2.5", messages: hi });
    expect(frac.status).toBe(200);
    await frac.arrayBuffer();

    const rows = await rowsOf(gw, "liar-1");
    expect(rows.map((r) => [r["prompt_tokens"], r["completion_tokens"], r["total_tokens"], r["cost"]]).sort()).toEqual([
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [3, 3, 3, 0.006],
    ]);
    const user = await gw.admin<Row>("GET", "/v1/users/liar-1");
    expect(user["spend"]).toBeCloseTo(0.006, 9);
    expect(await anomalies()).toBe(before + 3);

    const { key: other } = await budgetUser(gw, "liar-2", null);
    const huge = await post(gw, "/v1/chat/completions", other, { model: "openai:m+usage-1e300", messages: hi });
    expect(huge.status).toBe(200);
    await huge.arrayBuffer();
    const [row] = await rowsOf(gw, "liar-2");
    expect([row?.["prompt_tokens"], row?.["completion_tokens"], row?.["total_tokens"]]).toEqual([
      MAX_REPORTED_TOKENS,
      MAX_REPORTED_TOKENS,
      MAX_REPORTED_TOKENS,
    ]);
    // 2e9 tokens at 1000 USD per million: finite and exact, not 2e297.
    expect(row?.["cost"]).toBe(2_000_000);
    expect((await gw.admin<Row>("GET", "/v1/users/liar-2"))["spend"]).toBe(2_000_000);
    expect(await anomalies()).toBe(before + 4);
  });

  test("rows stored with impossible values still list, on /v1/usage and /v1/users/{id}/usage", async () => {
    await budgetUser(gw, "stored-liar", null);
    // What each dialect can hold: SQLite keeps anything (REAL 1e300, text, fractions); Postgres int4 bounds.
    const values =
      db.dialect === "sqlite"
        ? [
            ["'r1'", 1e300, -1e300, "'abc'", 2e297, 1.5],
            ["'r2'", -5, 7, 2, -3000, "9007199254740993"],
          ]
        : [
            ["'r1'", 2147483647, -2147483648, "NULL", "9000000000000000000", 1],
            ["'r2'", -5, 7, 2, -3000, 2],
          ];
    const ts = db.dialect === "sqlite" ? String(Date.now()) : "now()";
    for (const [id, p, c, t, cost, attempt] of values) {
      await db.store.exec(
        `INSERT INTO usage_logs (id, user_id, timestamp, model, provider, endpoint, prompt_tokens, completion_tokens, total_tokens, cost_micros, status, estimated, attempt) ` +
          `VALUES (${id}, 'stored-liar', ${ts}, 'm', 'openai', '/v1/chat/completions', ${p}, ${c}, ${t}, ${cost}, 'success', ${db.dialect === "sqlite" ? 0 : "false"}, ${attempt})`,
      );
    }
    for (const path of ["/v1/usage?user_id=stored-liar", "/v1/users/stored-liar/usage"]) {
      const rows = await gw.admin<Row[]>("GET", path);
      expect(rows).toHaveLength(2);
      for (const r of rows) {
        for (const f of ["prompt_tokens", "completion_tokens", "total_tokens", "attempt"]) {
          const v = r[f];
          expect(v === null || Number.isSafeInteger(v)).toBe(true);
        }
        expect(r["cost"] === null || Number.isFinite(r["cost"])).toBe(true);
      }
      expect(rows.find((r) => r["id"] === "r2")).toMatchObject({
        prompt_tokens: -5,
        completion_tokens: 7,
        total_tokens: 2,
        cost: -0.003,
      });
    }
  });
});
