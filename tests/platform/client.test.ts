/**
 * The platform client (SPEC §10.2 item 2, item 8, §10.3, §3.2): what it sends, and how every answer of the
 * platform maps to the client's status and message (§13 items 65, 67).
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { GatewayError } from "../../src/core/errors";
import {
  AUTH_REJECTED,
  AUTH_UNAVAILABLE,
  createPlatformClient,
  joinUrl,
  MCP_RESOLUTION_FAILED,
  NO_RESOLVABLE_PROVIDER,
  splitSelector,
} from "../../src/services/platform/client";
import { attempt, route, startPlatformMock } from "../helpers/platform-mock";

const platform = startPlatformMock();
afterAll(() => platform.stop());
beforeEach(() => platform.reset());

const client = (over: Partial<Parameters<typeof createPlatformClient>[0]> = {}) =>
  createPlatformClient({
    baseUrl: `${platform.baseUrl}/`,
    gatewayToken: "gw-platform-token",
    resolveTimeoutMs: 300,
    usageTimeoutMs: 300,
    healthPath: "utils/health-check/",
    ...over,
  });

async function resolveError(selector = "openai:gpt-4o"): Promise<GatewayError> {
  try {
    await client().resolve("user-token", selector);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error("expected resolve to fail");
}

describe("URLs and selectors", () => {
  test("base and path are joined with exactly one slash", () => {
    expect(joinUrl("http://p/api/v1/", "/gateway/usage")).toBe("http://p/api/v1/gateway/usage");
    expect(joinUrl("http://p/api/v1", "gateway/usage")).toBe("http://p/api/v1/gateway/usage");
    expect(joinUrl("http://p/api/v1//", "//utils/health-check/")).toBe("http://p/api/v1/utils/health-check/");
  });

  test("the selector splits at the first ':', else the first '/'; a bare model names no provider", () => {
    expect(splitSelector("openai:gpt-4o")).toEqual({ provider: "openai", model: "gpt-4o" });
    expect(splitSelector("openrouter:openai/gpt-4o")).toEqual({ provider: "openrouter", model: "openai/gpt-4o" });
    expect(splitSelector("ollama:llama3:8b")).toEqual({ provider: "ollama", model: "llama3:8b" });
    expect(splitSelector("openai/gpt-4o")).toEqual({ provider: "openai", model: "gpt-4o" });
    expect(splitSelector("gpt-4o")).toEqual({ model: "gpt-4o" });
  });
});

describe("resolve", () => {
  test("sends both tokens and the split selector; reads the attempts shape in position order", async () => {
    platform.setResolve({
      request_id: "req-9",
      fallback_enabled: true,
      attempts: [
        attempt("second", "http://b", { position: 1 }),
        attempt("first", "http://a", { position: 0, api_base: null }),
      ],
    });
    const resolved = await client().resolve("user-token", "openai:gpt-4o");
    const [call] = platform.calls("resolve");
    expect(call?.path).toBe("/api/v1/gateway/provider-keys/resolve");
    expect(call?.headers["x-gateway-token"]).toBe("gw-platform-token");
    expect(call?.headers["x-user-token"]).toBe("user-token");
    expect(call?.body).toEqual({ provider: "openai", model: "gpt-4o" });
    expect(resolved.requestId).toBe("req-9");
    expect(resolved.attempts.map((a) => [a.attemptId, a.apiBase])).toEqual([
      ["first", null],
      ["second", "http://b"],
    ]);
    expect(resolved.attempts[0]).toMatchObject({
      provider: "openai",
      model: "gpt-4o-mini",
      apiKey: "sk-platform-first",
      managed: true,
    });
  });

  test("a bare model is sent without `provider`", async () => {
    platform.setResolve(route([attempt("a", "http://a")]));
    await client().resolve("t", "gpt-4o");
    expect(platform.calls("resolve")[0]?.body).toEqual({ model: "gpt-4o" });
  });

  test("item 67: the legacy flat shape is one attempt whose ids are the correlation id", async () => {
    platform.setResolve({
      provider: "anthropic",
      model: "claude-x",
      api_key: "sk-ant",
      api_base: "http://an",
      managed: false,
      correlation_id: "corr-1",
    });
    const resolved = await client().resolve("t", "anthropic:claude-x");
    expect(resolved.requestId).toBe("corr-1");
    expect(resolved.attempts).toEqual([
      {
        attemptId: "corr-1",
        position: 0,
        provider: "anthropic",
        model: "claude-x",
        apiKey: "sk-ant",
        apiBase: "http://an",
        managed: false,
      },
    ]);
  });

  test("empty attempts -> 502 'Authorization service returned no resolvable provider'", async () => {
    platform.setResolve(route([]));
    const err = await resolveError();
    expect([err.status, err.message]).toEqual([502, NO_RESOLVABLE_PROVIDER]);
  });

  for (const status of [401, 402, 403, 404, 429]) {
    test(`${status} -> ${status} with the platform's string detail, else 'Authorization request rejected'`, async () => {
      platform.queue(
        "resolve",
        { status, body: { detail: `platform says ${status}` } },
        { status, body: { detail: [{ msg: "a list" }] } },
      );
      const first = await resolveError();
      expect([first.status, first.message, first.detail]).toEqual([
        status,
        `platform says ${status}`,
        `platform says ${status}`,
      ]);
      const second = await resolveError();
      expect([second.status, second.message]).toEqual([status, AUTH_REJECTED]);
    });
  }

  test("429 keeps Retry-After", async () => {
    platform.queue("resolve", { status: 429, body: { detail: "slow down" }, headers: { "retry-after": "17" } });
    const err = await resolveError();
    expect(err.status).toBe(429);
    expect(err.headers["Retry-After"]).toBe("17");
  });

  for (const [label, reply] of [
    ["422", { status: 422, body: { detail: [{ msg: "bad" }] } }],
    ["500", { status: 500, body: { detail: "boom" } }],
    ["503", { status: 503 }],
    ["400 (any other status)", { status: 400, body: { detail: "nope" } }],
    ["a 200 that is not JSON", { status: 200, body: undefined }],
    ["a 200 of the wrong shape", { status: 200, body: { attempts: [{ attempt_id: 1 }] } }],
  ] as const) {
    test(`${label} -> 502 'Authorization service unavailable'`, async () => {
      platform.queue("resolve", reply);
      const err = await resolveError();
      expect([err.status, err.message, err.type]).toEqual([502, AUTH_UNAVAILABLE, "upstream_error"]);
    });
  }

  test("a timeout or a network error -> 502 'Authorization service unavailable'", async () => {
    platform.queue("resolve", "hang", "drop");
    const started = performance.now();
    const timedOut = await resolveError();
    expect(performance.now() - started).toBeLessThan(2000);
    expect([timedOut.status, timedOut.message]).toEqual([502, AUTH_UNAVAILABLE]);
    const dropped = await resolveError();
    expect([dropped.status, dropped.message]).toEqual([502, AUTH_UNAVAILABLE]);
    const refused = await createPlatformClient({
      baseUrl: "http://127.0.0.1:1",
      gatewayToken: "g",
      resolveTimeoutMs: 300,
      usageTimeoutMs: 300,
      healthPath: "/h",
    })
      .resolve("t", "openai:x")
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GatewayError);
    expect((refused as GatewayError).message).toBe(AUTH_UNAVAILABLE);
  });
});

describe("mcp-servers/resolve (SPEC §10.2 item 8)", () => {
  test("same headers, ids in the body, servers back; failures fall back to 'MCP server resolution failed'", async () => {
    platform.queue("mcp", {
      status: 200,
      body: {
        servers: [
          { name: "docs", url: "https://mcp.example/sse", authorization_token: "t", allowed_tools: ["search"] },
        ],
      },
    });
    const servers = await client().resolveMcpServers("user-token", ["0b7e5b2c-6c1a-4d1b-9a52-1d2c3e4f5a6b"]);
    expect(servers).toEqual([
      { name: "docs", url: "https://mcp.example/sse", authorization_token: "t", allowed_tools: ["search"] },
    ]);
    const [call] = platform.calls("mcp");
    expect(call?.headers["x-gateway-token"]).toBe("gw-platform-token");
    expect(call?.headers["x-user-token"]).toBe("user-token");
    expect(call?.body).toEqual({ mcp_server_ids: ["0b7e5b2c-6c1a-4d1b-9a52-1d2c3e4f5a6b"] });

    platform.queue("mcp", { status: 500 }, { status: 403, body: { detail: "not yours" } });
    const mcpError = async () => {
      const result = await client()
        .resolveMcpServers("t", [])
        .catch((e: unknown) => e);
      if (!(result instanceof GatewayError)) throw new Error("expected a GatewayError");
      return [result.status, result.message];
    };
    expect(await mcpError()).toEqual([502, MCP_RESOLUTION_FAILED]);
    expect(await mcpError()).toEqual([403, "not yours"]);
  });
});

describe("usage and health", () => {
  test("a usage POST carries the gateway token; 2xx sent, 4xx rejected, 5xx/timeout/network retry", async () => {
    const report = {
      correlation_id: "a1",
      status: "success" as const,
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    };
    platform.queue(
      "usage",
      { status: 204 },
      { status: 401 },
      { status: 404 },
      { status: 409 },
      { status: 422 },
      { status: 302 },
      { status: 500 },
      { status: 503 },
      "hang",
      "drop",
    );
    const results = [];
    for (let i = 0; i < 10; i++) results.push(await client().sendUsage(report));
    expect(results).toEqual([
      "sent",
      "rejected",
      "rejected",
      "rejected",
      "rejected",
      "rejected",
      "retry",
      "retry",
      "retry",
      "retry",
    ]);
    const [call] = platform.calls("usage");
    expect(call?.headers["x-gateway-token"]).toBe("gw-platform-token");
    expect(call?.headers["x-user-token"]).toBeUndefined();
    expect(call?.body).toEqual(report);
  });

  test("reachable iff the health path answers below 500 in time", async () => {
    platform.queue("health", { status: 200 }, { status: 404 }, { status: 500 }, "hang");
    expect(await client().reachable()).toBe(true);
    expect(platform.calls("health")[0]?.path).toBe("/api/v1/utils/health-check/");
    expect(await client().reachable()).toBe(true);
    expect(await client().reachable()).toBe(false);
    expect(await client().reachable()).toBe(false);
    expect(await client({ baseUrl: "http://127.0.0.1:1" }).reachable()).toBe(false);
  });
});
