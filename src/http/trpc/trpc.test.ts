/**
 * The tRPC surface through the typed client (src/client/trpc.ts) against a real Bun.serve'd app on a random port,
 * on both dialects: the management procedures, batching, and GatewayError -> TRPCError mapping.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { type AppRouter, createGatewayClient, type GatewayClient, TRPCClientError } from "../../client/trpc";
import { createTestApp, insertUsageRow, MASTER_KEY, type TestApp } from "../../../tests/helpers/app";
import { DIALECTS, type TestDatabase } from "../../../tests/helpers/db";

/** The TRPCClientError a call rejects with. */
async function rejection(call: Promise<unknown>): Promise<TRPCClientError<AppRouter>> {
  try {
    await call;
  } catch (err) {
    if (err instanceof TRPCClientError) return err as TRPCClientError<AppRouter>;
    throw err;
  }
  throw new Error("expected the call to fail");
}

/** Asserts tRPC code, HTTP status and message, and the gateway status riding along. */
type TrpcCode = NonNullable<TRPCClientError<AppRouter>["data"]>["code"];

async function expectTrpcError(call: Promise<unknown>, code: TrpcCode, httpStatus: number, message?: string) {
  const err = await rejection(call);
  expect(err.data?.code).toBe(code);
  expect(err.data?.httpStatus).toBe(httpStatus);
  if (message !== undefined) expect(err.message).toBe(message);
  expect(err.data).not.toHaveProperty("stack");
  return err;
}

function serve(t: TestApp): Server<undefined> {
  return Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => t.app.handle(request) });
}

