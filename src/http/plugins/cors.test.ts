/**
 * CORS through the whole app (docs/api.md#cross-cutting-rules): off without `cors_allow_origins`; preflights and simple
 * requests with it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../../../tests/helpers/app";
import { createSqliteDatabase, type TestDatabase } from "../../../tests/helpers/db";

let db: TestDatabase;
beforeAll(async () => {
  db = await createSqliteDatabase();
});
afterAll(() => db.drop());

const preflight = (origin: string, method = "POST", headers = "authorization, content-type") => ({
  origin,
  "access-control-request-method": method,
  "access-control-request-headers": headers,
});

describe("without cors_allow_origins", () => {
  test("no CORS header on any answer; an OPTIONS preflight is not answered as one", async () => {
    const t = createTestApp(db);
    const res = await t.call("GET", "/v1/keys", { headers: { origin: "https://app.example" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const pre = await t.call("OPTIONS", "/v1/chat/completions", {
      token: null,
      headers: preflight("https://app.example"),
    });
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
    expect(pre.status).not.toBe(200);
  });
});

describe("with a list of origins", () => {
  let t: TestApp;
  beforeAll(() => {
    t = createTestApp(db, { config: { cors_allow_origins: ["https://app.example"] } });
  });

  test("a preflight from an allowed origin: 200 with methods, headers, credentials and the origin", async () => {
    const res = await t.call("OPTIONS", "/v1/chat/completions", {
      token: null,
      headers: preflight("https://app.example", "POST", "Authorization, Content-Type, Otari-Key, x-api-key"),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(res.headers.get("access-control-allow-methods")).toBe("GET, POST, PATCH, DELETE, OPTIONS");
    for (const h of ["Authorization", "Content-Type", "Otari-Key", "AnyLLM-Key", "X-AnyLLM-Key", "x-api-key"]) {
      expect(res.headers.get("access-control-allow-headers")).toContain(h);
    }
    expect(res.headers.get("vary")).toContain("Origin");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  test("a preflight from another origin, for another method or header: 400 naming what is refused", async () => {
    const origin = await t.call("OPTIONS", "/v1/keys", { token: null, headers: preflight("https://evil.example") });
    expect(origin.status).toBe(400);
    expect(origin.text).toBe("Disallowed CORS origin");
    expect(origin.headers.get("access-control-allow-origin")).toBeNull();
    const method = await t.call("OPTIONS", "/v1/keys", {
      token: null,
      headers: preflight("https://app.example", "PUT", "x-custom"),
    });
    expect(method.status).toBe(400);
    expect(method.text).toBe("Disallowed CORS method, headers");
  });

  test("a request from an allowed origin gets the origin and credentials back; another origin gets nothing", async () => {
    const ok = await t.call("GET", "/v1/keys", { headers: { origin: "https://app.example" } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(ok.headers.get("access-control-allow-credentials")).toBe("true");
    expect(ok.headers.get("vary")).toBe("Authorization, Origin");
    const denied = await t.call("GET", "/v1/keys", { token: "wrong", headers: { origin: "https://app.example" } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("access-control-allow-origin")).toBe("https://app.example");
    const other = await t.call("GET", "/v1/keys", { headers: { origin: "https://evil.example" } });
    expect(other.status).toBe(200);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});

test("with '*': any origin, as '*', and no credentials", async () => {
  const t = createTestApp(db, { config: { cors_allow_origins: ["*"] } });
  const res = await t.call("GET", "/health", { token: null, headers: { origin: "https://anything.example" } });
  expect(res.headers.get("access-control-allow-origin")).toBe("*");
  expect(res.headers.get("access-control-allow-credentials")).toBeNull();
  const pre = await t.call("OPTIONS", "/v1/messages", { token: null, headers: preflight("https://anything.example") });
  expect(pre.status).toBe(200);
  expect(pre.headers.get("access-control-allow-origin")).toBe("*");
  expect(pre.headers.get("access-control-allow-credentials")).toBeNull();
});
