/** /v1/budgets over HTTP on both dialects (docs/api.md#budgets; 409 while assigned; reset logs). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import {
  createTestApp,
  expectError,
  expectMasterOnly,
  expectValidation,
  list,
  obj,
  type TestApp,
} from "../../../tests/helpers/app";
import { DIALECTS, type TestDatabase } from "../../../tests/helpers/db";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00$/;
const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe.each(DIALECTS)("budgets routes on $dialect", ({ create }) => {
  let db: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    db = await create();
    t = createTestApp(db);
  });
  afterAll(async () => {
    await db.drop();
  });

  const createBudget = async (body: Record<string, unknown>) => {
    const res = await t.call("POST", "/v1/budgets", { body });
    if (res.status !== 200) throw new Error(`create budget: ${res.status} ${res.text}`);
    return obj(res);
  };

  test("POST returns a BudgetResponse with a UUIDv4 id; GET returns the same", async () => {
    const b = await createBudget({ max_budget: 12.5, budget_duration_sec: 3600 });
    expect(b.budget_id).toMatch(UUID4);
    expect(b).toMatchObject({ max_budget: 12.5, budget_duration_sec: 3600 });
    expect(b.created_at).toMatch(ISO);
    expect(b.updated_at).toMatch(ISO);
    expect(obj(await t.call("GET", `/v1/budgets/${b.budget_id}`))).toEqual(b);
    const open = await createBudget({});
    expect(open).toMatchObject({ max_budget: null, budget_duration_sec: null });
    const nulls = await createBudget({ max_budget: null, budget_duration_sec: null });
    expect(nulls).toMatchObject({ max_budget: null, budget_duration_sec: null });
  });

  test("money keeps 6 decimals exactly (µ$ at rest)", async () => {
    const b = await createBudget({ max_budget: 0.1 + 0.2 });
    expect(b.max_budget).toBe(0.3);
    const c = await createBudget({ max_budget: 1234567.654321 });
    expect(c.max_budget).toBe(1234567.654321);
    const d = await createBudget({ max_budget: 0.0000005 });
    expect(d.max_budget).toBe(0.000001);
  });

  test("max_budget -1, duration 0 / -5 / 1.5 on create or PATCH -> 422; max_budget 0 accepted (item 21)", async () => {
    expectValidation(await t.call("POST", "/v1/budgets", { body: { max_budget: -1 } }), ["body", "max_budget"]);
    expectValidation(await t.call("POST", "/v1/budgets", { body: { budget_duration_sec: 0 } }), [
      "body",
      "budget_duration_sec",
    ]);
    expectValidation(await t.call("POST", "/v1/budgets", { body: { budget_duration_sec: -5 } }), [
      "body",
      "budget_duration_sec",
    ]);
    expectValidation(await t.call("POST", "/v1/budgets", { body: { budget_duration_sec: 1.5 } }), [
      "body",
      "budget_duration_sec",
    ]);
    expectValidation(await t.call("POST", "/v1/budgets", { body: { max_budget: 1e12 } }), ["body", "max_budget"]);
    expectValidation(await t.call("POST", "/v1/budgets", { body: { budget_duration_sec: 1e12 } }), [
      "body",
      "budget_duration_sec",
    ]);
    expectValidation(await t.call("POST", "/v1/budgets", { body: { max_budget: "10" } }), ["body", "max_budget"]);
    expectValidation(await t.call("POST", "/v1/budgets", { body: { max_budget: 1, cap: 2 } }), ["body", "cap"]);
    expectValidation(await t.call("POST", "/v1/budgets", { body: "{max_budget: 1}" }), ["body"]);
    const zero = await createBudget({ max_budget: 0 });
    expect(zero.max_budget).toBe(0);
    const id = zero.budget_id as string;
    expectValidation(await t.call("PATCH", `/v1/budgets/${id}`, { body: { max_budget: -1 } }), ["body", "max_budget"]);
    expectValidation(await t.call("PATCH", `/v1/budgets/${id}`, { body: { budget_duration_sec: 0 } }), [
      "body",
      "budget_duration_sec",
    ]);
    expectValidation(await t.call("PATCH", `/v1/budgets/${id}`, { body: { budget_duration_sec: -5 } }), [
      "body",
      "budget_duration_sec",
    ]);
    expectValidation(await t.call("PATCH", `/v1/budgets/${id}`, { body: { budget_id: "other" } }), [
      "body",
      "budget_id",
    ]);
    expect(obj(await t.call("GET", `/v1/budgets/${id}`)).max_budget).toBe(0);
  });

  test("PATCH updates given fields; absent/null fields unchanged", async () => {
    const b = await createBudget({ max_budget: 5, budget_duration_sec: 60 });
    t.clock.advance(1000);
    const p = obj(await t.call("PATCH", `/v1/budgets/${b.budget_id}`, { body: { max_budget: 7 } }));
    expect(p).toMatchObject({
      budget_id: b.budget_id,
      max_budget: 7,
      budget_duration_sec: 60,
      created_at: b.created_at,
    });
    expect(new Date(String(p.updated_at)).getTime()).toBe(new Date(String(b.updated_at)).getTime() + 1000);
    const q = obj(
      await t.call("PATCH", `/v1/budgets/${b.budget_id}`, { body: { max_budget: null, budget_duration_sec: 120 } }),
    );
    expect(q).toMatchObject({ max_budget: 7, budget_duration_sec: 120 });
    expect(obj(await t.call("PATCH", `/v1/budgets/${b.budget_id}`, { body: {} }))).toMatchObject({
      max_budget: 7,
      budget_duration_sec: 120,
    });
  });

  test("unknown budget id -> 404 on GET, PATCH, DELETE and reset-logs", async () => {
    const msg = "Budget with id 'nope' not found";
    expectError(await t.call("GET", "/v1/budgets/nope"), 404, msg);
    expectError(await t.call("PATCH", "/v1/budgets/nope", { body: { max_budget: 1 } }), 404, msg);
    expectError(await t.call("DELETE", "/v1/budgets/nope"), 404, msg);
    expectError(await t.call("GET", "/v1/budgets/nope/reset-logs"), 404, msg);
  });

  test("DELETE -> 409 while assigned (also to a soft-deleted user), 204 once free, then 404", async () => {
    const b = await createBudget({ max_budget: 1 });
    const id = b.budget_id as string;
    await t.call("POST", "/v1/users", { body: { user_id: "held-1", budget_id: id } });
    await t.call("POST", "/v1/users", { body: { user_id: "held-2", budget_id: id } });
    const err = expectError(
      await t.call("DELETE", `/v1/budgets/${id}`),
      409,
      `Budget '${id}' is assigned to 2 user(s)`,
    );
    expect(err.error.code).toBe("conflict");
    expect(err.error.type).toBe("conflict_error");
    const other = await createBudget({});
    await t.call("PATCH", "/v1/users/held-1", { body: { budget_id: other.budget_id } });
    expect((await t.call("DELETE", "/v1/users/held-2")).status).toBe(204);
    expectError(await t.call("DELETE", `/v1/budgets/${id}`), 409, `Budget '${id}' is assigned to 1 user(s)`);
    // Move the soft-deleted user's row off the budget (only the DB can now).
    await t.store.db.update(t.store.t.users).set({ budgetId: null }).where(eq(t.store.t.users.userId, "held-2"));
    const res = await t.call("DELETE", `/v1/budgets/${id}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe("");
    expectError(await t.call("GET", `/v1/budgets/${id}`), 404);
  });

  test("GET /v1/budgets lists in creation order with skip/limit", async () => {
    const all = list(await t.call("GET", "/v1/budgets?limit=1000"));
    expect(all.length).toBeGreaterThan(3);
    const page = list(await t.call("GET", "/v1/budgets?skip=2&limit=2"));
    expect(page.map((b) => b.budget_id)).toEqual(all.slice(2, 4).map((b) => b.budget_id));
  });

  test("reset-logs: newest first, paginated, one row per due reset", async () => {
    const b = await createBudget({ max_budget: 1, budget_duration_sec: 10 });
    const id = b.budget_id as string;
    expect(list(await t.call("GET", `/v1/budgets/${id}/reset-logs`))).toEqual([]);
    await t.call("POST", "/v1/users", { body: { user_id: "resetter", budget_id: id } });
    const spends = [100_000, 200_000, 300_000];
    for (const micros of spends) {
      await t.store.db
        .update(t.store.t.users)
        .set({ spendMicros: micros })
        .where(eq(t.store.t.users.userId, "resetter"));
      t.clock.advance(10_000);
      expect(obj(await t.call("GET", "/v1/users/resetter")).spend).toBe(0);
    }
    const logs = list(await t.call("GET", `/v1/budgets/${id}/reset-logs`));
    expect(logs.map((l) => l.previous_spend)).toEqual([0.3, 0.2, 0.1]);
    for (const log of logs) {
      expect(log).toMatchObject({ user_id: "resetter", budget_id: id });
      expect(typeof log.id).toBe("number");
      expect(log.reset_at).toMatch(ISO);
      expect(log.next_reset_at).toMatch(ISO);
    }
    expect(
      list(await t.call("GET", `/v1/budgets/${id}/reset-logs?skip=1&limit=1`)).map((l) => l.previous_spend),
    ).toEqual([0.2]);
    expectValidation(await t.call("GET", `/v1/budgets/${id}/reset-logs?limit=0`), ["query", "limit"]);
  });

  test("every route is master-only", async () => {
    const b = await createBudget({});
    const key = obj(await t.call("POST", "/v1/keys", { body: {} }));
    const virtual = key.key as string;
    const id = b.budget_id as string;
    await expectMasterOnly(t, "POST", "/v1/budgets", virtual, { max_budget: -1 });
    await expectMasterOnly(t, "GET", "/v1/budgets", virtual);
    await expectMasterOnly(t, "GET", `/v1/budgets/${id}`, virtual);
    await expectMasterOnly(t, "PATCH", `/v1/budgets/${id}`, virtual, { max_budget: "x" });
    await expectMasterOnly(t, "DELETE", `/v1/budgets/${id}`, virtual);
    await expectMasterOnly(t, "GET", `/v1/budgets/${id}/reset-logs`, virtual);
    expect((await t.call("GET", `/v1/budgets/${id}`)).status).toBe(200);
  });

  test("pagination out of range -> 422 (item 26)", async () => {
    expectValidation(await t.call("GET", "/v1/budgets?limit=1001"), ["query", "limit"]);
    expectValidation(await t.call("GET", "/v1/budgets?limit=0"), ["query", "limit"]);
    expectValidation(await t.call("GET", "/v1/budgets?skip=-1"), ["query", "skip"]);
  });

  test("wrong method -> 405; unknown path -> 404", async () => {
    expectError(await t.call("PUT", "/v1/budgets"), 405, "Method Not Allowed");
    expectError(await t.call("POST", "/v1/budgets/x"), 405, "Method Not Allowed");
    expectError(await t.call("DELETE", "/v1/budgets/x/reset-logs"), 405, "Method Not Allowed");
    expectError(await t.call("GET", "/v1/budgets/x/y/z"), 404, "Not Found");
  });
});

describe.each(DIALECTS)("budgets routes without a master key on $dialect", ({ create }) => {
  let db: TestDatabase;
  let t: TestApp;
  beforeAll(async () => {
    db = await create();
    t = createTestApp(db, { masterKey: null });
  });
  afterAll(async () => {
    await db.drop();
  });

  test("every route answers 503 (item 3)", async () => {
    for (const [method, path] of [
      ["POST", "/v1/budgets"],
      ["GET", "/v1/budgets"],
      ["GET", "/v1/budgets/b"],
      ["PATCH", "/v1/budgets/b"],
      ["DELETE", "/v1/budgets/b"],
      ["GET", "/v1/budgets/b/reset-logs"],
    ] as const) {
      expectError(
        await t.call(method, path, { body: method === "POST" || method === "PATCH" ? {} : undefined }),
        503,
        "Master key not configured. Set OTARI_MASTER_KEY environment variable.",
      );
    }
  });
});
