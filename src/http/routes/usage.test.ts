/** GET /v1/usage over HTTP on both dialects (docs/api.md#usage). Rows are inserted straight into the store. */
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

const T0 = Date.parse("2025-04-01T00:00:00Z");
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

describe.each(DIALECTS)("usage route on $dialect", ({ create }) => {
  let db: TestDatabase;
  let t: TestApp;
  let keyId: string;
  let virtual: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    db = await create();
    t = createTestApp(db);
    await t.call("POST", "/v1/users", { body: { user_id: "u1" } });
    await t.call("POST", "/v1/users", { body: { user_id: "u2" } });
    const key = obj(await t.call("POST", "/v1/keys", { body: { user_id: "u1" } }));
    keyId = key.id as string;
    virtual = key.key as string;
    ids.a = await insertUsageRow(t.store, {
      userId: "u1",
      apiKeyId: keyId,
      timestamp: at(0),
      model: "gpt-4o",
      provider: "openai",
      costMicros: 1_500_000,
    });
    ids.b = await insertUsageRow(t.store, {
      userId: "u1",
      timestamp: at(10),
      model: "claude",
      provider: "anthropic",
      endpoint: "/v1/messages",
      costMicros: null,
      endUserId: "app-user-9",
    });
    ids.c = await insertUsageRow(t.store, {
      userId: "u2",
      timestamp: at(20),
      model: "gpt-4o",
      provider: "openai",
      endpoint: "/v1/embeddings",
      status: "error",
      errorMessage: "LLM provider error",
      promptTokens: null,
      completionTokens: null,
    });
    ids.d = await insertUsageRow(t.store, {
      userId: "u2",
      timestamp: at(30),
      model: "text-embedding",
      provider: "openai",
      endpoint: "/v1/embeddings",
      completionTokens: 0,
      costMicros: 7,
    });
  });
  afterAll(async () => {
    await db.drop();
  });

  const usage = async (query = "") => {
    const res = await t.call("GET", `/v1/usage${query}`);
    if (res.status !== 200) throw new Error(`usage: ${res.status} ${res.text}`);
    return list(res).map((r) => r.id);
  };

  test("a bare array of UsageEntry, newest first, money in USD", async () => {
    const res = await t.call("GET", "/v1/usage");
    const rows = list(res);
    expect(rows.map((r) => r.id)).toEqual([ids.d, ids.c, ids.b, ids.a]);
    const a = rows.find((r) => r.id === ids.a);
    expect(a).toEqual({
      id: ids.a,
      user_id: "u1",
      api_key_id: keyId,
      timestamp: "2025-04-01T00:00:00.000+00:00",
      model: "gpt-4o",
      provider: "openai",
      endpoint: "/v1/chat/completions",
      prompt_tokens: 10,
      completion_tokens: 5,
      total_tokens: 15,
      cost: 1.5,
      status: "success",
      error_message: null,
      cache_read_tokens: null,
      cache_write_tokens: null,
      status_code: null,
      estimated: false,
      attempt: null,
      attempts: null,
      end_user_id: null,
      latency_ms: null,
      ttfb_ms: null,
      trace_id: null,
      team_id: null,
    });
    expect(rows.find((r) => r.id === ids.b)).toMatchObject({ cost: null, end_user_id: "app-user-9" });
    expect(rows.find((r) => r.id === ids.c)).toMatchObject({
      status: "error",
      error_message: "LLM provider error",
      prompt_tokens: null,
      total_tokens: null,
    });
    expect(rows.find((r) => r.id === ids.d)?.cost).toBe(0.000007);
  });

  test("start_date is inclusive and end_date exclusive, as ISO or epoch seconds", async () => {
    expect(await usage(`?start_date=${encodeURIComponent(at(10).toISOString())}`)).toEqual([ids.d, ids.c, ids.b]);
    expect(await usage(`?end_date=${encodeURIComponent(at(10).toISOString())}`)).toEqual([ids.a]);
    expect(await usage(`?start_date=${T0 / 1000 + 600}&end_date=${T0 / 1000 + 1800}`)).toEqual([ids.c, ids.b]);
    expect(await usage(`?start_date=${T0 / 1000 + 599.5}&end_date=${T0 / 1000 + 600.5}`)).toEqual([ids.b]);
    // Naive datetimes are UTC; an offset is honoured.
    expect(await usage("?start_date=2025-04-01T00:20:00")).toEqual([ids.d, ids.c]);
    expect(await usage(`?start_date=${encodeURIComponent("2025-04-01T02:20:00+02:00")}`)).toEqual([ids.d, ids.c]);
    expect(await usage("?start_date=2025-04-02")).toEqual([]);
  });

  test("filters: user_id, api_key_id, model, provider, endpoint, status, end_user_id", async () => {
    expect(await usage("?user_id=u1")).toEqual([ids.b, ids.a]);
    expect(await usage(`?api_key_id=${keyId}`)).toEqual([ids.a]);
    expect(await usage("?model=gpt-4o")).toEqual([ids.c, ids.a]);
    expect(await usage("?provider=anthropic")).toEqual([ids.b]);
    expect(await usage(`?endpoint=${encodeURIComponent("/v1/embeddings")}`)).toEqual([ids.d, ids.c]);
    expect(await usage("?status=error")).toEqual([ids.c]);
    expect(await usage("?status=success&user_id=u2")).toEqual([ids.d]);
    expect(await usage("?user_id=nobody")).toEqual([]);
    expect(await usage("?end_user_id=app-user-9")).toEqual([ids.b]);
    expect(await usage("?end_user_id=app-user-9&user_id=u2")).toEqual([]);
    expect(await usage("?end_user_id=nobody")).toEqual([]);
  });

  test("skip/limit page through newest first", async () => {
    expect(await usage("?limit=2")).toEqual([ids.d, ids.c]);
    expect(await usage("?skip=2&limit=2")).toEqual([ids.b, ids.a]);
    expect(await usage("?skip=4")).toEqual([]);
  });

  test("bad queries -> 422: unparseable dates, bad status, pagination out of range (item 26)", async () => {
    expectValidation(await t.call("GET", "/v1/usage?start_date=yesterday"), ["query", "start_date"]);
    expectValidation(await t.call("GET", "/v1/usage?end_date=2025-13-45"), ["query", "end_date"]);
    expectValidation(await t.call("GET", "/v1/usage?status=pending"), ["query", "status"]);
    expectValidation(await t.call("GET", "/v1/usage?limit=1001"), ["query", "limit"]);
    expectValidation(await t.call("GET", "/v1/usage?limit=0"), ["query", "limit"]);
    expectValidation(await t.call("GET", "/v1/usage?skip=-1"), ["query", "skip"]);
    expect((await t.call("GET", "/v1/usage?limit=1000")).status).toBe(200);
  });

  test("master-only", async () => {
    await expectMasterOnly(t, "GET", "/v1/usage", virtual);
    await expectMasterOnly(t, "GET", "/v1/usage?start_date=bogus", virtual);
  });

  test("wrong method -> 405", async () => {
    expectError(await t.call("POST", "/v1/usage", { body: {} }), 405, "Method Not Allowed");
    expectError(await t.call("DELETE", "/v1/usage"), 405, "Method Not Allowed");
  });
});

describe.each(DIALECTS)("usage route without a master key on $dialect", ({ create }) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await create();
  });
  afterAll(async () => {
    await db.drop();
  });

  test("503 (item 3)", async () => {
    const t = createTestApp(db, { masterKey: null });
    expectError(
      await t.call("GET", "/v1/usage"),
      503,
      "Master key not configured. Set OTARI_MASTER_KEY environment variable.",
    );
  });
});
