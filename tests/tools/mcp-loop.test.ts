/**
 * MCP servers in the tool loop (docs/behaviour/tools.md#mcp): real MCP servers from the official SDK (Streamable HTTP,
 * in this process) behind the gateway, driven by the official `openai` and `@anthropic-ai/sdk` clients. Tools listed
 * per server and filtered by `allowed_tools`, names unique across servers, each call dispatched to its server, a
 * two-round loop with usage summed and each call priced under `otari:mcp`, a tool error fed back as text, a server
 * going away mid-loop, streams through the loop on the three wires, foreign calls handed back, the cap, MCP servers
 * combined with a built-in tool, the URL rules, and budgets settled exactly; on SQLite and Postgres.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { FixtureTool, McpFixture } from "../../src/tools/mcp/fixtures/mcp-server";
import { startMcpServer, text, tool } from "../../src/tools/mcp/fixtures/mcp-server";
import {
  anthropicClient,
  budgetUser,
  failure,
  openaiClient,
  parseSse,
  price,
  type Row,
  rowTracker,
  waitFor,
} from "../inference/_helpers";
import { DIALECTS, type TestDatabase } from "../helpers/db";
import type { TestGateway } from "../helpers/gateway";
import { type Json, type MockSandbox, postJson, startMockSandbox, startToolGateway, upstreamBodies } from "./_helpers";

/** The mock model calls the first tool offered (no built-in offered) with `{"input": <the user's text>}`. */
const echo: FixtureTool = {
  tool: tool("echo", "Echo the input back", { input: { type: "string" } }),
  run: (args) => text(`echo: ${String(args.input)}`),
};
const hidden: FixtureTool = { tool: tool("hidden", "Never offered"), run: () => text("hidden ran") };
const failing: FixtureTool = {
  tool: tool("fails", "Always fails"),
  run: () => ({ content: [{ type: "text", text: "disk full" }], isError: true }),
};
const search = (label: string): FixtureTool => ({
  tool: tool("search", `Search ${label}`, { input: { type: "string" } }),
  run: (args) => text(`${label} results for ${String(args.input)}`),
});

setDefaultTimeout(30_000);

/** USD per million MCP calls: 0.001 per call. */
const MCP_PRICE = 1000;

