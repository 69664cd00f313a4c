/**
 * /v1/teams, the cost-control fields of /v1/users and /v1/keys, budget deletion and /v1/end-users over HTTP on both
 * dialects: round trips, windows, and every bad input (404 unknown ids, 409 conflicts, 422 limits) storing nothing.
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
import { endUserSubjectId } from "../../services/governance/subjects";

const ms = (iso: unknown) => new Date(String(iso)).getTime();

describe.each(DIALECTS)("teams and levels on $dialect", ({ create }) => {
  let db: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    db = await create();
    t = createTestApp(db);
  });
  afterAll(async () => {
    await db.drop();
  });

  const ok = async (method: string, path: string, body?: unknown) => {
    const res = await t.call(method, path, { body });
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
    return obj(res);
  };
  const budget = async (max: number, duration: number | null = null) =>
    (await ok("POST", "/v1/budgets", { max_budget: max, budget_duration_sec: duration })).budget_id as string;
  const count = async (path: string) => list(await t.call("GET", `${path}?limit=1000`)).length;

  test("POST /v1/teams returns every field; GET and list agree; a duplicate id is 409", async () => {
    const b = await budget(25, 86_400);
    const team = await ok("POST", "/v1/teams", {
      team_id: "eng",
      alias: "Engineering",
      budget_id: b,
      rpm_limit: 100,
      tpm_limit: 10_000,
      max_concurrent: 8,
      allowed_models: ["openai:*"],
      metadata: { cost_center: 7 },
    });
    expect(team).toMatchObject({
      team_id: "eng",
      alias: "Engineering",
      spend: 0,
      reserved: 0,
      budget_id: b,
      blocked: false,
      rpm_limit: 100,
      tpm_limit: 10_000,
      max_concurrent: 8,
      allowed_models: ["openai:*"],
      metadata: { cost_center: 7 },
      members: 0,
    });
    expect(ms(team.next_budget_reset_at) - ms(team.budget_started_at)).toBe(86_400_000);
    expect(await ok("GET", "/v1/teams/eng")).toEqual(team);
    expect(list(await t.call("GET", "/v1/teams")).map((x) => x.team_id)).toContain("eng");
    const dup = expectError(await t.call("POST", "/v1/teams", { body: { team_id: "eng" } }), 409);
    expect(dup.error.message).toBe("Team with id 'eng' already exists");
  });

  test("bad team input: unknown budget 404 and nothing stored; negative or absurd limits and extra fields 422", async () => {
    const before = await count("/v1/teams");
    expectError(
      await t.call("POST", "/v1/teams", { body: { team_id: "ghost", budget_id: "nope" } }),
      404,
      "Budget with id 'nope' not found",
    );
    expectError(await t.call("GET", "/v1/teams/ghost"), 404, "Team with id 'ghost' not found");
    expectValidation(await t.call("POST", "/v1/teams", { body: { team_id: "x", rpm_limit: -1 } }), [
      "body",
      "rpm_limit",
    ]);
    expectValidation(await t.call("POST", "/v1/teams", { body: { team_id: "x", max_concurrent: -3 } }), [
      "body",
      "max_concurrent",
    ]);
    expectValidation(await t.call("POST", "/v1/teams", { body: { team_id: "x", max_concurrent: 10 ** 9 } }), [
      "body",
      "max_concurrent",
    ]);
    expectValidation(await t.call("POST", "/v1/teams", { body: { team_id: "x", tpm_limit: 1.5 } }), [
      "body",
      "tpm_limit",
    ]);
    expectValidation(await t.call("POST", "/v1/teams", { body: { team_id: "" } }), ["body", "team_id"]);
    expectValidation(await t.call("POST", "/v1/teams", { body: { team_id: "x", parent: "eng" } }), ["body", "parent"]);
    expectValidation(await t.call("POST", "/v1/teams", { body: { team_id: "x", allowed_models: ["gpt-4o"] } }), [
      "body",
      "allowed_models",
      0,
    ]);
    expect(await count("/v1/teams")).toBe(before);
    expectError(await t.call("PATCH", "/v1/teams/eng", { body: { budget_id: "nope" } }), 404);
    expectError(await t.call("PATCH", "/v1/teams/ghost", { body: { alias: "x" } }), 404);
    expect((await ok("GET", "/v1/teams/eng")).alias).toBe("Engineering");
  });

  test("every teams, end-users, rate-limits and alerts route is master-only", async () => {
    const key = (await ok("POST", "/v1/keys", { user_id: "guard" })).key as string;
    await expectMasterOnly(t, "POST", "/v1/teams", key, { team_id: "x" });
    await expectMasterOnly(t, "GET", "/v1/teams", key);
    await expectMasterOnly(t, "DELETE", "/v1/teams/eng", key);
    await expectMasterOnly(t, "GET", "/v1/teams/eng/usage", key);
    await expectMasterOnly(t, "GET", "/v1/end-users", key);
    await expectMasterOnly(t, "POST", "/v1/rate-limits", key, { scope: "global", rpm: 1 });
    await expectMasterOnly(t, "POST", "/v1/alerts", key, { scope: "any", url: "http://x" });
    await expectMasterOnly(t, "POST", "/v1/alerts/x/test", key);
  });

  test("users join a team (404 for an unknown one, nothing stored); a team with members is 409 on delete", async () => {
    await ok("POST", "/v1/teams", { team_id: "ops" });
    const users = await count("/v1/users");
    expectError(
      await t.call("POST", "/v1/users", { body: { user_id: "lost", team_id: "nope" } }),
      404,
      "Team with id 'nope' not found",
    );
    expect(await count("/v1/users")).toBe(users);
    const ann = await ok("POST", "/v1/users", { user_id: "ann", team_id: "ops", max_concurrent: 2 });
    expect(ann).toMatchObject({ team_id: "ops", max_concurrent: 2, end_user_budget_id: null });
    await ok("POST", "/v1/users", { user_id: "bob" });
    expect((await ok("PATCH", "/v1/users/bob", { team_id: "ops" })).team_id).toBe("ops");
    expectError(await t.call("PATCH", "/v1/users/bob", { body: { team_id: "nope" } }), 404);
    expect((await ok("GET", "/v1/users/bob")).team_id).toBe("ops");
    expect((await ok("GET", "/v1/teams/ops")).members).toBe(2);
    const busy = expectError(await t.call("DELETE", "/v1/teams/ops"), 409);
    expect(busy.error.message).toBe("Team 'ops' has 2 member(s); move or delete them first");
    // Moving one out ("" = no team) and deleting the other (soft) frees the team; the deleted one is detached.
    expect((await ok("PATCH", "/v1/users/bob", { team_id: "", max_concurrent: 0 })).team_id).toBeNull();
    expect((await ok("GET", "/v1/users/bob")).max_concurrent).toBeNull();
    expect((await t.call("DELETE", "/v1/users/ann")).status).toBe(204);
    expect((await t.call("DELETE", "/v1/teams/ops")).status).toBe(204);
    expectError(await t.call("GET", "/v1/teams/ops"), 404);
    const [row] = await t.store.query<{ team_id: string | null }>(
      `SELECT team_id FROM users WHERE user_id = ${db.dialect === "pg" ? "$1" : "?1"}`,
      ["ann"],
    );
    expect(row?.team_id).toBeNull();
  });

  test("keys: budget_id, max_concurrent and end_user_budget_id on create and PATCH; KeyInfo shows spend and window", async () => {
    const b = await budget(3, 3_600);
    const eub = await budget(0.5);
    const key = await ok("POST", "/v1/keys", {
      user_id: "kate",
      budget_id: b,
      max_concurrent: 4,
      end_user_budget_id: eub,
    });
    expect(key).toMatchObject({ budget_id: b, max_concurrent: 4, end_user_budget_id: eub, spend: 0, reserved: 0 });
    expect(ms(key.next_budget_reset_at) - ms(key.budget_started_at)).toBe(3_600_000);
    const id = key.id as string;
    const info = await ok("GET", `/v1/keys/${id}`);
    expect(info).toMatchObject({ budget_id: b, spend: 0, max_concurrent: 4 });
    // Unknown budgets: 404 and nothing stored or changed.
    const keys = await count("/v1/keys");
    expectError(
      await t.call("POST", "/v1/keys", { body: { budget_id: "nope" } }),
      404,
      "Budget with id 'nope' not found",
    );
    expectError(await t.call("POST", "/v1/keys", { body: { end_user_budget_id: "nope" } }), 404);
    expect(await count("/v1/keys")).toBe(keys);
    expectError(await t.call("PATCH", `/v1/keys/${id}`, { body: { budget_id: "nope", max_concurrent: 9 } }), 404);
    expect((await ok("GET", `/v1/keys/${id}`)).max_concurrent).toBe(4);
    expectValidation(await t.call("POST", "/v1/keys", { body: { max_concurrent: -1 } }), ["body", "max_concurrent"]);
    expectValidation(await t.call("PATCH", `/v1/keys/${id}`, { body: { max_concurrent: "many" } }), [
      "body",
      "max_concurrent",
    ]);
    // "" removes the budget; 0 removes the concurrency limit.
    const cleared = await ok("PATCH", `/v1/keys/${id}`, { budget_id: "", max_concurrent: 0, end_user_budget_id: "" });
    expect(cleared).toMatchObject({
      budget_id: null,
      budget_started_at: null,
      max_concurrent: null,
      end_user_budget_id: null,
    });
  });

  test("deleting a budget a key, team or end-user setting holds is 409 naming them; reset logs name the level", async () => {
    const b = await budget(1, 60);
    await ok("POST", "/v1/teams", { team_id: "fin", budget_id: b });
    const key = await ok("POST", "/v1/keys", { user_id: "fay", budget_id: b });
    await ok("PATCH", "/v1/users/fay", { end_user_budget_id: b });
    const held = expectError(await t.call("DELETE", `/v1/budgets/${b}`), 409);
    expect(held.error.message).toBe(`Budget '${b}' is assigned to 1 user(s), 1 key(s), 1 team(s)`);
    // A window that ended is shown reset on read, once, with a reset log naming the level.
    const p = (i: number) => (db.dialect === "pg" ? `$${i}` : `?${i}`);
    // A second before the app's clock (frozen at its start), not the wall clock: earlier tests take their time.
    const ago = new Date(t.clock.now().getTime() - 1000);
    await t.store.query(
      `UPDATE teams SET spend_micros = 700000, next_budget_reset_at = ${p(1)} WHERE team_id = 'fin'`,
      [db.dialect === "pg" ? ago : ago.getTime()],
    );
    expect((await ok("GET", "/v1/teams/fin")).spend).toBe(0);
    const logs = list(await t.call("GET", `/v1/budgets/${b}/reset-logs`));
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ level: "team", subject_id: "fin", user_id: null, previous_spend: 0.7 });
    // Released everywhere: the delete goes through.
    await ok("PATCH", `/v1/keys/${key.id}`, { budget_id: "" });
    await ok("PATCH", "/v1/teams/fin", { budget_id: "" });
    await ok("PATCH", "/v1/users/fay", { end_user_budget_id: "" });
    expect((await t.call("DELETE", `/v1/budgets/${b}`)).status).toBe(204);
  });

  test("GET /v1/teams/{id}/usage lists the rows made under the team; /v1/end-users filters by user and key", async () => {
    await ok("POST", "/v1/teams", { team_id: "ml" });
    const eub = await budget(2);
    const key = await ok("POST", "/v1/keys", { user_id: "mia", end_user_budget_id: eub });
    const other = await ok("POST", "/v1/keys", { user_id: "mia" });
    const rowId = await insertUsageRow(t.store, { userId: "mia", apiKeyId: key.id as string, endUserId: "app-1" });
    await insertUsageRow(t.store, { userId: "mia", apiKeyId: other.id as string, endUserId: "app-2" });
    await t.store.query(`UPDATE usage_logs SET team_id = 'ml' WHERE id = ${db.dialect === "pg" ? "$1" : "?1"}`, [
      rowId,
    ]);
    expect(list(await t.call("GET", "/v1/teams/ml/usage")).map((r) => r.id)).toEqual([rowId]);
    expectError(await t.call("GET", "/v1/teams/nope/usage"), 404);
    // End users as the ledger creates them on first sight.
    const now = new Date();
    for (const endUserId of ["app-1", "app-2"])
      await t.store.db.insert(t.store.t.endUsers).values({
        id: endUserSubjectId("mia", endUserId),
        userId: "mia",
        endUserId,
        budgetId: eub,
        spendMicros: 250_000,
        budgetStartedAt: now,
        createdAt: now,
        updatedAt: now,
      });
    const all = list(await t.call("GET", "/v1/end-users?user_id=mia"));
    expect(all.map((e) => e.end_user_id).sort()).toEqual(["app-1", "app-2"]);
    expect(all[0]).toMatchObject({ user_id: "mia", budget_id: eub, spend: 0.25, reserved: 0 });
    expect(list(await t.call("GET", `/v1/end-users?key_id=${key.id}`)).map((e) => e.end_user_id)).toEqual(["app-1"]);
    expectError(await t.call("GET", "/v1/end-users?key_id=nope"), 404);
    expectError(await t.call("GET", "/v1/end-users?user_id=nope"), 404);
    expectValidation(await t.call("GET", "/v1/end-users?limit=0"), ["query", "limit"]);
  });
});
