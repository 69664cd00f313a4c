/**
 * Health probes and cross-cutting HTTP rules on both dialects (docs/api.md#cross-cutting-rules, docs/api.md#health,
 * docs/behaviour/errors.md#openai-style-envelope): security headers, readiness with the database down, and management
 * routes answering 503 (promptly) when it is down.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openStore } from "../../db/client";
import { VERSION } from "../../version";
import {
  type CallResult,
  createTestApp,
  errorOf,
  expectError,
  expectSecurityHeaders,
  MASTER_KEY,
  obj,
  type TestApp,
} from "../../../tests/helpers/app";
import { DIALECTS, type TestDatabase } from "../../../tests/helpers/db";

/** Management requests that must all answer 503 when the database is gone. */
const MANAGEMENT: [string, string, unknown?][] = [
  ["GET", "/v1/keys"],
  ["POST", "/v1/keys", {}],
  ["GET", "/v1/keys/k1"],
  ["PATCH", "/v1/keys/k1", { key_name: "x" }],
  ["DELETE", "/v1/keys/k1"],
  ["POST", "/v1/keys/k1/rotate"],
  ["GET", "/v1/users"],
  ["POST", "/v1/users", { user_id: "u" }],
  ["GET", "/v1/users/u"],
  ["PATCH", "/v1/users/u", { alias: "x" }],
  ["DELETE", "/v1/users/u"],
  ["GET", "/v1/users/u/usage"],
  ["GET", "/v1/budgets"],
  ["POST", "/v1/budgets", {}],
  ["GET", "/v1/budgets/b"],
  ["PATCH", "/v1/budgets/b", { max_budget: 1 }],
  ["DELETE", "/v1/budgets/b"],
  ["GET", "/v1/budgets/b/reset-logs"],
  ["GET", "/v1/pricing"],
  ["POST", "/v1/pricing", { model_key: "openai:x", input_price_per_million: 1, output_price_per_million: 1 }],
  ["GET", "/v1/pricing/openai:x"],
  ["GET", "/v1/pricing/openai:x/history"],
  ["DELETE", "/v1/pricing/openai:x"],
  ["GET", "/v1/usage"],
];

/** Readiness 503: `detail` is the object, no DB text anywhere, no Cache-Control. */
function expectNotReady(res: CallResult): void {
  expect(res.status).toBe(503);
  const body = errorOf(res);
  expect(body.detail).toEqual({ status: "unhealthy", database: "unavailable", version: VERSION });
  expect(body.error.message).toBe("Service not ready");
  expect(body.error.type).toBe("service_unavailable");
  expect(res.text).not.toMatch(/sqlite|postgres|closed|connect|select|ECONN/i);
  expectSecurityHeaders(res, true);
}

/** A 503 for every management route, each within `boundMs`, with no driver text. */
async function expectAllUnavailable(t: TestApp, boundMs: number): Promise<void> {
  for (const [method, path, body] of MANAGEMENT) {
    const started = performance.now();
    const res = await t.call(method, path, { body });
    const took = performance.now() - started;
    if (res.status !== 503) throw new Error(`${method} ${path}: expected 503, got ${res.status}: ${res.text}`);
    const err = expectError(res, 503);
    expect(err.error.code).toBe("database_unavailable");
    expect(res.text).not.toMatch(/sqlite|postgres|select|closed|ECONN|Failed query/i);
    expect(took).toBeLessThan(boundMs);
  }
  // K|M routes with a virtual key: the auth lookup itself reports the outage.
  expectError(
    await t.call("GET", "/v1/pricing", { token: `gw-${"b".repeat(60)}` }),
    503,
    "Authentication temporarily unavailable, please retry",
  );
}

