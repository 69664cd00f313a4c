/**
 * Platform-mode HTTP surface (SPEC §10.1, §3.2, §13 item 63): which routes exist, the platform-UI 404s, health
 * and readiness against the platform, the caller's bearer token (item 65), and the mode-independent OpenAPI
 * document (SPEC §0).
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { generateOpenApiDocument } from "../../src/openapi-document";
import { VERSION } from "../../src/version";
import { PLATFORM_UI_MESSAGE } from "../../src/http/routes/platform";
import { startPlatformGateway } from "./_gateway";

const t = startPlatformGateway({ PLATFORM_RESOLVE_TIMEOUT_MS: "300" });
afterAll(() => t.close());
beforeEach(() => t.platform.reset());

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

async function expectError(res: Response, status: number, message: string): Promise<Record<string, unknown>> {
  const body = await json(res);
  expect({ status: res.status, body }).toMatchObject({ status, body: { detail: message } });
  return body;
}

describe("routes (item 63)", () => {
  const managed: [string, string][] = [
    ["GET", "/v1/keys"],
    ["POST", "/v1/keys"],
    ["GET", "/v1/keys/k1"],
    ["PATCH", "/v1/keys/k1"],
    ["DELETE", "/v1/keys/k1"],
    ["POST", "/v1/keys/k1/rotate"],
    ["GET", "/v1/users"],
    ["POST", "/v1/users"],
    ["GET", "/v1/users/u1/usage"],
    ["PUT", "/v1/users/u1"],
    ["GET", "/v1/budgets"],
    ["DELETE", "/v1/budgets/b1"],
    ["GET", "/v1/budgets/b1/reset-logs"],
    ["GET", "/v1/spend"],
    ["POST", "/v1/spend/anything/deeper"],
  ];
  for (const [method, path] of managed) {
    test(`${method} ${path} -> 404 with the platform-UI message`, async () => {
      const res = await t.call(method, path, {
        body: method === "GET" || method === "DELETE" ? undefined : "{not json",
      });
      const body = await expectError(res, 404, PLATFORM_UI_MESSAGE);
      expect(body.error).toMatchObject({ message: PLATFORM_UI_MESSAGE, type: "not_found_error" });
      expect(res.headers.get("cache-control")).toBe("private, no-store, no-cache");
    });
  }

  for (const [method, path] of [
    ["GET", "/v1/models"],
    ["POST", "/v1/embeddings"],
    ["POST", "/v1/moderations"],
    ["POST", "/v1/messages/count_tokens"],
    ["POST", "/v1/batches"],
    ["GET", "/v1/batches/batch_1/results"],
    ["GET", "/v1/pricing"],
    ["GET", "/v1/usage"],
    ["GET", "/trpc/users.list"],
    ["GET", "/metrics"],
    ["GET", "/v1/keysmith"],
    ["GET", "/nope"],
  ]) {
    test(`${method} ${path} -> 404 Not Found`, async () => {
      await expectError(await t.call(method!, path!, { body: method === "POST" ? {} : undefined }), 404, "Not Found");
    });
  }

  test("no database: nothing in the platform gateway holds a store", () => {
    expect(t.gateway.mode).toBe("platform");
    expect(Object.keys(t.gateway)).not.toContain("store");
  });

  test("docs are served, and the OpenAPI document is the standalone one (it does not depend on mode)", async () => {
    const res = await t.call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    const served = await res.json();
    expect(served).toEqual(JSON.parse(JSON.stringify(await generateOpenApiDocument())));
    expect(Object.keys((served as { paths: object }).paths)).toContain("/v1/keys");
    expect((await t.call("GET", "/docs")).status).toBe(200);
    expect((await t.call("GET", "/redoc")).status).toBe(200);
  });
});

describe("health (SPEC §3.2)", () => {
  test("/health reports platform reachability and never fails", async () => {
    const up = await t.call("GET", "/health", { token: null });
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({ status: "healthy", mode: "platform", platform_reachable: "yes" });
    expect(up.headers.get("cache-control")).toBeNull();
    expect(t.platform.calls("health")[0]?.path).toBe("/api/v1/utils/health-check/");

    t.platform.queue("health", { status: 503 });
    const down = await t.call("GET", "/health", { token: null });
    expect(down.status).toBe(200);
    expect(await down.json()).toEqual({ status: "healthy", mode: "platform", platform_reachable: "no" });
  });

  test("liveness", async () => {
    const res = await t.call("GET", "/health/liveness", { token: null });
    expect(await res.json()).toBe("I'm alive!");
  });

  test("readiness: connected, 503 when the platform is down (status >= 500 or no answer), 503 while draining", async () => {
    const ok = await t.call("GET", "/health/readiness", { token: null });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: "healthy", mode: "platform", platform: "connected", version: VERSION });

    t.platform.queue("health", { status: 500 }, "hang");
    for (let i = 0; i < 2; i++) {
      const down = await t.call("GET", "/health/readiness", { token: null });
      expect(down.status).toBe(503);
      expect((await json(down)).detail).toEqual({
        status: "unhealthy",
        mode: "platform",
        platform: "unavailable",
        version: VERSION,
      });
      expect(down.headers.get("cache-control")).toBeNull();
    }
    // A 4xx still means reachable.
    t.platform.queue("health", { status: 404 });
    expect((await t.call("GET", "/health/readiness", { token: null })).status).toBe(200);
  });

  test("readiness turns 503 when the drain starts", async () => {
    const other = startPlatformGateway();
    try {
      other.gateway.startDrain();
      expect((await other.call("GET", "/health/readiness", { token: null })).status).toBe(503);
    } finally {
      await other.close();
    }
  });
});

describe("the caller's token (SPEC §10.2 item 1, item 65)", () => {
  const body = { model: "openai:gpt-4o-mini", messages: [{ role: "user", content: "hi" }] };
  test("no Authorization, a blank bearer, or another credential header -> 401 'Missing authentication token'", async () => {
    await expectError(
      await t.call("POST", "/v1/chat/completions", { body, token: null }),
      401,
      "Missing authentication token",
    );
    await expectError(
      await t.call("POST", "/v1/chat/completions", { body, token: "   " }),
      401,
      "Missing authentication token",
    );
    await expectError(
      await t.call("POST", "/v1/responses", {
        body: { model: "openai:x", input: "hi" },
        token: null,
        headers: { "x-api-key": "k" },
      }),
      401,
      "Missing authentication token",
    );
    const messages = await t.call("POST", "/v1/messages", {
      body: { model: "anthropic:x", max_tokens: 5, messages: [{ role: "user", content: "hi" }] },
      token: null,
    });
    expect(messages.status).toBe(401);
    expect(await messages.json()).toMatchObject({
      type: "error",
      error: { type: "authentication_error", message: "Missing authentication token" },
    });
    expect(t.platform.calls("resolve")).toHaveLength(0);
  });
});
