/** The tools' public face: which backend the settings select, the injected definitions and the purpose hints. */
import { describe, expect, test } from "bun:test";
import {
  createToolBackends,
  DEFAULT_PURPOSE_HINTS,
  EmbeddedSandbox,
  GATEWAY_TOOL_TYPES,
  McpTools,
  RemoteSandbox,
  renderPurposeBlock,
  resolvePurposeHint,
  TOOL_DEFINITIONS,
  ToolBackendUnreachable,
  type ToolSettings,
  UNREACHABLE_MESSAGES,
  WebSearch,
} from "./index";

const base: ToolSettings = {
  sandboxUrl: null,
  sandboxEmbedded: true,
  sandboxTimeoutS: 30,
  sandboxMemoryMb: 256,
  sandboxQueueTimeoutS: 30,
  sandboxRequireConfinement: true,
  webSearchUrl: null,
  webSearchEngines: null,
  webSearchMaxResults: null,
  webSearchExtract: null,
  webSearchAllowPrivateHosts: false,
  mcpAllowLoopback: true,
  mcpAllowPrivateHosts: false,
};

describe("createToolBackends", () => {
  test("code_execution: embedded by default (nothing started), remote with a URL, none when embedded is off", async () => {
    const embedded = createToolBackends(base);
    expect(embedded.code_execution).toBeInstanceOf(EmbeddedSandbox);
    expect((embedded.code_execution as EmbeddedSandbox).workers.size).toBe(0);
    expect(embedded.web_search).toBeNull();
    await embedded.shutdown();
    expect(createToolBackends({ ...base, sandboxUrl: "http://sandbox:8080" }).code_execution).toBeInstanceOf(
      RemoteSandbox,
    );
    expect(
      createToolBackends({ ...base, sandboxUrl: "http://sandbox:8080", sandboxEmbedded: false }).code_execution,
    ).toBeInstanceOf(RemoteSandbox);
    expect(createToolBackends({ ...base, sandboxEmbedded: false }).code_execution).toBeNull();
  });

  test("web_search with a URL; an invalid max results is warned about once", () => {
    const warnings: string[] = [];
    const tools = createToolBackends(
      { ...base, webSearchUrl: "http://searx:8888/", webSearchMaxResults: "lots" },
      (m) => warnings.push(m),
    );
    expect(tools.web_search).toBeInstanceOf(WebSearch);
    expect((tools.web_search as WebSearch).options.maxResults).toBe(5);
    expect((tools.web_search as WebSearch).options.baseUrl).toBe("http://searx:8888");
    expect(warnings).toHaveLength(1);
  });

  test("mcp: always there, with the settings' URL rules (a loopback server refused when loopback is off)", async () => {
    expect(createToolBackends(base).mcp).toBeInstanceOf(McpTools);
    const strict = createToolBackends({ ...base, mcpAllowLoopback: false }).mcp;
    await expect(strict.check([{ name: "local", url: "http://127.0.0.1:9/mcp" }])).rejects.toThrow("loopback");
    expect(await createToolBackends(base).mcp.check([{ name: "local", url: "http://127.0.0.1:9/mcp" }])).toHaveLength(
      1,
    );
  });
});

describe("contract pieces", () => {
  test("gateway tool types and the function definitions injected for the model", () => {
    expect(GATEWAY_TOOL_TYPES).toEqual({ otari_code_execution: "code_execution", otari_web_search: "web_search" });
    expect(TOOL_DEFINITIONS.code_execution.parameters).toMatchObject({
      type: "object",
      properties: { code: { type: "string" } },
      required: ["code"],
    });
    expect(TOOL_DEFINITIONS.web_search.parameters).toMatchObject({
      type: "object",
      properties: { query: { type: "string" } },
      required: ["query"],
    });
  });

  test("ToolBackendUnreachable is a 502 GatewayError with the documented exact text", () => {
    const e = new ToolBackendUnreachable("web_search", "connection refused");
    expect(e.status).toBe(502);
    expect(e.message).toBe("web_search backend unreachable — check GATEWAY_WEB_SEARCH_URL");
    expect(e.detail).toBe(e.message);
    expect(UNREACHABLE_MESSAGES.code_execution).toBe("code_execution sandbox unreachable — check GATEWAY_SANDBOX_URL");
  });

  test("purpose hints: entry -> env -> default; header: request -> env -> default", () => {
    const settings = { sandboxPurposeHint: "env code hint", webSearchPurposeHint: null, toolsHeader: null };
    expect(resolvePurposeHint("code_execution", "entry hint", settings)).toBe("entry hint");
    expect(resolvePurposeHint("code_execution", "  ", settings)).toBe("env code hint");
    expect(resolvePurposeHint("web_search", null, settings)).toBe(DEFAULT_PURPOSE_HINTS.web_search);
    const hints = [
      { name: "code_execution", hint: "run code" },
      { name: "web_search", hint: "search" },
    ];
    expect(renderPurposeBlock(hints, null, settings)).toBe(
      "You have access to the following tools:\n- code_execution: run code\n- web_search: search",
    );
    expect(renderPurposeBlock(hints.slice(0, 1), null, { toolsHeader: "Tools:" })).toBe(
      "Tools:\n- code_execution: run code",
    );
    expect(renderPurposeBlock(hints.slice(0, 1), "Mine:", { toolsHeader: "Tools:" })).toBe(
      "Mine:\n- code_execution: run code",
    );
  });
});