describe.each(DIALECTS)("MCP servers in the tool loop ($dialect)", ({ create }) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let sandbox: MockSandbox;
  let docs: McpFixture;
  let key: string;
  let newRows: () => Promise<Row[]>;
  const started: McpFixture[] = [];
  const serve = (...args: Parameters<typeof startMcpServer>) => {
    const s = startMcpServer(...args);
    started.push(s);
    return s;
  };

  beforeAll(async () => {
    db = await create();
    sandbox = startMockSandbox();
    gw = await startToolGateway(db, { sandbox });
    docs = serve({ tools: [echo, hidden, failing], pageSize: 2 });
    key = (await gw.createKey({ user_id: "mcp-user" })).key;
    newRows = rowTracker(gw, "mcp-user");
    await price(gw, "otari:mcp", MCP_PRICE, 0);
    for (const m of ["toolloop-1", "toolloop-2", "toolloop-3", "toolloop-1+foreign"])
      await price(gw, `openai:${m}`, 1, 2);
  });
  afterAll(async () => {
    await gw.close();
    sandbox.stop();
    for (const s of started) s.stop();
    await db.drop();
  });
  beforeEach(async () => {
    gw.openai.reset();
    gw.anthropic.reset();
    sandbox.calls.length = 0;
    docs.calls.length = 0;
    await newRows();
  });

  const DOCS = () => ({
    name: "docs",
    url: docs.url,
    purpose_hint: "look things up in the docs",
    allowed_tools: ["echo"],
  });
  const chatUpstream = () => upstreamBodies(gw.openai.requests, "/v1/chat/completions");

  test("chat JSON (openai SDK): allowed tools offered, a two-round loop, usage summed, calls priced under otari:mcp", async () => {
    const openai = openaiClient(gw, key);
    const { data, response } = await openai.chat.completions
      .create({
        model: "openai:toolloop-2",
        messages: [{ role: "user", content: "hello" }],
        // @ts-expect-error gateway-only field
        mcp_servers: [DOCS()],
      })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe("Tool said: echo: hello");
    expect(data.choices[0]?.finish_reason).toBe("stop");
    expect(data.usage).toEqual({ prompt_tokens: 36, completion_tokens: 15, total_tokens: 51 });
    expect(docs.calls).toEqual(['echo({"input":"hello"})', 'echo({"input":"hello"})']);

    const sent = chatUpstream();
    expect(sent).toHaveLength(3);
    const first = sent[0] as { messages: Json[]; tools: Json[]; mcp_servers?: unknown };
    expect(first.mcp_servers).toBeUndefined();
    expect(first.tools).toEqual([
      {
        type: "function",
        function: {
          name: "docs__echo",
          description: "Echo the input back",
          parameters: { type: "object", properties: { input: { type: "string" } } },
        },
      },
    ]);
    expect(first.messages[0]).toEqual({
      role: "system",
      content: "You have access to the following tools:\n- docs: look things up in the docs",
    });
    const last = sent[2] as { messages: Json[] };
    expect(last.messages.filter((m) => m.role === "tool").map((m) => m.content)).toEqual([
      "echo: hello",
      "echo: hello",
    ]);

    const cost = (36 * 1 + 15 * 2) / 1e6 + 2 * (MCP_PRICE / 1e6);
    expect(Number(response.headers.get("x-gateway-cost-usd"))).toBeCloseTo(cost, 9);
    const rows = await newRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status_code: 200, prompt_tokens: 36, completion_tokens: 15 });
    expect(Number(rows[0]!.cost)).toBeCloseTo(cost, 9);
    // Every session the request opened was ended with its DELETE.
    expect(await waitFor(() => docs.deleted.length === docs.opened.length)).toBe(true);
  });

  test("no purpose_hint: the prompt is left as it is; the same tool on two servers gets two names, each call goes to its owner", async () => {
    const a = serve({ tools: [search("A")] });
    const b = serve({ tools: [search("B")] });
    const res = await postJson(gw, "/v1/chat/completions", key, {
      model: "openai:toolloop-1",
      messages: [{ role: "user", content: "otters" }],
      mcp_servers: [
        { name: "b", url: b.url },
        { name: "a", url: a.url },
      ],
    });
    expect(res.status).toBe(200);
    const first = chatUpstream()[0] as { messages: Json[]; tools: { function: { name: string } }[] };
    expect(first.messages).toEqual([{ role: "user", content: "otters" }]);
    expect(first.tools.map((t) => t.function.name)).toEqual(["b__search", "a__search"]);
    expect(b.calls).toEqual(['search({"input":"otters"})']);
    expect(a.calls).toEqual([]);
    expect((res.json.choices as { message: Json }[])[0]?.message.content).toBe("Tool said: B results for otters");
  });

  test("a client function named like an MCP tool keeps its name; the MCP tool is offered under another", async () => {
    const res = await postJson(gw, "/v1/chat/completions", key, {
      model: "openai:toolloop-1",
      messages: [{ role: "user", content: "x" }],
      tools: [{ type: "function", function: { name: "docs__echo", parameters: { type: "object" } } }],
      mcp_servers: [DOCS()],
    });
    expect(res.status).toBe(200);
    const names = (chatUpstream()[0] as { tools: { function: { name: string } }[] }).tools.map((t) => t.function.name);
    expect(names[0]).toBe("docs__echo");
    expect(names[1]).toMatch(/^docs__echo_[0-9a-f]{8}$/);
    // The model called the client's own function (the first offered): handed back, nothing ran on the server.
    expect(docs.calls).toEqual([]);
  });

  test("allowed_tools naming no tool the server has: nothing offered, and no empty `tools` sent upstream", async () => {
    const res = await postJson(gw, "/v1/chat/completions", key, {
      model: "openai:toolloop-1",
      messages: [{ role: "user", content: "x" }],
      mcp_servers: [{ name: "docs", url: docs.url, allowed_tools: ["no_such_tool"] }],
    });
    expect(res.status).toBe(200);
    expect(chatUpstream()[0]).not.toHaveProperty("tools");
    expect(docs.calls).toEqual([]);
  });

  test("a tool error is fed back to the model as text, and the loop goes on", async () => {
    const res = await postJson(gw, "/v1/chat/completions", key, {
      model: "openai:toolloop-1",
      messages: [{ role: "user", content: "x" }],
      mcp_servers: [{ name: "docs", url: docs.url, allowed_tools: ["fails"] }],
    });
    expect(res.status).toBe(200);
    expect((res.json.choices as { message: Json }[])[0]?.message.content).toBe("Tool said: [tool error] disk full");
  });

  test("the server going away mid-loop: the calls become tool errors, the answer comes, the budget settles exactly", async () => {
    let server: McpFixture | null = null;
    const dying: FixtureTool = {
      tool: tool("dying", "Dies while answering"),
      run: async (_args, _signal, notify) => {
        await notify("working on it");
        setTimeout(() => server?.stop(), 50);
        return new Promise(() => undefined);
      },
    };
    server = serve({ tools: [dying] });
    const userId = `mcp-gone-${crypto.randomUUID().slice(0, 6)}`;
    const { key: budgeted } = await budgetUser(gw, userId, 10);
    const res = await postJson(gw, "/v1/chat/completions", budgeted, {
      model: "openai:toolloop-2",
      messages: [{ role: "user", content: "x" }],
      mcp_servers: [{ name: "fx", url: server.url }],
    });
    expect(res.status).toBe(200);
    const tools = (chatUpstream()[2] as { messages: Json[] }).messages.filter((m) => m.role === "tool");
    expect(String(tools[0]?.content)).toStartWith("[tool error] MCP server 'fx', tool 'dying': the server went away");
    expect(String(tools[1]?.content)).toStartWith("[tool error] MCP server 'fx', tool 'dying': ");
    const cost = (36 * 1 + 15 * 2) / 1e6 + 2 * (MCP_PRICE / 1e6);
    expect(Number(res.headers.get("x-gateway-cost-usd"))).toBeCloseTo(cost, 9);
    let user: Json = {};
    expect(
      await waitFor(async () => {
        user = await gw.admin<Json>("GET", `/v1/users/${userId}`);
        return user.reserved === 0;
      }),
    ).toBe(true);
    expect(Number(user.spend)).toBeCloseTo(cost, 9);
  });

  test("an MCP server that cannot be opened is a 502 before any model call, with an error row", async () => {
    const res = await postJson(gw, "/v1/chat/completions", key, {
      model: "openai:toolloop-1",
      messages: [{ role: "user", content: "x" }],
      mcp_servers: [DOCS(), { name: "gone", url: "http://127.0.0.1:9/mcp" }],
    });
    expect(res.status).toBe(502);
    expect(String(res.json.detail)).toStartWith("MCP server 'gone' unreachable: ");
    expect(chatUpstream()).toHaveLength(0);
    expect((await newRows()).map((r) => r.status_code)).toEqual([502]);
    // The server that did open was closed again.
    expect(await waitFor(() => docs.deleted.length === docs.opened.length)).toBe(true);
  });

  test("chat stream (openai SDK) through a two-round loop: one completion, usage summed", async () => {
    const openai = openaiClient(gw, key);
    const stream = await openai.chat.completions.create({
      model: "openai:toolloop-2",
      messages: [{ role: "user", content: "streamed" }],
      stream: true,
      stream_options: { include_usage: true },
      // Gateway-only field, unknown to the SDK's types.
      ...({ mcp_servers: [DOCS()] } as object),
    });
    let content = "";
    const finishes: string[] = [];
    let usage: unknown = null;
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta.content ?? "";
      if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
      if (chunk.usage) usage = chunk.usage;
    }
    // Each round's text is forwarded as it arrives; the answer ends the one completion.
    expect(content).toEndWith("Tool said: echo: streamed");
    expect(finishes).toEqual(["stop"]);
    expect(usage).toMatchObject({ prompt_tokens: 36, completion_tokens: 9 });
    expect(docs.calls).toHaveLength(2);
    const rows = await newRows();
    expect(rows).toHaveLength(1);
    expect(Number(rows[0]!.cost)).toBeCloseTo((36 + 9 * 2) / 1e6 + 2 * (MCP_PRICE / 1e6), 9);
  });

  test("messages (anthropic SDK), JSON and stream", async () => {
    const anthropic = anthropicClient(gw, key);
    const body = {
      model: "anthropic:toolloop-1",
      max_tokens: 50,
      messages: [{ role: "user" as const, content: "from claude" }],
      mcp_servers: [DOCS()],
    };
    const msg = await anthropic.messages.create(body as Parameters<typeof anthropic.messages.create>[0]);
    expect("content" in msg && msg.content[0]).toMatchObject({ type: "text", text: "Tool said: echo: from claude" });
    const sent = upstreamBodies(gw.anthropic.requests, "/v1/messages")[0] as { tools: Json[]; system: unknown };
    expect(sent.tools).toEqual([
      {
        name: "docs__echo",
        description: "Echo the input back",
        input_schema: { type: "object", properties: { input: { type: "string" } } },
      },
    ]);
    expect(sent.system).toBe("You have access to the following tools:\n- docs: look things up in the docs");

    const stream = anthropic.messages.stream(body as Parameters<typeof anthropic.messages.stream>[0]);
    const final = await stream.finalMessage();
    expect(final.content.filter((b) => b.type === "text").map((b) => (b as { text: string }).text)).toContain(
      "Tool said: echo: from claude",
    );
    expect(final.stop_reason).toBe("end_turn");
    expect(docs.calls).toHaveLength(2);
  });

  test("responses (openai SDK), JSON and a raw stream", async () => {
    const openai = openaiClient(gw, key);
    const res = await openai.responses.create({
      model: "openai:toolloop-1",
      input: "via responses",
      // @ts-expect-error gateway-only field
      mcp_servers: [DOCS()],
    });
    expect(res.output_text).toBe("Tool said: echo: via responses");
    const sent = upstreamBodies(gw.openai.requests, "/v1/responses")[0] as { tools: Json[]; instructions: string };
    expect(sent.tools).toEqual([
      {
        type: "function",
        name: "docs__echo",
        description: "Echo the input back",
        parameters: { type: "object", properties: { input: { type: "string" } } },
      },
    ]);
    const raw = await fetch(`${gw.base}/v1/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "openai:toolloop-1", input: "raw", stream: true, mcp_servers: [DOCS()] }),
    });
    const { events } = parseSse(await raw.text());
    expect(events.filter((e) => e.event === "response.completed")).toHaveLength(1);
    expect(docs.calls).toEqual(['echo({"input":"via responses"})', 'echo({"input":"raw"})']);
  });

  test("foreign calls are handed back: the MCP call runs, the client sees only its own", async () => {
    // The model calls the MCP tool (the first offered) and the client's `get_weather` in the same turn.
    const res = await postJson(gw, "/v1/chat/completions", key, {
      model: "openai:toolloop-1+foreign",
      messages: [{ role: "user", content: "x" }],
      mcp_servers: [DOCS()],
    });
    expect(res.status).toBe(200);
    const choice = (res.json.choices as { message: { tool_calls: { function: { name: string } }[] } }[])[0]!;
    expect(choice.message.tool_calls.map((c) => c.function.name)).toEqual(["get_weather"]);
    expect(docs.calls).toEqual(['echo({"input":"x"})']);
    expect(chatUpstream()).toHaveLength(1);
    const [row] = await newRows();
    expect(Number(row!.cost)).toBeCloseTo((12 + 5 * 2) / 1e6 + MCP_PRICE / 1e6, 9);
  });

  test("the loop cap: 422 Exceeded max_tool_iterations, with an error row", async () => {
    const res = await postJson(gw, "/v1/chat/completions", key, {
      model: "openai:toolloop-3",
      messages: [{ role: "user", content: "x" }],
      max_tool_iterations: 2,
      mcp_servers: [DOCS()],
    });
    expect(res.status).toBe(422);
    expect(res.json.detail).toBe("Exceeded max_tool_iterations=2");
    // Round 1's call ran; round 2 asked for another, past the cap.
    expect(docs.calls).toHaveLength(1);
    expect((await newRows()).map((r) => r.status_code)).toEqual([422]);
  });

  test("combined with otari_code_execution: both offered, each call to its own backend, each priced as its kind", async () => {
    await price(gw, "otari:code_execution", 2000, 0);
    const res = await postJson(gw, "/v1/chat/completions", key, {
      model: "openai:toolloop-1",
      messages: [{ role: "user", content: "print(1)" }],
      tools: [{ type: "otari_code_execution" }],
      mcp_servers: [DOCS()],
    });
    expect(res.status).toBe(200);
    const first = chatUpstream()[0] as { tools: { function: { name: string } }[]; messages: Json[] };
    expect(first.tools.map((t) => t.function.name)).toEqual(["code_execution", "docs__echo"]);
    expect(first.messages[0]?.content).toBe(
      "You have access to the following tools:\n- code_execution: run Python code for calculations, data processing and checking your reasoning\n- docs: look things up in the docs",
    );
    // The mock prefers code_execution: the sandbox ran it, the MCP server did not.
    expect(sandbox.calls.filter((c) => c.path.endsWith("/exec"))).toHaveLength(1);
    expect(docs.calls).toEqual([]);
    const rows = await newRows();
    expect(Number(rows[0]!.cost)).toBeCloseTo((24 * 1 + 10 * 2) / 1e6 + 2000 / 1e6, 9);
  });

  test("URL rules: each refusal is a 422 naming the rule, before anything connects, with an error row", async () => {
    const cases: [Json, string][] = [
      [{ name: "p", url: "http://10.1.2.3/mcp" }, "host '10.1.2.3' is private (RFC 1918)"],
      [{ name: "m", url: "http://169.254.169.254/latest" }, "link-local"],
      [{ name: "t", url: `${docs.url}`, authorization_token: "secret" }, "plain http is refused"],
      [{ name: "f", url: "file:///etc/passwd" }, "only http and https"],
      [{ name: "u", url: "https://no-such-host.invalid/mcp" }, "does not resolve"],
    ];
    const before = docs.requests.length;
    for (const [server, reason] of cases) {
      const res = await postJson(gw, "/v1/chat/completions", key, {
        model: "openai:toolloop-1",
        messages: [{ role: "user", content: "x" }],
        mcp_servers: [server],
      });
      expect(res.status).toBe(422);
      expect(JSON.stringify(res.json)).toContain(reason);
      expect(JSON.stringify(res.json)).not.toContain("secret");
    }
    expect(docs.requests.length).toBe(before);
    expect(chatUpstream()).toHaveLength(0);
    expect((await newRows()).map((r) => r.status_code)).toEqual(cases.map(() => 422));
  });

  test("an exhausted budget is refused before any MCP server is opened", async () => {
    const { key: poor } = await budgetUser(gw, `mcp-poor-${crypto.randomUUID().slice(0, 6)}`, 0);
    const before = docs.requests.length;
    const err = await failure(
      openaiClient(gw, poor).chat.completions.create({
        model: "openai:toolloop-1",
        messages: [{ role: "user", content: "x" }],
        // @ts-expect-error gateway-only field
        mcp_servers: [DOCS()],
      }),
    );
    expect((err as { status: number }).status).toBe(403);
    expect(docs.requests.length).toBe(before);
  });
});

describe("GATEWAY_MCP_ALLOW_LOOPBACK=false", () => {
  test("a loopback MCP server is refused with 422 naming the variable", async () => {
    const db = await DIALECTS[0]!.create();
    const gw = await startToolGateway(db, { env: { GATEWAY_MCP_ALLOW_LOOPBACK: "false" } });
    const server = startMcpServer({ tools: [echo] });
    try {
      const key = (await gw.createKey({ user_id: "mcp-strict" })).key;
      const res = await postJson(gw, "/v1/chat/completions", key, {
        model: "openai:toolloop-1",
        messages: [{ role: "user", content: "x" }],
        mcp_servers: [{ name: "local", url: server.url }],
      });
      expect(res.status).toBe(422);
      expect(JSON.stringify(res.json)).toContain("GATEWAY_MCP_ALLOW_LOOPBACK=false");
      expect(server.requests).toEqual([]);
    } finally {
      server.stop();
      await gw.close();
      await db.drop();
    }
  });
});