describe.each(DIALECTS)("health and cross-cutting rules on $dialect", ({ create }) => {
  let db: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    db = await create();
    t = createTestApp(db);
  });
  afterAll(async () => {
    await db.drop();
  });

  test("GET /health -> {status: healthy}, no auth, no Cache-Control (items 56, 57)", async () => {
    const res = await t.call("GET", "/health", { token: null });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: "healthy" });
    expectSecurityHeaders(res, true);
    // A bad credential is not looked at.
    expect((await t.call("GET", "/health", { token: "junk" })).status).toBe(200);
  });

  test('GET /health/liveness -> the JSON string "I\'m alive!"', async () => {
    const res = await t.call("GET", "/health/liveness", { token: null });
    expect(res.status).toBe(200);
    expect(res.text).toBe('"I\'m alive!"');
    expect(res.headers.get("content-type")).toContain("application/json");
    expectSecurityHeaders(res, true);
  });

  test("GET /health/readiness -> database connected and the version", async () => {
    const res = await t.call("GET", "/health/readiness", { token: null });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: "healthy", database: "connected", version: VERSION });
    expectSecurityHeaders(res, true);
  });

  test("readiness is 503 while draining", async () => {
    t.draining.value = true;
    try {
      expectNotReady(await t.call("GET", "/health/readiness", { token: null }));
      expect((await t.call("GET", "/health", { token: null })).status).toBe(200);
    } finally {
      t.draining.value = false;
    }
  });

  test("non-health responses carry Cache-Control and Vary: Authorization, success and error alike (item 57)", async () => {
    for (const res of [
      await t.call("GET", "/v1/keys"),
      await t.call("GET", "/v1/keys", { token: null }),
      await t.call("GET", "/v1/nope"),
      await t.call("PUT", "/v1/users"),
      await t.call("POST", "/v1/budgets", { body: "{" }),
      await t.call("GET", "/", { token: null }),
    ]) {
      expectSecurityHeaders(res);
    }
  });

  test("unknown path -> 404 Not Found; wrong method -> 405 Method Not Allowed", async () => {
    for (const path of ["/v1", "/v1/nothing", "/healthz", "/v1/keys/a/b/c"]) {
      const err = expectError(await t.call("GET", path, { token: null }), 404, "Not Found", path.startsWith("/health"));
      expect(err.detail).toBe("Not Found");
      expect(err.error.code).toBe("not_found");
    }
    for (const [method, path] of [
      ["POST", "/health"],
      ["DELETE", "/health/readiness"],
      ["PUT", "/v1/keys"],
      ["PATCH", "/v1/users"],
      ["POST", "/v1/usage"],
      ["PUT", "/v1/pricing"],
    ] as const) {
      const res = await t.call(method, path, { token: null });
      const err = expectError(res, 405, "Method Not Allowed", path.startsWith("/health"));
      expect(err.error.code).toBe("method_not_allowed");
      expect(res.headers.get("allow")).toBeTruthy();
    }
  });

  test("every error body has error.message, error.type and detail; 422 detail is a list", async () => {
    const samples = [
      await t.call("GET", "/v1/keys", { token: null }),
      await t.call("GET", "/v1/keys/none"),
      await t.call("POST", "/v1/users", { body: "{oops" }),
      await t.call("POST", "/v1/pricing", {
        body: { model_key: "x", input_price_per_million: 1, output_price_per_million: 1 },
      }),
      await t.call("GET", "/v1/nothing"),
      await t.call("PUT", "/v1/keys"),
    ];
    for (const res of samples) {
      const body = errorOf(res);
      expect(Object.keys(body).sort()).toEqual(["detail", "error"]);
      expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
      if (res.status === 422) {
        expect(Array.isArray(body.detail)).toBe(true);
        expect(body.error.code).toBe("validation_error");
      } else {
        expect(body.detail).toBe(body.error.message);
      }
    }
  });

  test("an oversized body -> 413 on any route, before auth", async () => {
    const small = createTestApp(db, { config: { max_request_body_bytes: 64 } });
    const body = JSON.stringify({ user_id: "x".repeat(200) });
    const headers = { "content-length": String(body.length) };
    const err = expectError(await small.call("POST", "/v1/users", { body, headers }), 413);
    expect(err.error.code).toBe("request_too_large");
    expectError(await small.call("POST", "/v1/users", { body, headers, token: null }), 413);
    expect((await small.call("POST", "/v1/users", { body: { user_id: "fits" } })).status).toBe(200);
  });

  test("database closed: readiness 503 without DB text; every management route 503 promptly", async () => {
    const doomed = db.open();
    const down = createTestApp(db, { store: doomed });
    expect((await down.call("GET", "/health/readiness")).status).toBe(200);
    await doomed.close();
    expectNotReady(await down.call("GET", "/health/readiness", { token: null }));
    expect((await down.call("GET", "/health", { token: null })).status).toBe(200);
    await expectAllUnavailable(down, 3000);
  }, 60_000);
});

describe("a Postgres store that cannot be reached", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await DIALECTS[0]!.create();
  });
  afterAll(async () => {
    await db.drop();
  });

  test("readiness 503 and every management route 503, each bounded in time", async () => {
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = server.port;
    server.stop(true);
    const store = openStore(`postgres://postgres:secret-pw@127.0.0.1:${port}/nowhere`, {
      poolSize: 2,
      maxOverflow: 0,
      poolTimeoutSeconds: 2,
      poolRecycleSeconds: -1,
    });
    try {
      const down = createTestApp(db, { store });
      const started = performance.now();
      const res = await down.call("GET", "/health/readiness", { token: null });
      expect(performance.now() - started).toBeLessThan(3000);
      expectNotReady(res);
      expect(res.text).not.toContain("secret-pw");
      await expectAllUnavailable(down, 3000);
      // The master key itself is checked without the database.
      expectError(await down.call("GET", "/v1/keys", { token: "wrong" }), 401, "Invalid master key");
      expect(MASTER_KEY).toBeTruthy();
      expect(obj(await down.call("GET", "/health", { token: null })).status).toBe("healthy");
    } finally {
      await store.close();
    }
  }, 60_000);

  test("a server that accepts but never answers: 503 once the pool's connect timeout passes, not a hang", async () => {
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const store = openStore(`postgres://postgres@127.0.0.1:${silent.port}/nowhere`, {
      poolSize: 1,
      maxOverflow: 0,
      poolTimeoutSeconds: 1,
      poolRecycleSeconds: -1,
    });
    try {
      const down = createTestApp(db, { store });
      expectNotReady(await down.call("GET", "/health/readiness", { token: null }));
      for (const [method, path, body] of [MANAGEMENT[0]!, MANAGEMENT[7]!, MANAGEMENT[13]!]) {
        const started = performance.now();
        const err = expectError(await down.call(method, path, { body }), 503);
        expect(err.error.code).toBe("database_unavailable");
        expect(performance.now() - started).toBeLessThan(5000);
      }
    } finally {
      await store.close();
      silent.stop(true);
    }
  }, 60_000);
});
