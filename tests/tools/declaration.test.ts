/**
 * Declaring gateway tools (SPEC §9.1, §13 items 70 and 76): the 400s with the baseline's exact texts (checked after
 * auth and budget, with an error row, before any provider call), what is forwarded untouched, and which sandbox
 * the settings select (`sandbox.embedded` in YAML, the env winning).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testConfig } from "../helpers/app";
import { createSqliteDatabase, type TestDatabase } from "../helpers/db";
import type { TestGateway } from "../helpers/gateway";
import { loadConfig } from "../../src/config/load";
import {
  SANDBOX_NOT_CONFIGURED,
  toolSettingsOf,
  WEB_SEARCH_NOT_CONFIGURED,
} from "../../src/services/inference/tool-loop";
import { type Json, postJson, startToolGateway } from "./_helpers";

let db: TestDatabase;
let gw: TestGateway;
let key: string;

beforeAll(async () => {
  db = await createSqliteDatabase();
  // No sandbox URL, the embedded sandbox switched off in YAML, no search backend.
  gw = await startToolGateway(db, { config: { sandbox: { embedded: false } } });
  key = (await gw.createKey({ user_id: "decl-user" })).key;
});

afterAll(async () => {
  await gw.close();
  await db.drop();
});

/** An MCP server nobody listens on (loopback is allowed by default): opening it is the 502 of an unreachable server. */
const MCP = [{ name: "m", url: "http://127.0.0.1:9/mcp" }];
const chat = (extra: Json) =>
  postJson(gw, "/v1/chat/completions", key, {
    model: "openai:gpt-4o",
    messages: [{ role: "user", content: "hi" }],
    ...extra,
  });

describe("SPEC §9.1 refusals", () => {
  test("exact texts, in the baseline's order; nothing reaches the provider; an error row each", async () => {
    const before = gw.openai.requests.length;
    const cases: [Json, string][] = [
      [{ tools: [{ type: "otari_code_execution" }] }, SANDBOX_NOT_CONFIGURED],
      [{ tools: [{ type: "otari_web_search" }] }, WEB_SEARCH_NOT_CONFIGURED],
      [{ mcp_server_ids: [crypto.randomUUID()] }, "mcp_server_ids is only available in platform mode"],
    ];
    for (const [extra, detail] of cases) {
      const res = await chat(extra);
      expect(res.status).toBe(400);
      expect(res.json.detail).toBe(detail);
    }
    expect(gw.openai.requests.length).toBe(before);
    const rows = await gw.usage("user_id=decl-user&status=error");
    expect(rows.filter((r) => r.status_code === 400).length).toBeGreaterThanOrEqual(cases.length);
  });

  test("the texts of the combination rules and of an unconfigured backend on /v1/messages (Anthropic envelope)", async () => {
    const res = await postJson(gw, "/v1/messages", key, {
      model: "anthropic:claude",
      max_tokens: 10,
      messages: [{ role: "user", content: "hi" }],
      tools: [{ type: "otari_web_search" }],
    });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({
      type: "error",
      error: { type: "invalid_request_error", message: WEB_SEARCH_NOT_CONFIGURED },
    });
  });
});

describe("combination rules with configured backends", () => {
  let gw2: TestGateway;
  let key2: string;
  beforeAll(async () => {
    gw2 = await startToolGateway(db, {
      env: { GATEWAY_SANDBOX_URL: "http://127.0.0.1:9", GATEWAY_WEB_SEARCH_URL: "http://127.0.0.1:9" },
    });
    key2 = (await gw2.createKey({ user_id: "decl-user-2" })).key;
  });
  afterAll(async () => {
    await gw2.close();
  });
  const post = (extra: Json) => postJson(gw2, "/v1/responses", key2, { model: "openai:gpt-4o", input: "hi", ...extra });

  test("code + mcp_servers, web + code, web + mcp_servers are no longer refused: every source is opened", async () => {
    // Each backend listens nowhere, so the request gets as far as opening its sources; the first that fails to open
    // (in source order) fails it. Web search opens no connection before its first search.
    const sandbox = "code_execution sandbox unreachable — check GATEWAY_SANDBOX_URL";
    const cases: [Json, string][] = [
      [{ tools: [{ type: "otari_code_execution" }], mcp_servers: MCP }, sandbox],
      [{ tools: [{ type: "otari_code_execution" }, { type: "otari_web_search" }] }, sandbox],
      [{ tools: [{ type: "otari_web_search" }], mcp_servers: MCP }, "MCP server 'm' unreachable"],
      [{ mcp_servers: MCP }, "MCP server 'm' unreachable"],
    ];
    for (const [extra, detail] of cases) {
      const res = await post(extra);
      expect(res.status).toBe(502);
      expect(String(res.json.detail)).toStartWith(detail);
    }
  });
});

describe("forwarded untouched (SPEC §13 item 76)", () => {
  test("code_execution, web_search, code_interpreter, web_search_20250305 and function tools go to the provider as sent", async () => {
    const tools = [
      { type: "code_execution" },
      { type: "web_search" },
      { type: "code_interpreter", container: { type: "auto" } },
      { type: "web_search_20250305", name: "web_search", max_uses: 2 },
      { type: "function", function: { name: "f", parameters: { type: "object" } } },
    ];
    const res = await chat({ tools });
    expect(res.status).toBe(200);
    expect(((gw.openai.requests.at(-1)?.body ?? {}) as Json).tools).toEqual(tools);
  });
});

describe("which sandbox (SPEC §9.1, §9.4a)", () => {
  test("sandbox.embedded from YAML unless GATEWAY_SANDBOX_EMBEDDED is set", () => {
    expect(toolSettingsOf(testConfig()).sandboxEmbedded).toBe(true);
    expect(toolSettingsOf(testConfig({ sandbox: { embedded: false } })).sandboxEmbedded).toBe(false);
    const envWins = loadConfig({
      env: { GATEWAY_SANDBOX_EMBEDDED: "true" },
      cwd: "/nonexistent-dir-for-tests",
      flags: { sandbox: { embedded: false } },
    });
    expect(toolSettingsOf(envWins).sandboxEmbedded).toBe(true);
    const envOff = loadConfig({
      env: { OTARI_SANDBOX_EMBEDDED: "false" },
      cwd: "/nonexistent-dir-for-tests",
      flags: {},
    });
    expect(toolSettingsOf(envOff).sandboxEmbedded).toBe(false);
  });
});
