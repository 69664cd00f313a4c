/**
 * The MCP backend against real MCP servers (the official SDK's server, Streamable HTTP, in this process): tools
 * listed over several pages and filtered, names unique across servers, calls and their results, tool errors and
 * protocol errors as `[tool error]` texts, a server that goes away (no hang), a slow tool (timeout, the server told to
 * cancel), the bearer token, sessions DELETEd at the end, and the connection pinned to the checked address.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { GatewayError } from "../../core/errors";
import type { ToolSource } from "../types";
import { type FixtureTool, type McpFixture, startMcpServer, text, tool } from "./fixtures/mcp-server";
import { McpServerUnreachable, McpTools } from "./index";
import type { CheckedMcpServer } from "./policy";
import { openMcpSource } from "./session";

const servers: McpFixture[] = [];
const sources: ToolSource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.close()));
  for (const s of servers.splice(0)) s.stop();
});

const serve = (...args: Parameters<typeof startMcpServer>) => {
  const s = startMcpServer(...args);
  servers.push(s);
  return s;
};

const settings = { mcpAllowLoopback: true, mcpAllowPrivateHosts: false };
const timeouts = { connectMs: 10_000, callMs: 20_000, closeMs: 5_000 };

async function open(mcp: McpTools, entries: Parameters<McpTools["check"]>[0]): Promise<ToolSource> {
  const source = await mcp.open(await mcp.check(entries));
  sources.push(source);
  return source;
}

const echo: FixtureTool = {
  tool: tool("echo", "Echo the text back", { text: { type: "string" } }),
  run: (args) => text(`echo: ${String(args.text)}`),
};
const search = (label: string): FixtureTool => ({
  tool: tool("search", `Search ${label}`, { q: { type: "string" } }),
  run: (args) => text(`${label} results for ${String(args.q)}`),
});
const numbered = (n: number): FixtureTool[] =>
  Array.from({ length: n }, (_, i) => ({ tool: tool(`t${i}`, `tool ${i}`), run: () => text(`t${i} ran`) }));

describe("listing", () => {
  test("every page of tools/list, offered as `<server>__<tool>` with description and input schema", async () => {
    const server = serve({ tools: [echo, ...numbered(4)], pageSize: 2 });
    const source = await open(new McpTools(settings, { timeouts }), [
      { name: "fx", url: server.url, purpose_hint: "use fx for echoes" },
    ]);
    expect(source.kind).toBe("mcp");
    expect(source.tools.map((t) => t.name)).toEqual(["fx__echo", "fx__t0", "fx__t1", "fx__t2", "fx__t3"]);
    expect(source.tools[0]).toEqual({
      name: "fx__echo",
      description: "Echo the text back",
      parameters: { type: "object", properties: { text: { type: "string" } } },
    });
    expect(source.hints).toEqual([{ name: "fx", hint: "use fx for echoes" }]);
    expect(await source.call("fx__t3", {})).toBe("t3 ran");
  });

  test("allowed_tools keeps only the named tools (names the server does not have are ignored)", async () => {
    const server = serve({ tools: [echo, ...numbered(3)] });
    const source = await open(new McpTools(settings, { timeouts }), [
      { name: "fx", url: server.url, allowed_tools: ["t2", "echo", "missing"] },
    ]);
    expect(source.tools.map((t) => t.name)).toEqual(["fx__echo", "fx__t2"]);
    expect(source.hints).toEqual([]);
  });

  test("two servers with the same tool name: two offered names, each call reaches its own server", async () => {
    const a = serve({ tools: [search("alpha")] });
    const b = serve({ tools: [search("beta"), echo] });
    const source = await open(new McpTools(settings, { timeouts }), [
      { name: "alpha", url: a.url },
      { name: "beta", url: b.url },
    ]);
    expect(source.tools.map((t) => t.name)).toEqual(["alpha__search", "beta__search", "beta__echo"]);
    expect(await source.call("beta__search", { q: "cats" })).toBe("beta results for cats");
    expect(await source.call("alpha__search", { q: "dogs" })).toBe("alpha results for dogs");
    expect(a.calls).toEqual(['search({"q":"dogs"})']);
    expect(b.calls).toEqual(['search({"q":"cats"})']);
  });

  test("reserved names (built-in tools, the client's functions) are not taken", async () => {
    const server = serve({ tools: [echo] });
    const mcp = new McpTools(settings, { timeouts });
    const source = await mcp.open(await mcp.check([{ name: "fx", url: server.url }]), {
      reserved: new Set(["fx__echo"]),
    });
    sources.push(source);
    const [name] = source.tools.map((t) => t.name);
    expect(name).toMatch(/^fx__echo_[0-9a-f]{8}$/);
    expect(await source.call(name!, { text: "hi" })).toBe("echo: hi");
  });
});

describe("calls", () => {
  test("a call's text result, over SSE and over JSON responses; arguments that are not an object are {}", async () => {
    for (const jsonResponse of [false, true]) {
      const server = serve({ tools: [echo], jsonResponse });
      const source = await open(new McpTools(settings, { timeouts }), [{ name: "fx", url: server.url }]);
      expect(await source.call("fx__echo", { text: "hello" })).toBe("echo: hello");
      expect(await source.call("fx__echo", "not an object")).toBe("echo: undefined");
      expect(server.calls).toEqual(['echo({"text":"hello"})', "echo({})"]);
    }
  });

  test("a result the server marks isError is a tool error text", async () => {
    const failing: FixtureTool = {
      tool: tool("read"),
      run: () => ({ isError: true, content: [{ type: "text", text: "no such file: /x" }] }),
    };
    const source = await open(new McpTools(settings, { timeouts }), [
      { name: "fx", url: serve({ tools: [failing] }).url },
    ]);
    expect(await source.call("fx__read", {})).toBe("[tool error] no such file: /x");
  });

  test("a protocol error (a JSON-RPC error answer) is a tool error text naming server and tool", async () => {
    const broken: FixtureTool = {
      tool: tool("broken"),
      run: () => {
        throw new Error("handler crashed");
      },
    };
    const source = await open(new McpTools(settings, { timeouts }), [
      { name: "fx", url: serve({ tools: [broken] }).url },
    ]);
    const out = await source.call("fx__broken", {});
    expect(out).toStartWith("[tool error] MCP server 'fx', tool 'broken': MCP error -32603");
    expect(out).toContain("handler crashed");
  });

  test("a slow tool times out as a tool error, and the server is told to cancel it", async () => {
    const slow: FixtureTool = {
      tool: tool("slow"),
      run: (_args, signal) =>
        new Promise((resolve) => {
          const timer = setTimeout(() => resolve(text("too late")), 30_000);
          signal.addEventListener("abort", () => clearTimeout(timer));
        }),
    };
    const server = serve({ tools: [slow, echo] });
    const source = await open(new McpTools(settings, { timeouts: { ...timeouts, callMs: 300 } }), [
      { name: "fx", url: server.url },
    ]);
    expect(await source.call("fx__slow", {})).toBe("[tool error] MCP server 'fx', tool 'slow': no answer within 0.3 s");
    // The session is still usable, and the cancellation reached the server's handler.
    expect(await source.call("fx__echo", { text: "still here" })).toBe("echo: still here");
    expect(server.cancelled).toEqual(["slow"]);
  });

  test("the caller's abort ends a call at once with the caller's reason", async () => {
    const slow: FixtureTool = { tool: tool("slow"), run: () => new Promise(() => undefined) };
    const source = await open(new McpTools(settings, { timeouts }), [
      { name: "fx", url: serve({ tools: [slow] }).url },
    ]);
    const client = new AbortController();
    const reason = new Error("client left");
    setTimeout(() => client.abort(reason), 50);
    await expect(source.call("fx__slow", {}, client.signal)).rejects.toBe(reason);
  });
});

test("no cancellation is sent for requests that have finished (a later abort, the open deadline passing)", async () => {
  const server = serve({ tools: [echo] });
  const source = await open(new McpTools(settings, { timeouts: { ...timeouts, connectMs: 200 } }), [
    { name: "fx", url: server.url },
  ]);
  const client = new AbortController();
  expect(await source.call("fx__echo", { text: "done" }, client.signal)).toBe("echo: done");
  client.abort(new Error("client left later"));
  await Bun.sleep(400);
  expect(await source.call("fx__echo", { text: "again" })).toBe("echo: again");
  expect(server.methods).toEqual(["initialize", "notifications/initialized", "tools/list", "tools/call", "tools/call"]);
});

describe("a server that goes away", () => {
  test("during a call whose answer has started: a tool error at once, not after the call timeout", async () => {
    let server: McpFixture | undefined;
    const dying: FixtureTool = {
      tool: tool("dying"),
      run: async (_args, _signal, notify) => {
        await notify("working on it");
        setTimeout(() => server?.stop(), 100);
        return new Promise(() => undefined);
      },
    };
    server = serve({ tools: [dying] });
    // A call timeout far beyond the test's: only the broken connection can end the call in time.
    const source = await open(new McpTools(settings, { timeouts: { ...timeouts, callMs: 600_000 } }), [
      { name: "fx", url: server.url },
    ]);
    const out = await source.call("fx__dying", {});
    expect(out).toStartWith("[tool error] MCP server 'fx', tool 'dying': the server went away");
  });

  test("between calls: the next call is a tool error, and closing does not hang", async () => {
    const server = serve({ tools: [echo] });
    const source = await open(new McpTools(settings, { timeouts: { ...timeouts, callMs: 600_000 } }), [
      { name: "fx", url: server.url },
    ]);
    expect(await source.call("fx__echo", { text: "1" })).toBe("echo: 1");
    server.stop();
    const out = await source.call("fx__echo", { text: "2" });
    expect(out).toStartWith("[tool error] MCP server 'fx', tool 'echo': ");
    expect(out).toContain("Unable to connect");
    await source.close();
  });
});

describe("sessions", () => {
  test("closed at the end with the session's DELETE; closing twice sends one", async () => {
    const a = serve({ tools: [echo] });
    const b = serve({ tools: [echo] });
    const source = await new McpTools(settings, { timeouts }).open(
      await new McpTools(settings).check([
        { name: "a", url: a.url },
        { name: "b", url: b.url },
      ]),
    );
    expect(a.opened).toHaveLength(1);
    await source.call("a__echo", { text: "x" });
    await source.close();
    await source.close();
    expect(a.deleted).toEqual(a.opened);
    expect(b.deleted).toEqual(b.opened);
    expect(a.requests.filter((r) => r.startsWith("DELETE"))).toHaveLength(1);
    // No standalone GET stream is opened: the gateway asks for no server-initiated messages.
    expect(a.requests.some((r) => r.startsWith("GET"))).toBe(false);
  });

  test("a server that cannot be opened is a 502 naming it, and the servers already open are closed", async () => {
    const good = serve({ tools: [echo] });
    const locked = serve({ tools: [echo], token: "right" });
    const err = await new McpTools(settings, { timeouts })
      .open(
        await new McpTools(settings).check([
          { name: "good", url: good.url },
          { name: "locked", url: locked.url },
        ]),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(McpServerUnreachable);
    expect((err as GatewayError).status).toBe(502);
    expect((err as GatewayError).message).toStartWith("MCP server 'locked' unreachable: HTTP 401");
    expect(good.deleted).toEqual(good.opened);
    expect(good.opened).toHaveLength(1);
  });

  test("a server that does not answer initialize in time is a 502", async () => {
    const silent = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Promise<Response>(() => undefined) });
    try {
      const mcp = new McpTools(settings, { timeouts: { ...timeouts, connectMs: 300 } });
      const err = await mcp
        .open(await mcp.check([{ name: "mute", url: `http://127.0.0.1:${silent.port}/mcp` }]))
        .catch((e: unknown) => e);
      expect((err as GatewayError).message).toBe("MCP server 'mute' unreachable: no answer within 0.3 s");
    } finally {
      silent.stop(true);
    }
  });

  test("an error answer that echoes the token does not carry it into the 502", async () => {
    const echoing = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) => new Response(`bad credentials: ${req.headers.get("authorization")}`, { status: 403 }),
    });
    try {
      const url = `http://127.0.0.1:${echoing.port}/mcp`;
      const checked: CheckedMcpServer = {
        config: { name: "fx", url, authorization_token: "s3cret-token" },
        target: { url: new URL(url), host: "127.0.0.1", address: "127.0.0.1" },
      };
      const err = (await openMcpSource([checked], { timeouts }).catch((e: unknown) => e)) as GatewayError;
      expect(err.message).toBe(
        "MCP server 'fx' unreachable: HTTP 403: Streamable HTTP error: Error POSTing to endpoint: bad credentials: Bearer [token]",
      );
    } finally {
      echoing.stop(true);
    }
  });

  test("the bearer token is sent on every request of the session", async () => {
    const server = serve({ tools: [echo], token: "s3cret" });
    // The URL rules refuse a token over plain http (policy.test.ts); this checks the session itself, so it is given
    // an http server as if it had passed them.
    const checked: CheckedMcpServer = {
      config: { name: "fx", url: server.url, authorization_token: "s3cret" },
      target: { url: new URL(server.url), host: "127.0.0.1", address: "127.0.0.1" },
    };
    const source = await openMcpSource([checked], { timeouts });
    sources.push(source);
    expect(await source.call("fx__echo", { text: "authorized" })).toBe("echo: authorized");
    await source.close();
    expect(server.deleted).toEqual(server.opened);
  });
});

describe("the pinned connection", () => {
  test("a name resolving to an allowed address: one lookup, every request to that address, Host kept", async () => {
    const server = serve({ tools: [echo], hostname: "127.0.0.2" });
    let lookups = 0;
    // A rebinding resolver: the first answer is the server, any later one would be another address.
    const resolve = async () => (lookups++ === 0 ? ["127.0.0.2"] : ["127.0.0.3"]);
    const mcp = new McpTools(settings, { timeouts, resolve });
    const checked = await mcp.check([{ name: "fx", url: `http://mcp.example.test:${server.port}/mcp` }]);
    expect(checked[0]!.target.address).toBe("127.0.0.2");
    const source = await mcp.open(checked);
    sources.push(source);
    expect(await source.call("fx__echo", { text: "pinned" })).toBe("echo: pinned");
    await source.close();
    expect(lookups).toBe(1);
    // The server listens on 127.0.0.2 only; every request (initialize, list, call, DELETE) reached it by name.
    expect(server.requests.length).toBeGreaterThanOrEqual(4);
    expect(new Set(server.requests.map((r) => r.split(" ")[1]))).toEqual(new Set([`mcp.example.test:${server.port}`]));
  });
});

test("a refused URL never reaches the server", async () => {
  const server = serve({ tools: [echo] });
  const mcp = new McpTools({ mcpAllowLoopback: false, mcpAllowPrivateHosts: false }, { timeouts });
  const err = await mcp.check([{ name: "fx", url: server.url }]).catch((e: unknown) => e);
  expect((err as GatewayError).status).toBe(422);
  expect(server.requests).toEqual([]);
});
