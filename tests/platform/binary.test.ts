/**
 * The compiled binary in platform mode (SPEC §10.1, §13 items 63-64): `serve` with OTARI_AI_TOKEN starts without a
 * database (nothing written to its working directory), serves a request resolved by the mock platform, and
 * flushes usage reports queued while the platform's usage endpoint was down when it gets SIGTERM.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { startOpenAIMock } from "../../src/providers/_mocks";
import type { UsageReport } from "../../src/services/platform/client";
import { ensureBinary, http, run, startServe, stopAll, tempDir } from "../e2e/_gateway";
import { attempt, route, startPlatformMock } from "../helpers/platform-mock";

const platform = startPlatformMock();
const openai = startOpenAIMock();

beforeAll(ensureBinary, 180_000);
afterAll(async () => {
  await stopAll();
  await Promise.all([platform.stop(), openai.stop()]);
});

describe("dist/gateway in platform mode", () => {
  test("starts with OTARI_AI_TOKEN and no database; serves, reports usage, flushes the queue on SIGTERM", async () => {
    const cwd = tempDir("gw-platform-");
    const served = await startServe([], {
      cwd,
      env: { OTARI_AI_TOKEN: "gw-binary-token", PLATFORM_BASE_URL: platform.baseUrl, OTARI_LOG_FORMAT: "pretty" },
    });
    expect(served.output()).toContain("Database: disabled (platform mode)");
    expect(served.output()).not.toMatch(/master key|bootstrap|migrat/i);

    expect(await http(`${served.url}/health`)).toEqual({
      status: 200,
      json: { status: "healthy", mode: "platform", platform_reachable: "yes" },
    });
    const keys = await http(`${served.url}/v1/keys`, { token: "anything" });
    expect(keys.status).toBe(404);
    expect(keys.json).toMatchObject({
      detail: "This endpoint is not available in platform mode. Manage this resource via the platform UI.",
    });

    platform.setResolve(route([attempt("bin-1", openai.apiBase)], "req-bin"));
    const body = { model: "openai:gpt-4o-mini", messages: [{ role: "user", content: "hi" }] };
    const res = await fetch(`${served.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer caller-1", "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-correlation-id")).toBe("bin-1");
    expect(res.headers.get("x-otari-request-id")).toBe("req-bin");
    await res.json();
    const [report] = await platform.waitFor("usage", 1);
    expect(report?.body).toMatchObject({ correlation_id: "bin-1", status: "success" });
    expect(report?.headers["x-gateway-token"]).toBe("gw-binary-token");
    expect(platform.calls("resolve")[0]?.headers["x-user-token"]).toBe("caller-1");

    // The usage endpoint goes down: the next report fails its quick tries and waits in the queue...
    platform.setDefault("usage", { status: 503 });
    platform.setResolve(route([attempt("bin-2", openai.apiBase)], "req-bin-2"));
    const second = await fetch(`${served.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer caller-1", "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(second.status).toBe(200);
    await platform.waitFor("usage", 4); // 1 delivered + 3 quick tries
    // ...it comes back, and SIGTERM flushes what is queued before the process exits.
    platform.setDefault("usage", { status: 204 });
    expect(await served.stop()).toBe(0);
    const delivered = platform
      .calls("usage")
      .slice(4)
      .map((c) => c.body as UsageReport);
    expect(delivered).toContainEqual(expect.objectContaining({ correlation_id: "bin-2", status: "success" }));
    expect(readdirSync(cwd)).toEqual([]);
  }, 60_000);

  test("mode: platform without a token fails start-up with the exact message", async () => {
    const result = await run(["serve", "--port", "0"], { cwd: tempDir(), env: { GATEWAY_MODE: "platform" } });
    expect(result.code).toBe(1);
    expect(result.stderr + result.stdout).toContain(
      "GATEWAY_MODE=platform requires OTARI_AI_TOKEN to be set (legacy aliases: OTARI_PLATFORM_TOKEN, ANY_LLM_PLATFORM_TOKEN).",
    );
  });
});
