/**
 * Every route that takes a body (found in the app's own route table, so a new route cannot be missed) knows its
 * caller before it reads a byte of the body, refuses JSON nested too deep or holding an out-of-range number with a
 * 422, and gives a body that does not arrive in time a 408 that closes the connection. Queries Elysia parses as
 * JSON are refused as plainly.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, MASTER_KEY, type TestApp } from "../../tests/helpers/app";
import { createSqliteDatabase, type TestDatabase } from "../../tests/helpers/db";

const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);
const encoder = new TextEncoder();

/** A body whose first byte arrives and whose end never does. */
const endless = () =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode("["));
    },
  });

describe("request bodies", () => {
  let db: TestDatabase;
  let t: TestApp;
  let routes: { method: string; path: string }[];

  beforeAll(async () => {
    db = await createSqliteDatabase();
    t = createTestApp(db, { config: { http_body_timeout_seconds: 1 } });
    // tRPC mounts (the wildcard routes) read their body in tRPC's adapter, after the procedure's own auth, with the
    // same deadline and JSON checks: tests/e2e/hostile-bodies.test.ts sends them hostile bodies.
    routes = t.app.routes
      .filter((r) => BODY_METHODS.has(r.method) && !r.path.endsWith("*"))
      .map((r) => ({ method: r.method, path: r.path.replace(/:[^/]+/g, "x") }));
  });
  afterAll(async () => {
    await db.drop();
  });

  const send = (method: string, path: string, body: string | ReadableStream<Uint8Array>, token: string | null) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    return t.app.handle(new Request(`http://localhost${path}`, { method, headers, body }));
  };

  test("the route table has the body routes this test is about", () => {
    const paths = routes.map((r) => `${r.method} ${r.path}`);
    for (const p of [
      "POST /v1/chat/completions",
      "POST /v1/messages",
      "POST /v1/responses",
      "POST /v1/embeddings",
      "POST /v1/moderations",
      "POST /v1/keys",
      "PATCH /v1/users/x",
      "POST /v1/pricing",
    ]) {
      expect(paths).toContain(p);
    }
  });

  test("without a credential: 401 without waiting for the body (it never ends here)", async () => {
    // The console's sign-in takes its credential in the body (read under the body deadline, as the 408 test shows).
    for (const { method, path } of routes.filter((r) => r.path !== "/ui/api/session")) {
      const res = await send(method, path, endless(), null);
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 401 });
    }
  });

  test("100,000 nested arrays with a credential: 422 naming the depth limit, on every body route", async () => {
    const body = "[".repeat(100_000) + "]".repeat(100_000);
    for (const { method, path } of routes) {
      const res = await send(method, path, body, MASTER_KEY);
      const text = await res.text();
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 422 });
      expect(text).toContain("JSON nested deeper than 128 levels");
    }
  });

  test("a number beyond the double range is a 422 wherever it sits; 128 levels are still fine", async () => {
    const res = await send("POST", "/v1/keys", '{"key_name":"x","metadata":{"deep":{"n":-2e308}}}', MASTER_KEY);
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({
      detail: [{ type: "value_error", loc: ["body"], msg: "JSON number out of range: numbers must be finite" }],
    });
    const deep = `${"[".repeat(126)}1e308${"]".repeat(126)}`;
    const ok = await send("POST", "/v1/keys", `{"key_name":"x","metadata":{"a":${deep}}}`, MASTER_KEY);
    expect(ok.status).toBe(200);
  });

  test("a body that does not arrive within http_body_timeout_seconds: 408, connection closed", async () => {
    const res = await send("POST", "/v1/chat/completions", endless(), MASTER_KEY);
    expect(res.status).toBe(408);
    expect(res.headers.get("connection")).toBe("close");
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("request_timeout");
  });

  test("an empty body is no body: DELETE with a JSON content type still works; a required body is a 422", async () => {
    const created = (await (await send("POST", "/v1/keys", "{}", MASTER_KEY)).json()) as { id: string };
    expect((await send("DELETE", `/v1/keys/${created.id}`, "", MASTER_KEY)).status).toBe(204);
    expect((await send("POST", "/v1/users", "", MASTER_KEY)).status).toBe(422);
  });

  test("a query value of 100,000 nested brackets (Elysia parses it as JSON) is a plain 422", async () => {
    const query = encodeURIComponent("[".repeat(100_000) + "]".repeat(100_000));
    for (const path of [`/v1/models?provider=${query}`, `/v1/keys?limit=${query}`, `/v1/usage?user_id=${query}`]) {
      const res = await t.app.handle(
        new Request(`http://localhost${path}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } }),
      );
      expect({ path: path.slice(0, 20), status: res.status }).toEqual({ path: path.slice(0, 20), status: 422 });
    }
  });

  test("GET /v1/models authenticates before it validates its query", async () => {
    const query = encodeURIComponent("[".repeat(5000) + "]".repeat(5000));
    const res = await t.app.handle(new Request(`http://localhost/v1/models?provider=${query}`));
    expect(res.status).toBe(401);
  });
});
