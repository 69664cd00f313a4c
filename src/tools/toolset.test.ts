/**
 * ToolSet: a request's tool sources (built-in backends and MCP servers) opened together, offered as one list, each
 * call dispatched to the source that offered its name, all closed at the end; a source that fails to open closes
 * the others.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { type McpFixture, startMcpServer, text, tool } from "./mcp/fixtures/mcp-server";
import { McpTools } from "./mcp/index";
import { builtinSource, ToolSet } from "./toolset";
import {
  TOOL_DEFINITIONS,
  type ToolBackend,
  ToolBackendUnreachable,
  type ToolName,
  type ToolSession,
  type ToolSource,
} from "./types";

/** A backend whose sessions answer `<tool>: <args JSON>` and record what happened to them. */
function recordingBackend(name: ToolName, log: string[], fail = false): ToolBackend {
  return {
    name,
    async openSession(options) {
      if (fail) throw new ToolBackendUnreachable(name, "refused");
      log.push(`open ${name} ${options?.purposeHint ?? ""}`.trim());
      const session: ToolSession = {
        run: async (args) => `${name}: ${JSON.stringify(args)}`,
        close: async () => {
          log.push(`close ${name}`);
        },
      };
      return session;
    },
    shutdown: async () => undefined,
  };
}

const fixtures: McpFixture[] = [];
afterEach(() => {
  for (const f of fixtures.splice(0)) f.stop();
});

describe("ToolSet", () => {
  test("built-in backends and MCP servers together: one list, one set of hints, calls dispatched by name", async () => {
    const log: string[] = [];
    const server = startMcpServer({
      tools: [{ tool: tool("lookup", "Look a word up"), run: (a) => text(`found ${String(a.word)}`) }],
    });
    fixtures.push(server);
    const mcp = new McpTools({ mcpAllowLoopback: true, mcpAllowPrivateHosts: false });
    const servers = await mcp.check([{ name: "dict", url: server.url, purpose_hint: "look words up" }]);
    const set = await ToolSet.open([
      builtinSource(recordingBackend("code_execution", log), { purposeHint: "py" }, "run Python"),
      builtinSource(recordingBackend("web_search", log), {}, "search the web"),
      () => mcp.open(servers, { reserved: new Set(["code_execution", "web_search"]) }),
    ]);
    expect(set.definitions.map((d) => d.name)).toEqual(["code_execution", "web_search", "dict__lookup"]);
    expect(set.definitions[0]).toBe(TOOL_DEFINITIONS.code_execution);
    expect(set.hints).toEqual([
      { name: "code_execution", hint: "run Python" },
      { name: "web_search", hint: "search the web" },
      { name: "dict", hint: "look words up" },
    ]);
    expect(set.owns("dict__lookup")).toBe(true);
    expect(set.owns("lookup")).toBe(false);
    expect(set.kindOf("dict__lookup")).toBe("mcp");
    expect(set.kindOf("web_search")).toBe("web_search");
    expect(set.kindOf("client_function")).toBeUndefined();
    expect(await set.call("code_execution", { code: "1+1" })).toBe('code_execution: {"code":"1+1"}');
    expect(await set.call("dict__lookup", { word: "gateway" })).toBe("found gateway");
    await expect(set.call("client_function", {})).rejects.toThrow("no gateway tool is named 'client_function'");
    await set.close();
    await set.close();
    expect(log).toEqual(["open code_execution py", "open web_search", "close code_execution", "close web_search"]);
    expect(server.deleted).toEqual(server.opened);
  });

  test("a source that fails to open: the others are closed and its failure is thrown", async () => {
    const log: string[] = [];
    const err = await ToolSet.open([
      builtinSource(recordingBackend("code_execution", log), {}, "x"),
      builtinSource(recordingBackend("web_search", log, true), {}, "y"),
    ]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolBackendUnreachable);
    expect(log).toEqual(["open code_execution", "close code_execution"]);
  });

  test("two sources offering one name is refused (and both are closed)", async () => {
    const log: string[] = [];
    const err = await ToolSet.open([
      builtinSource(recordingBackend("web_search", log), {}, "x"),
      builtinSource(recordingBackend("web_search", log), {}, "y"),
    ]).catch((e: unknown) => e);
    expect((err as Error).message).toBe("two tool sources offer 'web_search'");
    expect(log.filter((l) => l.startsWith("close"))).toHaveLength(2);
  });

  test("an aborted call ends at once with the signal's reason, even for a source that does not watch it", async () => {
    const stuck: ToolSource = {
      kind: "code_execution",
      tools: [TOOL_DEFINITIONS.code_execution],
      hints: [],
      call: () => new Promise(() => undefined),
      close: async () => undefined,
    };
    const set = await ToolSet.open([async () => stuck]);
    const controller = new AbortController();
    const reason = new Error("client left");
    setTimeout(() => controller.abort(reason), 20);
    await expect(set.call("code_execution", {}, controller.signal)).rejects.toBe(reason);
  });
});
