/**
 * The analytics routes over HTTP on both dialects: /v1/usage/summary, /v1/usage/series, /v1/overview and
 * /v1/usage/export.csv are master-only (a virtual key or a console session cookie is refused), answer their zod
 * shapes, refuse bad input with 422; the CSV streams every row with formula-safe text; /v1/usage's keyset pages
 * walk the same rows as skip/limit. (The numbers themselves are checked against raw rows in
 * src/services/analytics/analytics.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  createTestApp,
  expectError,
  expectMasterOnly,
  expectValidation,
  insertUsageRow,
  list,
  obj,
  type TestApp,
} from "../../../tests/helpers/app";
import { DIALECTS, type TestDatabase } from "../../../tests/helpers/db";
import { overviewResponse, seriesResponse, summaryResponse } from "../../core/schemas/analytics";

const T0 = Date.parse("2025-04-01T00:00:00Z");
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
const RANGE = `start=${encodeURIComponent(at(-60).toISOString())}&end=${encodeURIComponent(at(300).toISOString())}`;

describe.each(DIALECTS)("analytics routes on $dialect", ({ create }) => {
  let db: TestDatabase;
  let t: TestApp;
  let virtual: string;
  let keyId: string;
  const ids: string[] = [];

  beforeAll(async () => {
    db = await create();
    t = createTestApp(db);
    await t.call("POST", "/v1/users", { body: { user_id: "u1", alias: "Alice" } });
    const key = obj(await t.call("POST", "/v1/keys", { body: { user_id: "u1", key_name: "ci key" } }));
    keyId = key.id as string;
    virtual = key.key as string;
    for (let i = 0; i < 23; i++) {
      ids.push(
        await insertUsageRow(t.store, {
          userId: "u1",
          apiKeyId: i % 2 ? keyId : null,
          timestamp: at(i * 7),
          model: i % 3 ? "gpt-4o" : '=HYPERLINK("http://evil")',
          provider: "openai",
          status: i % 5 === 0 ? "error" : "success",
          statusCode: i % 5 === 0 ? 502 : 200,
          costMicros: 1000 * (i + 1),
          latencyMs: 100 * i,
          errorMessage: i % 5 === 0 ? 'upstream said "no", twice\nsee logs' : null,
        }),
      );
    }
  });
  afterAll(async () => {
    await db.drop();
  });

  test("master only: no credential, a virtual key, a wrong key and a console cookie are refused", async () => {
    for (const path of ["/v1/usage/summary", "/v1/usage/series", "/v1/overview", "/v1/usage/export.csv"]) {
      await expectMasterOnly(t, "GET", path, virtual);
      expectError(await t.call("GET", path, { token: null, headers: { cookie: "otari_console=whatever" } }), 401);
    }
  });

  test("summary: totals and groups with labels, in the documented shape", async () => {
    const s = summaryResponse.parse(obj(await t.call("GET", `/v1/usage/summary?${RANGE}&group_by=key`)));
    expect(s.totals.requests).toBe(23);
    expect(s.totals.errors).toBe(5);
    expect(s.totals.cost).toBeCloseTo((1000 * 24 * 23) / 2 / 1e6, 9);
    expect(s.groups.map((g) => g.key).sort()).toEqual([keyId, null].sort());
    expect(s.groups.find((g) => g.key === keyId)?.label).toBe("ci key");
    const users = summaryResponse.parse(obj(await t.call("GET", `/v1/usage/summary?${RANGE}&group_by=user&limit=1`)));
    expect(users.groups).toEqual([expect.objectContaining({ key: "u1", label: "Alice", requests: 23 })]);
    const filtered = summaryResponse.parse(
      obj(await t.call("GET", `/v1/usage/summary?${RANGE}&status=error&status_code=502`)),
    );
    expect(filtered.totals.requests).toBe(5);
  });

  test("series: zero-filled buckets, top groups and the rest", async () => {
    const s = seriesResponse.parse(
      obj(await t.call("GET", `/v1/usage/series?${RANGE}&bucket=hour&metric=requests&group_by=model&top=1`)),
    );
    expect(s.timestamps).toHaveLength(6);
    const total = s.series.find((x) => x.kind === "total")!;
    expect(total.values.reduce((a, v) => a! + v!, 0)).toBe(23);
    expect(total.values[0]).toBe(0);
    expect(s.series.map((x) => x.kind)).toEqual(["total", "group", "other"]);
    const p95 = seriesResponse.parse(
      obj(await t.call("GET", `/v1/usage/series?${RANGE}&bucket=day&metric=latency_p95`)),
    );
    expect(p95.series[0]!.values).toEqual([null, expect.any(Number)]);
    expect(p95.series[0]!.values[1]).toBeGreaterThan(1500);
  });

  test("overview: the documented shape", async () => {
    const o = overviewResponse.parse(obj(await t.call("GET", `/v1/overview?${RANGE}`)));
    expect(o.window.requests).toBe(23);
    expect(o.keys).toMatchObject({ total: 1, active: 1, used_in_window: 1 });
    expect(o.top_users[0]).toMatchObject({ key: "u1", label: "Alice", requests: 23 });
  });

  test("bad input is 422", async () => {
    expectValidation(await t.call("GET", "/v1/usage/summary?group_by=department"), ["query", "group_by"]);
    expectValidation(await t.call("GET", "/v1/usage/series?metric=vibes"), ["query", "metric"]);
    expectValidation(
      await t.call(
        "GET",
        `/v1/usage/summary?start=${encodeURIComponent(at(10).toISOString())}&end=${encodeURIComponent(at(0).toISOString())}`,
      ),
      ["query", "end"],
    );
    expectValidation(
      await t.call(
        "GET",
        `/v1/usage/series?bucket=minute&start=${encodeURIComponent(at(0).toISOString())}&end=${encodeURIComponent(at(60 * 24 * 3).toISOString())}`,
      ),
      ["query", "bucket"],
    );
    expectValidation(await t.call("GET", "/v1/usage/summary?status_code=99"), ["query", "status_code"]);
  });

  test("CSV export: every row, quoted where needed, formulas defused", async () => {
    const res = await t.call("GET", `/v1/usage/export.csv?start_date=${encodeURIComponent(at(-1).toISOString())}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="usage-\d{4}-\d{2}-\d{2}\.csv"$/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.text).toContain(`'=HYPERLINK(""http://evil"")`);
    expect(res.text).toContain('"upstream said ""no"", twice\nsee logs"');
    const lines = res.text.split("\r\n").filter(Boolean);
    expect(lines[0]).toStartWith("id,timestamp,user_id,api_key_id,end_user_id,provider,model");
    expect(lines.filter((l) => /^[0-9a-f-]{36},/.test(l))).toHaveLength(23);
    const filtered = await t.call("GET", "/v1/usage/export.csv?status=error");
    expect(filtered.text.split("\r\n").filter((l) => /^[0-9a-f-]{36},/.test(l))).toHaveLength(5);
  });

  test("keyset pages: X-Next-Cursor walks the same rows as skip/limit, and ends", async () => {
    const all = list(await t.call("GET", "/v1/usage?limit=1000")).map((r) => r.id);
    const seen: unknown[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await t.call("GET", `/v1/usage?limit=5${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...list(res).map((r) => r.id));
      cursor = res.headers.get("x-next-cursor");
      pages++;
    } while (cursor && pages < 20);
    expect(pages).toBe(5);
    expect(seen).toEqual(all);
    expect((await t.call("GET", "/v1/usage?limit=23")).headers.get("x-next-cursor")).toBeNull();
    expectValidation(await t.call("GET", "/v1/usage?cursor=bm9wZQ"), ["query", "cursor"]);
    const first = (await t.call("GET", "/v1/usage?limit=5")).headers.get("x-next-cursor");
    expectValidation(await t.call("GET", `/v1/usage?skip=5&cursor=${first}`), ["query", "skip"]);
  });
});