describe.each(DIALECTS)("tRPC over HTTP on $dialect", ({ create }) => {
  let db: TestDatabase;
  let t: TestApp;
  let server: Server<undefined>;
  let url: string;
  let gw: GatewayClient;
  let requests = 0;

  beforeAll(async () => {
    db = await create();
    t = createTestApp(db);
    server = serve(t);
    url = `http://127.0.0.1:${server.port}`;
    gw = createGatewayClient({
      url,
      masterKey: MASTER_KEY,
      fetch: (input, init) => {
        requests++;
        return fetch(input, init);
      },
    });
  });
  afterAll(async () => {
    server.stop(true);
    await db.drop();
  });

  test("users and keys: create, list, get, update, rotate, delete", async () => {
    const user = await gw.users.create.mutate({ user_id: "trpc-user", alias: "T", rpm_limit: 5 });
    expect(user).toMatchObject({ user_id: "trpc-user", alias: "T", spend: 0, blocked: false, rpm_limit: 5 });
    const key = await gw.keys.create.mutate({
      user_id: user.user_id,
      key_name: "ci",
      metadata: { a: 1 },
      expires_at: "2099-01-01T00:00:00Z",
    });
    expect(key.key).toMatch(/^gw-[A-Za-z0-9_-]{64}$/);
    expect(key).toMatchObject({
      user_id: "trpc-user",
      key_name: "ci",
      is_active: true,
      expires_at: "2099-01-01T00:00:00.000+00:00",
    });
    const listed = await gw.keys.list.query();
    expect(listed.map((k) => k.id)).toContain(key.id);
    expect(listed.find((k) => k.id === key.id)).not.toHaveProperty("key");
    expect(await gw.keys.list.query({ limit: 1 })).toHaveLength(1);
    const info = await gw.keys.get.query({ key_id: key.id });
    expect(info).toMatchObject({ id: key.id, key_prefix: key.key.slice(0, 10), last_used_at: null });
    const updated = await gw.keys.update.mutate({ key_id: key.id, data: { key_name: "renamed", metadata: { b: 2 } } });
    expect(updated).toMatchObject({ key_name: "renamed", metadata: { b: 2 } });
    const rotated = await gw.keys.rotate.mutate({ key_id: key.id });
    expect(rotated.id).toBe(key.id);
    expect(rotated.key).not.toBe(key.key);
    // The REST side sees the same data: the old secret is dead at once.
    expect((await t.call("GET", "/v1/pricing", { token: key.key })).status).toBe(401);
    expect((await t.call("GET", "/v1/pricing", { token: rotated.key })).status).toBe(200);
    expect((await gw.keys.revoke.mutate({ key_id: key.id })).is_active).toBe(false);
    expect(await gw.keys.delete.mutate({ key_id: key.id })).toEqual({ deleted: true, id: key.id });
    expect((await gw.users.list.query()).map((u) => u.user_id)).toContain("trpc-user");
    expect((await gw.users.update.mutate({ user_id: "trpc-user", data: { blocked: true } })).blocked).toBe(true);
    expect(await gw.users.get.query({ user_id: "trpc-user" })).toMatchObject({ blocked: true, alias: "T" });
    const rowId = await insertUsageRow(t.store, { userId: "trpc-user" });
    expect((await gw.users.usage.query({ user_id: "trpc-user" })).map((r) => r.id)).toEqual([rowId]);
    expect((await gw.usage.list.query({ user_id: "trpc-user" })).map((r) => r.id)).toEqual([rowId]);
    expect(await gw.users.delete.mutate({ user_id: "trpc-user" })).toEqual({ deleted: true, id: "trpc-user" });
  });

  test("teams, end users, rate-limit rules and alerts", async () => {
    const budget = await gw.budgets.create.mutate({ max_budget: 2 });
    const team = await gw.teams.create.mutate({ team_id: "trpc-team", budget_id: budget.budget_id, max_concurrent: 3 });
    expect(team).toMatchObject({ team_id: "trpc-team", budget_id: budget.budget_id, max_concurrent: 3, members: 0 });
    await gw.users.create.mutate({ user_id: "trpc-member", team_id: "trpc-team" });
    expect((await gw.teams.get.query({ team_id: "trpc-team" })).members).toBe(1);
    expect((await gw.teams.update.mutate({ team_id: "trpc-team", data: { blocked: true } })).blocked).toBe(true);
    expect((await gw.teams.list.query()).map((x) => x.team_id)).toContain("trpc-team");
    expect(await gw.teams.usage.query({ team_id: "trpc-team" })).toEqual([]);
    await expectTrpcError(gw.teams.delete.mutate({ team_id: "trpc-team" }), "CONFLICT", 409);
    expect(await gw.endUsers.list.query({ user_id: "trpc-member" })).toEqual([]);
    await expectTrpcError(gw.endUsers.list.query({ key_id: "nope" }), "NOT_FOUND", 404);

    const rule = await gw.rateLimits.create.mutate({ scope: "team", scope_id: "trpc-team", rpm: 10 });
    expect((await gw.rateLimits.update.mutate({ id: rule.id, data: { tpm: 100 } })).tpm).toBe(100);
    expect((await gw.rateLimits.list.query()).map((r) => r.id)).toEqual([rule.id]);
    expect(await gw.rateLimits.delete.mutate({ id: rule.id })).toEqual({ deleted: true, id: rule.id });
    await expectTrpcError(gw.rateLimits.create.mutate({ scope: "user", scope_id: "nobody", rpm: 1 }), "NOT_FOUND", 404);

    const alert = await gw.alerts.create.mutate({ scope: "team", url: "http://127.0.0.1:9/x" });
    expect(alert).toMatchObject({ thresholds: [80, 100], format: "json", has_secret: false });
    expect(await gw.alerts.test.mutate({ id: alert.id })).toMatchObject({ delivered: false, status_code: null });
    expect((await gw.alerts.update.mutate({ id: alert.id, data: { thresholds: [95] } })).thresholds).toEqual([95]);
    expect((await gw.alerts.list.query()).map((a) => a.id)).toEqual([alert.id]);
    expect(await gw.alerts.delete.mutate({ id: alert.id })).toEqual({ deleted: true, id: alert.id });
    const bad = await expectTrpcError(gw.alerts.create.mutate({ scope: "team", url: "ftp://x" }), "BAD_REQUEST", 400);
    expect(bad.data?.gateway).toMatchObject({ code: "validation_error" });
  });

  test("analytics, providers and the effective configuration, over the same services as REST", async () => {
    await gw.users.create.mutate({ user_id: "trpc-analytics" });
    const ids = [
      await insertUsageRow(t.store, { userId: "trpc-analytics", costMicros: 2_000_000 }),
      await insertUsageRow(t.store, { userId: "trpc-analytics", costMicros: 500_000 }),
    ];
    // The test app's clock is frozen at its creation; the rows carry the real time.
    const range = {
      start: new Date(Date.now() - 3_600_000).toISOString(),
      end: new Date(Date.now() + 3_600_000).toISOString(),
    };
    const summary = await gw.usage.summary.query({ ...range, user_id: "trpc-analytics", group_by: "user" });
    expect(summary.totals).toMatchObject({ requests: 2, cost: 2.5 });
    expect(summary.groups).toEqual([expect.objectContaining({ key: "trpc-analytics", requests: 2 })]);
    const series = await gw.usage.series.query({ ...range, user_id: "trpc-analytics", metric: "cost", bucket: "hour" });
    expect(series.series[0]!.values.reduce((a, v) => a! + v!, 0)).toBe(2.5);
    const first = await gw.usage.page.query({ user_id: "trpc-analytics", limit: 1 });
    const second = await gw.usage.page.query({ user_id: "trpc-analytics", limit: 1, cursor: first.next_cursor! });
    expect([...first.items, ...second.items].map((r) => r.id).sort()).toEqual(ids.sort());
    expect(second.next_cursor).toBeNull();
    expect((await gw.overview.query(range)).top_users[0]).toMatchObject({ key: "trpc-analytics", cost: 2.5 });
    expect(await gw.providers.query()).toEqual({ providers: [], aliases: [] });
    const settings = await gw.settings.query();
    expect(settings.values.master_key).toBe("[redacted]");
    expect(JSON.stringify(settings)).not.toContain(MASTER_KEY);
  });

  test("budgets and pricing", async () => {
    const budget = await gw.budgets.create.mutate({ max_budget: 3, budget_duration_sec: 60 });
    expect(budget).toMatchObject({ max_budget: 3, budget_duration_sec: 60 });
    expect((await gw.budgets.create.mutate()).max_budget).toBeNull();
    expect((await gw.budgets.update.mutate({ budget_id: budget.budget_id, data: { max_budget: 4 } })).max_budget).toBe(
      4,
    );
    expect((await gw.budgets.list.query()).map((b) => b.budget_id)).toContain(budget.budget_id);
    expect(await gw.budgets.resetLogs.query({ budget_id: budget.budget_id })).toEqual([]);
    await gw.users.create.mutate({ user_id: "budgeted", budget_id: budget.budget_id });
    await expectTrpcError(
      gw.budgets.delete.mutate({ budget_id: budget.budget_id }),
      "CONFLICT",
      409,
      `Budget '${budget.budget_id}' is assigned to 1 user(s)`,
    );

    const price = await gw.pricing.set.mutate({
      model_key: "openai/gpt-4o",
      input_price_per_million: 2.5,
      output_price_per_million: 10,
      effective_at: "2025-01-01T00:00:00Z",
    });
    expect(price.model_key).toBe("openai:gpt-4o");
    await gw.pricing.set.mutate({
      model_key: "openai:gpt-4o",
      input_price_per_million: 3,
      output_price_per_million: 12,
      effective_at: "2025-06-01T00:00:00Z",
    });
    expect(
      (await gw.pricing.get.query({ model_key: "openai:gpt-4o", as_of: "2025-03-01T00:00:00Z" }))
        .input_price_per_million,
    ).toBe(2.5);
    expect((await gw.pricing.get.query({ model_key: "openai:gpt-4o" })).input_price_per_million).toBe(3);
    expect(await gw.pricing.history.query({ model_key: "openai:gpt-4o" })).toHaveLength(2);
    expect(
      await gw.pricing.delete.mutate({ model_key: "openai:gpt-4o", effective_at: "2025-06-01T00:00:00Z" }),
    ).toEqual({ deleted: true, id: "openai:gpt-4o" });
    expect(await gw.pricing.list.query()).toHaveLength(1);
    await expectTrpcError(
      gw.pricing.set.mutate({ model_key: "nosuch:model", input_price_per_million: 1, output_price_per_million: 1 }),
      "BAD_REQUEST",
      400,
      "Unsupported provider 'nosuch'",
    );
  });

  test("calls in one tick are batched into one HTTP request", async () => {
    const before = requests;
    const [keys, users, budgets] = await Promise.all([
      gw.keys.list.query(),
      gw.users.list.query(),
      gw.budgets.list.query(),
    ]);
    expect([Array.isArray(keys), Array.isArray(users), Array.isArray(budgets)]).toEqual([true, true, true]);
    expect(requests - before).toBe(1);
  });

  test("404 and 409 map to NOT_FOUND and CONFLICT, with the gateway's status and detail", async () => {
    const missing = await expectTrpcError(
      gw.keys.get.query({ key_id: "nope" }),
      "NOT_FOUND",
      404,
      "API key with id 'nope' not found",
    );
    expect(missing.data?.gateway).toEqual({
      status: 404,
      type: "not_found_error",
      code: "not_found",
      param: null,
      detail: "API key with id 'nope' not found",
    });
    await expectTrpcError(gw.users.get.query({ user_id: "ghost" }), "NOT_FOUND", 404, "User with id 'ghost' not found");
    await expectTrpcError(
      gw.budgets.get.query({ budget_id: "none" }),
      "NOT_FOUND",
      404,
      "Budget with id 'none' not found",
    );
    await expectTrpcError(
      gw.pricing.get.query({ model_key: "openai:none" }),
      "NOT_FOUND",
      404,
      "Pricing for model 'openai:none' not found",
    );
    await gw.users.create.mutate({ user_id: "twice" });
    const dup = await expectTrpcError(
      gw.users.create.mutate({ user_id: "twice" }),
      "CONFLICT",
      409,
      "User with id 'twice' already exists",
    );
    expect(dup.data?.gateway?.type).toBe("conflict_error");
  });

  test("a wrong master key, a virtual key or no key -> UNAUTHORIZED", async () => {
    const wrong = createGatewayClient({ url, masterKey: "not-it" });
    const err = await expectTrpcError(wrong.keys.list.query(), "UNAUTHORIZED", 401, "Invalid master key");
    expect(err.data?.gateway?.code).toBe("invalid_master_key");
    const key = await gw.keys.create.mutate({});
    await expectTrpcError(
      createGatewayClient({ url: `${url}/trpc/`, masterKey: key.key }).users.list.query(),
      "UNAUTHORIZED",
      401,
      "Invalid master key",
    );
    // Auth runs before input validation, as on the REST routes.
    await expectTrpcError(wrong.users.create.mutate({ user_id: "" }), "UNAUTHORIZED", 401);
    const raw = await fetch(`${url}/trpc/keys.list`);
    expect(raw.status).toBe(401);
    const body = (await raw.json()) as { error: { message: string; data: { code: string } } };
    expect(body.error.message).toBe("Missing Otari-Key or Authorization header");
    expect(body.error.data.code).toBe("UNAUTHORIZED");
    expect(raw.headers.get("x-content-type-options")).toBe("nosniff");
    expect(raw.headers.get("cache-control")).toBe("private, no-store, no-cache");
    const otari = await fetch(`${url}/trpc/keys.list`, { headers: { "otari-key": `Bearer ${MASTER_KEY}` } });
    expect(otari.status).toBe(200);
  });

  test("invalid input -> BAD_REQUEST with the validation list; an unknown procedure -> NOT_FOUND", async () => {
    const err = await expectTrpcError(gw.budgets.create.mutate({ max_budget: -1 }), "BAD_REQUEST", 400);
    expect(err.data?.gateway?.code).toBe("validation_error");
    expect(err.data?.gateway?.detail).toEqual([
      { type: "value_error", loc: ["input", "max_budget"], msg: expect.any(String) },
    ]);
    expect(err.message).toStartWith("input.max_budget:");
    // Strict bodies: an unknown field is refused and named (a cast stands in for an untyped script).
    const loose = gw.users.create.mutate({ user_id: "u", nope: 1 } as Parameters<typeof gw.users.create.mutate>[0]);
    const strict = await expectTrpcError(loose, "BAD_REQUEST", 400);
    expect(strict.data?.gateway?.detail).toEqual([
      { type: "value_error", loc: ["input", "nope"], msg: expect.any(String) },
    ]);
    await expectTrpcError(gw.keys.list.query({ limit: 5000 }), "BAD_REQUEST", 400);
    const res = await fetch(`${url}/trpc/keys.nothing`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(res.status).toBe(404);
  });
});

describe.each(DIALECTS)("tRPC edge cases on $dialect", ({ create }) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await create();
  });
  afterAll(async () => {
    await db.drop();
  });

  test("no master key configured -> SERVICE_UNAVAILABLE", async () => {
    const t = createTestApp(db, { masterKey: null });
    const server = serve(t);
    try {
      const gw = createGatewayClient({ url: `http://127.0.0.1:${server.port}`, masterKey: "anything" });
      await expectTrpcError(
        gw.users.list.query(),
        "SERVICE_UNAVAILABLE",
        503,
        "Master key not configured. Set OTARI_MASTER_KEY environment variable.",
      );
    } finally {
      server.stop(true);
    }
  });

  test("a closed database -> SERVICE_UNAVAILABLE without driver text, not a 500 or a hang", async () => {
    const doomed = db.open();
    const t = createTestApp(db, { store: doomed });
    await doomed.close();
    const server = serve(t);
    try {
      const gw = createGatewayClient({ url: `http://127.0.0.1:${server.port}`, masterKey: MASTER_KEY });
      const started = performance.now();
      const err = await expectTrpcError(
        gw.users.list.query(),
        "SERVICE_UNAVAILABLE",
        503,
        "Database unavailable, please retry",
      );
      expect(performance.now() - started).toBeLessThan(3000);
      expect(JSON.stringify(err.data)).not.toMatch(/sqlite|postgres|select|closed/i);
    } finally {
      server.stop(true);
    }
  });
});
