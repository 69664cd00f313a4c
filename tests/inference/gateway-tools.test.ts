/** Gateway-only fields (SPEC §3.3, §9.1): refused when their feature is unavailable, never forwarded. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createSqliteDatabase, type TestDatabase } from "../helpers/db";
import { startTestGateway, type TestGateway } from "../helpers/gateway";

describe("gateway-only request fields", () => {
  let db: TestDatabase;
  let gw: TestGateway;
  let key: string;
  beforeAll(async () => {
    db = await createSqliteDatabase();
    gw = await startTestGateway(db);
    key = (await gw.createKey({ user_id: "tools-user" })).key;
  });
  afterAll(async () => {
    await gw.close();
    await db.drop();
  });
  const chat = (extra: Record<string, unknown>) =>
    fetch(`${gw.base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "openai:gpt-4o", messages: [{ role: "user", content: "hi" }], ...extra }),
    });

  test("mcp_server_ids in standalone mode is a 400 with an error usage row", async () => {
    const res = await chat({ mcp_server_ids: [crypto.randomUUID()] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toBe("mcp_server_ids is only available in platform mode");
    const rows = await gw.usage("status=error");
    expect(rows.some((r) => r.status_code === 400)).toBe(true);
  });

  test("an unconfigured gateway tool and a refused MCP URL are refused, not forwarded (the tool loop: tests/tools)", async () => {
    const before = gw.openai.requests.length;
    expect((await chat({ tools: [{ type: "otari_web_search" }] })).status).toBe(400);
    expect((await chat({ mcp_servers: [{ name: "m", url: "http://10.0.0.1/mcp" }] })).status).toBe(422);
    expect(gw.openai.requests.length).toBe(before);
  });

  test("tools_header and max_tool_iterations are accepted and stripped before the provider", async () => {
    const res = await chat({ tools_header: "Use tools wisely.", max_tool_iterations: 3 });
    expect(res.status).toBe(200);
    const sent = gw.openai.requests.at(-1)?.body as Record<string, unknown>;
    expect(sent.tools_header).toBeUndefined();
    expect(sent.max_tool_iterations).toBeUndefined();
    expect((await chat({ max_tool_iterations: 26 })).status).toBe(422);
  });
});
