/** /v1/users over HTTP on both dialects (docs/api.md#users, docs/behaviour/storage.md#budget-periods). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
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

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00$/;
const ms = (iso: unknown) => new Date(String(iso)).getTime();

describe.each(DIALECTS)("users routes on $dialect", ({ create }) => {
  let db: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    db = await create();
    t = createTestApp(db);
  });
  afterAll(async () => {
    await db.drop();
  });

  const createUser = async (body: Record<string, unknown>) => {
    const res = await t.call("POST", "/v1/users", { body });
    if (res.status !== 200) throw new Error(`create user: ${res.status} ${res.text}`);
    return obj(res);
  };
  const createBudget = async (body: Record<string, unknown>) => {
    const res = await t.call("POST", "/v1/budgets", { body });
    if (res.status !== 200) throw new Error(`create budget: ${res.status} ${res.text}`);
    return obj(res);
  };
  const setSpend = (userId: string, micros: number) =>
    t.store.db.update(t.store.t.users).set({ spendMicros: micros }).where(eq(t.store.t.users.userId, userId));

  test("POST returns spend 0.0, blocked false and every UserResponse field (item 14)", async () => {
    const user = await createUser({ user_id: "alice", alias: "Alice", metadata: { team: "x" } });
    expect(user).toMatchObject({
      user_id: "alice",
      alias: "Alice",
      spend: 0,
      reserved: 0,
      budget_id: null,
      budget_started_at: null,
      next_budget_reset_at: null,
      blocked: false,
      metadata: { team: "x" },
      rpm_limit: null,
      tpm_limit: null,
      allowed_models: null,
    });
    expect(user.created_at).toMatch(ISO);
    expect(user.updated_at).toMatch(ISO);
    expect(obj(await t.call("GET", "/v1/users/alice"))).toEqual(user);
  });

  test("a duplicate live user id -> 409 (item 14)", async () => {
    await createUser({ user_id: "dup" });
    const err = expectError(
      await t.call("POST", "/v1/users", { body: { user_id: "dup", alias: "again" } }),
      409,
      "User with id 'dup' already exists",
    );
    expect(err.error.code).toBe("conflict");
    expect(obj(await t.call("GET", "/v1/users/dup")).alias).toBeNull();
  });

  test("every route is master-only", async () => {
    await createUser({ user_id: "guarded" });
    const key = obj(await t.call("POST", "/v1/keys", { body: { user_id: "guarded" } }));
    const virtual = key.key as string;
    await expectMasterOnly(t, "POST", "/v1/users", virtual, { user_id: 5 });
    await expectMasterOnly(t, "GET", "/v1/users", virtual);
    await expectMasterOnly(t, "GET", "/v1/users?limit=0", virtual);
    await expectMasterOnly(t, "GET", "/v1/users/guarded", virtual);
    await expectMasterOnly(t, "PATCH", "/v1/users/guarded", virtual, { blocked: "x" });
    await expectMasterOnly(t, "DELETE", "/v1/users/guarded", virtual);
    await expectMasterOnly(t, "GET", "/v1/users/guarded/usage", virtual);
    expect((await t.call("GET", "/v1/users/guarded")).status).toBe(200);
  });

  test("DELETE soft-deletes: 204, then GET/PATCH/DELETE 404, omitted from the list, keys inactive, usage kept (item 15)", async () => {
    await createUser({ user_id: "bob" });
    const key = obj(await t.call("POST", "/v1/keys", { body: { user_id: "bob" } }));
    const rowId = await insertUsageRow(t.store, { userId: "bob", apiKeyId: key.id as string });
    expect((await t.call("GET", "/v1/pricing", { token: key.key as string })).status).toBe(200);
    const res = await t.call("DELETE", "/v1/users/bob");
    expect(res.status).toBe(204);
    expect(res.text).toBe("");
    expectError(await t.call("GET", "/v1/users/bob"), 404, "User with id 'bob' not found");
    expectError(await t.call("PATCH", "/v1/users/bob", { body: { alias: "x" } }), 404, "User with id 'bob' not found");
    expectError(await t.call("DELETE", "/v1/users/bob"), 404, "User with id 'bob' not found");
    const users = list(await t.call("GET", "/v1/users?limit=1000"));
    expect(users.map((u) => u.user_id)).not.toContain("bob");
    expect(obj(await t.call("GET", `/v1/keys/${key.id}`)).is_active).toBe(false);
    expectError(await t.call("GET", "/v1/pricing", { token: key.key as string }), 401, "API key is inactive");
    const usage = list(await t.call("GET", "/v1/users/bob/usage"));
    expect(usage.map((u) => u.id)).toEqual([rowId]);
    expect(usage[0]?.api_key_id).toBe(key.id);
  });

  test("re-creating a soft-deleted user revives it with the new fields and spend 0.0 (item 16)", async () => {
    const budget = await createBudget({ max_budget: 10 });
    await createUser({
      user_id: "carol",
      alias: "Old",
      blocked: true,
      metadata: { a: 1 },
      budget_id: budget.budget_id,
    });
    await setSpend("carol", 2_500_000);
    expect(obj(await t.call("GET", "/v1/users/carol")).spend).toBe(2.5);
    expect((await t.call("DELETE", "/v1/users/carol")).status).toBe(204);
    const res = await t.call("POST", "/v1/users", { body: { user_id: "carol", alias: "New" } });
    expect(res.status).toBe(200);
    const revived = obj(res);
    expect(revived).toMatchObject({
      user_id: "carol",
      alias: "New",
      spend: 0,
      reserved: 0,
      blocked: false,
      metadata: {},
      budget_id: null,
      budget_started_at: null,
    });
    expect(list(await t.call("GET", "/v1/users?limit=1000")).map((u) => u.user_id)).toContain("carol");
    expectError(await t.call("POST", "/v1/users", { body: { user_id: "carol" } }), 409);
  });

  test("assigning a budget with a duration sets the window; without one next reset is null (item 19)", async () => {
    const daily = await createBudget({ max_budget: 5, budget_duration_sec: 86400 });
    const capOnly = await createBudget({ max_budget: 5 });
    const u1 = await createUser({ user_id: "dana", budget_id: daily.budget_id });
    expect(u1.budget_id).toBe(daily.budget_id);
    expect(u1.budget_started_at).toMatch(ISO);
    expect(ms(u1.next_budget_reset_at) - ms(u1.budget_started_at)).toBe(86_400_000);
    const u2 = await createUser({ user_id: "erin", budget_id: capOnly.budget_id });
    expect(u2.budget_started_at).toMatch(ISO);
    expect(u2.next_budget_reset_at).toBeNull();
    // PATCH assigns; the same budget again restarts the window.
    await createUser({ user_id: "fay" });
    const p1 = obj(await t.call("PATCH", "/v1/users/fay", { body: { budget_id: daily.budget_id } }));
    expect(ms(p1.next_budget_reset_at) - ms(p1.budget_started_at)).toBe(86_400_000);
    t.clock.advance(5000);
    const p2 = obj(await t.call("PATCH", "/v1/users/fay", { body: { budget_id: daily.budget_id } }));
    expect(ms(p2.budget_started_at) - ms(p1.budget_started_at)).toBe(5000);
    expect(ms(p2.next_budget_reset_at) - ms(p2.budget_started_at)).toBe(86_400_000);
    const p3 = obj(await t.call("PATCH", "/v1/users/fay", { body: { budget_id: capOnly.budget_id } }));
    expect(p3.next_budget_reset_at).toBeNull();
  });

  test("an unknown budget_id on create or update -> 404 (item 20)", async () => {
    expectError(
      await t.call("POST", "/v1/users", { body: { user_id: "gus", budget_id: "no-budget" } }),
      404,
      "Budget with id 'no-budget' not found",
    );
    expectError(await t.call("GET", "/v1/users/gus"), 404);
    await createUser({ user_id: "gus" });
    expectError(
      await t.call("PATCH", "/v1/users/gus", { body: { budget_id: "no-budget" } }),
      404,
      "Budget with id 'no-budget' not found",
    );
    expect(obj(await t.call("GET", "/v1/users/gus")).budget_id).toBeNull();
    expectError(
      await t.call("PATCH", "/v1/users/nobody", { body: { alias: "x" } }),
      404,
      "User with id 'nobody' not found",
    );
  });

  test("GET /v1/users/{id} applies a due budget reset, anchored, once, with one reset log", async () => {
    const minute = await createBudget({ max_budget: 1, budget_duration_sec: 60 });
    const assigned = await createUser({ user_id: "hal", budget_id: minute.budget_id });
    const oldNext = ms(assigned.next_budget_reset_at);
    await setSpend("hal", 750_000);
    expect(obj(await t.call("GET", "/v1/users/hal")).spend).toBe(0.75);
    t.clock.advance(150_000);
    const after = obj(await t.call("GET", "/v1/users/hal"));
    expect(after.spend).toBe(0);
    expect(ms(after.next_budget_reset_at)).toBe(oldNext + 120_000);
    expect(ms(after.budget_started_at)).toBe(oldNext + 60_000);
    const again = obj(await t.call("GET", "/v1/users/hal"));
    expect(again.next_budget_reset_at).toBe(after.next_budget_reset_at);
    const logs = list(await t.call("GET", `/v1/budgets/${minute.budget_id}/reset-logs`));
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ user_id: "hal", budget_id: minute.budget_id, previous_spend: 0.75 });
    expect(ms(logs[0]?.next_reset_at)).toBe(oldNext + 120_000);
    // The list applies due resets too.
    await setSpend("hal", 300_000);
    t.clock.advance(60_000);
    const listed = list(await t.call("GET", "/v1/users?limit=1000")).find((u) => u.user_id === "hal");
    expect(listed?.spend).toBe(0);
    expect(ms(listed?.next_budget_reset_at)).toBe(oldNext + 180_000);
    expect(list(await t.call("GET", `/v1/budgets/${minute.budget_id}/reset-logs`))).toHaveLength(2);
  });

  test("PATCH: absent/null fields unchanged, metadata replaced, blocked toggled", async () => {
    await createUser({ user_id: "ivy", alias: "Ivy", metadata: { a: 1, b: 2 } });
    const p = obj(await t.call("PATCH", "/v1/users/ivy", { body: { blocked: true, metadata: { c: 3 } } }));
    expect(p).toMatchObject({ alias: "Ivy", blocked: true, metadata: { c: 3 } });
    const q = obj(
      await t.call("PATCH", "/v1/users/ivy", { body: { alias: null, blocked: null, metadata: null, budget_id: null } }),
    );
    expect(q).toMatchObject({ alias: "Ivy", blocked: true, metadata: { c: 3 }, budget_id: null });
    expect(ms(q.updated_at)).toBeGreaterThanOrEqual(ms(p.updated_at));
  });

  test("rpm_limit, tpm_limit and allowed_models round-trip on create and PATCH", async () => {
    const u = await createUser({ user_id: "jay", rpm_limit: 3, tpm_limit: 3000, allowed_models: ["openai:*"] });
    expect([u.rpm_limit, u.tpm_limit, u.allowed_models]).toEqual([3, 3000, ["openai:*"]]);
    const p = obj(
      await t.call("PATCH", "/v1/users/jay", {
        body: { tpm_limit: 9000, allowed_models: ["anthropic:claude-3-5-haiku", "openai/gpt-4o"] },
      }),
    );
    expect([p.rpm_limit, p.tpm_limit, p.allowed_models]).toEqual([
      3,
      9000,
      ["anthropic:claude-3-5-haiku", "openai/gpt-4o"],
    ]);
    const listed = list(await t.call("GET", "/v1/users?limit=1000")).find((x) => x.user_id === "jay");
    expect(listed?.tpm_limit).toBe(9000);
  });

  test("GET /v1/users lists live users in creation order with skip/limit", async () => {
    const all = list(await t.call("GET", "/v1/users?limit=1000"));
    expect(all.length).toBeGreaterThan(3);
    const page = list(await t.call("GET", "/v1/users?skip=1&limit=2"));
    expect(page.map((u) => u.user_id)).toEqual(all.slice(1, 3).map((u) => u.user_id));
  });

  test("/v1/users/{id}/usage: newest first, paginated, 404 only for a user that never existed", async () => {
    await createUser({ user_id: "kim" });
    const base = Date.now() - 3_600_000;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(
        await insertUsageRow(t.store, {
          userId: "kim",
          timestamp: new Date(base + i * 1000),
          model: `m${i}`,
          endUserId: i === 1 ? "kims-app-user" : null,
        }),
      );
    const rows = list(await t.call("GET", "/v1/users/kim/usage"));
    expect(rows.map((r) => r.id)).toEqual([...ids].reverse());
    expect(rows[0]).toMatchObject({
      user_id: "kim",
      model: "m2",
      provider: "openai",
      endpoint: "/v1/chat/completions",
      prompt_tokens: 10,
      completion_tokens: 5,
      total_tokens: 15,
      cost: 0.001234,
      status: "success",
      end_user_id: null,
    });
    expect(
      list(await t.call("GET", "/v1/users/kim/usage?end_user_id=kims-app-user")).map((r) => [r.id, r.end_user_id]),
    ).toEqual([[ids[1], "kims-app-user"]]);
    expect(list(await t.call("GET", "/v1/users/kim/usage?end_user_id=unknown"))).toEqual([]);
    expect(list(await t.call("GET", "/v1/users/kim/usage?skip=1&limit=1")).map((r) => r.id)).toEqual([ids[1]]);
    expectError(await t.call("GET", "/v1/users/never-was/usage"), 404, "User with id 'never-was' not found");
    expectValidation(await t.call("GET", "/v1/users/kim/usage?limit=0"), ["query", "limit"]);
  });

  test("bad bodies -> 422 with loc naming the field", async () => {
    expectValidation(await t.call("POST", "/v1/users", { body: "{" }), ["body"]);
    expectValidation(await t.call("POST", "/v1/users", { body: {} }), ["body", "user_id"]);
    expectValidation(await t.call("POST", "/v1/users", { body: { user_id: "" } }), ["body", "user_id"]);
    expectValidation(await t.call("POST", "/v1/users", { body: { user_id: "   " } }), ["body", "user_id"]);
    expectValidation(await t.call("POST", "/v1/users", { body: { user_id: "u".repeat(257) } }), ["body", "user_id"]);
    expectValidation(await t.call("POST", "/v1/users", { body: { user_id: 42 } }), ["body", "user_id"]);
    expectValidation(await t.call("POST", "/v1/users", { body: { user_id: "x1", blocked: "yes" } }), [
      "body",
      "blocked",
    ]);
    expectValidation(await t.call("POST", "/v1/users", { body: { user_id: "x1", spend: 5 } }), ["body", "spend"]);
    expectValidation(await t.call("POST", "/v1/users", { body: { user_id: "x1", metadata: null, extra: 1 } }), [
      "body",
      "extra",
    ]);
    expectValidation(await t.call("POST", "/v1/users", { body: { user_id: "x1", rpm_limit: 0 } }), [
      "body",
      "rpm_limit",
    ]);
    expectValidation(await t.call("POST", "/v1/users", { body: { user_id: "x1", allowed_models: ["*"] } }), [
      "body",
      "allowed_models",
      0,
    ]);
    expectError(await t.call("GET", "/v1/users/x1"), 404);
    await createUser({ user_id: "lee" });
    expectValidation(await t.call("PATCH", "/v1/users/lee", { body: { user_id: "other" } }), ["body", "user_id"]);
    expectValidation(await t.call("PATCH", "/v1/users/lee", { body: { blocked: 1 } }), ["body", "blocked"]);
    expectValidation(await t.call("PATCH", "/v1/users/lee", { body: { alias: ["a"] } }), ["body", "alias"]);
  });

  test("pagination out of range -> 422 (item 26)", async () => {
    expectValidation(await t.call("GET", "/v1/users?limit=1001"), ["query", "limit"]);
    expectValidation(await t.call("GET", "/v1/users?limit=0"), ["query", "limit"]);
    expectValidation(await t.call("GET", "/v1/users?skip=-1"), ["query", "skip"]);
  });

  test("wrong method -> 405; unknown path -> 404", async () => {
    expectError(await t.call("DELETE", "/v1/users"), 405, "Method Not Allowed");
    expectError(await t.call("PUT", "/v1/users/x"), 405, "Method Not Allowed");
    expectError(await t.call("POST", "/v1/users/x/usage"), 405, "Method Not Allowed");
    expectError(await t.call("GET", "/v1/users/x/spend"), 404, "Not Found");
  });
});

describe.each(DIALECTS)("users routes without a master key on $dialect", ({ create }) => {
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
      ["POST", "/v1/users"],
      ["GET", "/v1/users"],
      ["GET", "/v1/users/u"],
      ["PATCH", "/v1/users/u"],
      ["DELETE", "/v1/users/u"],
      ["GET", "/v1/users/u/usage"],
    ] as const) {
      expectError(
        await t.call(method, path, { body: method === "POST" || method === "PATCH" ? { user_id: "u" } : undefined }),
        503,
        "Master key not configured. Set OTARI_MASTER_KEY environment variable.",
      );
    }
  });
});
