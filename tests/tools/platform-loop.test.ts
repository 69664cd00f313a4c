/**
 * The tool loop in platform mode (SPEC §10.2 items 5-6, §13 item 69): chat falls back until an attempt's first
 * model response, then is locked in (a later failure is 502 without trying the next attempt); messages and
 * responses loops use only the first attempt; tool-loop streams wait `streaming_first_chunk_timeout_ms_tool_loop`
 * for their first chunk; one usage report for the attempt that served, with the usage summed over the rounds.
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import type { UsageReport } from "../../src/services/platform/client";
import { parseSse } from "../inference/_helpers";
import { attempt, route } from "../helpers/platform-mock";
import { GATEWAY_TOKEN, startPlatformGateway, USER_TOKEN } from "../platform/_gateway";
import { startMcpServer, text, tool } from "../../src/tools/mcp/fixtures/mcp-server";
import { startMockSandbox } from "./_helpers";

const sandbox = startMockSandbox();
const mcp = startMcpServer({
  tools: [
    { tool: tool("echo", "Echo the input back"), run: (a) => text(`echo: ${String(a.input)}`) },
    { tool: tool("hidden"), run: () => text("never offered") },
  ],
});
// The ordinary first-chunk timeout is 400 ms here (STREAMING_FALLBACK_FIRST_CHUNK_TIMEOUT_MS in the helper).
const t = startPlatformGateway({ PLATFORM_USAGE_TIMEOUT_MS: "300", GATEWAY_SANDBOX_URL: sandbox.url });
afterAll(async () => {
  await t.close();
  sandbox.stop();
  mcp.stop();
});
beforeEach(() => {
  t.platform.reset();
  t.openai.reset();
  t.anthropic.reset();
  sandbox.calls.length = 0;
});

const TOOLS = [{ type: "otari_code_execution" }];
const oai = (id: string, model: string) => attempt(id, t.openai.apiBase, { model });
const ant = (id: string, model: string) => attempt(id, t.anthropic.apiBase, { model, provider: "anthropic" });

async function reports(n: number): Promise<UsageReport[]> {
  await t.platform.waitFor("usage", n);
  await Bun.sleep(30);
  return t.platform.calls("usage").map((c) => c.body as UsageReport);
}

const chat = (extra: Record<string, unknown> = {}) => ({
  model: "openai:m",
  messages: [{ role: "user", content: "print(2)" }],
  tools: TOOLS,
  ...extra,
});

describe("chat tool loop on platform attempts", () => {
  test("a failure before the first model response falls through; the report carries the summed usage", async () => {
    t.platform.setResolve(route([oai("p-1", "error-503"), oai("p-2", "toolloop-1")]));
    const res = await t.call("POST", "/v1/chat/completions", { body: chat() });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-correlation-id")).toBe("p-2");
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content).toBe("Tool said: stdout:\nout:print(2)\n");
    const sent = await reports(2);
    expect(sent).toContainEqual({ correlation_id: "p-1", status: "error", error_class: "http_503" });
    expect(sent).toContainEqual({
      correlation_id: "p-2",
      status: "success",
      usage: { prompt_tokens: 24, completion_tokens: 10, total_tokens: 34 },
    });
  });

  test("after the first model response the attempt is locked in: a failure is 502, the next attempt is not tried", async () => {
    t.platform.setResolve(route([oai("l-1", "toolloop-2+failround-2"), oai("l-2", "toolloop-1")]));
    const res = await t.call("POST", "/v1/chat/completions", { body: chat() });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { detail: string }).detail).toBe("LLM provider error");
    expect(t.openai.requests.map((r) => (r.body as { model: string }).model)).toEqual([
      "toolloop-2+failround-2",
      "toolloop-2+failround-2",
    ]);
    expect(sandbox.calls.at(-1)?.method).toBe("DELETE");
  });

  test("a client leaving a JSON loop stops it at once: no model call or sandbox run after, one report with the rounds run", async () => {
    t.platform.setResolve(route([oai("g-1", "toolloop-24+slow-first-byte-100"), oai("g-2", "toolloop-1")]));
    const controller = new AbortController();
    const pending = t
      .call("POST", "/v1/chat/completions", { body: chat(), signal: controller.signal })
      .catch((err: unknown) => err);
    const calls = () => t.openai.requests.length;
    for (let i = 0; i < 400 && calls() < 5; i++) await Bun.sleep(10);
    controller.abort();
    const atAbort = { model: calls(), execs: sandbox.calls.filter((c) => c.path.endsWith("/exec")).length };
    await pending;
    await Bun.sleep(500);
    expect(atAbort.model).toBeGreaterThanOrEqual(5);
    expect(calls()).toBe(atAbort.model);
    expect(sandbox.calls.filter((c) => c.path.endsWith("/exec")).length).toBe(atAbort.execs);
    expect(sandbox.calls.at(-1)?.method).toBe("DELETE");
    // The next attempt is not tried, and the attempt that ran reports the rounds that answered.
    expect(t.openai.requests.every((r) => (r.body as { model: string }).model.startsWith("toolloop-24"))).toBe(true);
    const [report] = await reports(1);
    expect(report?.correlation_id).toBe("g-1");
    expect(report?.status).toBe("success");
    const answered = (report?.usage?.prompt_tokens ?? 0) / 12;
    expect(answered === atAbort.model || answered === atAbort.model - 1).toBe(true);
  });

  test("a loop that fails in the gateway after its attempt answered (the cap): 422, that attempt reported as failed", async () => {
    t.platform.setResolve(route([oai("c-1", "toolloop-99"), oai("c-2", "toolloop-1")]));
    const res = await t.call("POST", "/v1/chat/completions", { body: chat({ max_tool_iterations: 2 }) });
    expect(res.status).toBe(422);
    expect(res.headers.get("x-otari-request-id")).not.toBeNull();
    expect(((await res.json()) as { detail: string }).detail).toBe("Exceeded max_tool_iterations=2");
    expect(await reports(1)).toEqual([{ correlation_id: "c-1", status: "error", error_class: "unknown" }]);
    expect(t.openai.requests.every((r) => (r.body as { model: string }).model === "toolloop-99")).toBe(true);
  });

  test("streams use the tool-loop first-chunk timeout (a 700 ms first byte is not a failover)", async () => {
    t.platform.setResolve(route([oai("s-1", "toolloop-1+slow-first-byte-700"), oai("s-2", "toolloop-1")]));
    const res = await t.call("POST", "/v1/chat/completions", { body: chat({ stream: true }) });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-correlation-id")).toBe("s-1");
    const { events } = parseSse(await res.text());
    expect(events.at(-1)?.data).toBe("[DONE]");
    const finishes = events
      .flatMap((e) =>
        ((e.json?.choices as { finish_reason: string | null }[] | undefined) ?? []).map((c) => c.finish_reason),
      )
      .filter(Boolean);
    expect(finishes).toEqual(["stop"]);
  });

  test("gateway tools are refused before resolving when not configured (web search here)", async () => {
    const res = await t.call("POST", "/v1/chat/completions", { body: chat({ tools: [{ type: "otari_web_search" }] }) });
    expect(res.status).toBe(400);
    expect(t.platform.calls("resolve")).toHaveLength(0);
    expect(t.platform.calls("mcp")).toHaveLength(0);
  });
});

describe("mcp_server_ids (platform mode)", () => {
  const ID = "0b7e5b2c-6c1a-4d1b-9a52-1d2c3e4f5a6b";
  const body = { model: "openai:m", messages: [{ role: "user", content: "hi" }], mcp_server_ids: [ID] };

  test("resolved through the platform with the caller's token, before the route; their tools run in the loop", async () => {
    t.platform.setDefault("mcp", {
      status: 200,
      body: { servers: [{ name: "docs", url: mcp.url, purpose_hint: "the docs", allowed_tools: ["echo"] }] },
    });
    t.platform.setResolve(route([oai("mcp-1", "toolloop-1")]));
    const res = await t.call("POST", "/v1/chat/completions", { body });
    expect(res.status).toBe(200);
    const out = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(out.choices[0]?.message.content).toBe("Tool said: echo: hi");
    const [resolved] = t.platform.calls("mcp");
    expect(resolved?.body).toEqual({ mcp_server_ids: [ID] });
    expect(resolved?.headers["x-user-token"]).toBe(USER_TOKEN);
    expect(resolved?.headers["x-gateway-token"]).toBe(GATEWAY_TOKEN);
    expect(resolved!.at).toBeLessThanOrEqual(t.platform.calls("resolve")[0]!.at);
    const tools = (t.openai.requests[0]!.body as { tools: { function: { name: string } }[] }).tools;
    expect(tools.map((x) => x.function.name)).toEqual(["docs__echo"]);
    expect(mcp.calls.at(-1)).toBe('echo({"input":"hi"})');
  });

  test("a resolved server passes the same URL rules (422), and a failed resolution is a 502", async () => {
    t.platform.setDefault("mcp", {
      status: 200,
      body: { servers: [{ name: "intranet", url: "http://10.0.0.7/mcp" }] },
    });
    const refused = await t.call("POST", "/v1/chat/completions", { body });
    expect(refused.status).toBe(422);
    expect(await refused.text()).toContain("private (RFC 1918)");
    t.platform.setDefault("mcp", { status: 500, body: { detail: "boom" } });
    const failed = await t.call("POST", "/v1/chat/completions", { body });
    expect(failed.status).toBe(502);
    expect(((await failed.json()) as { detail: string }).detail).toBe("MCP server resolution failed");
    expect(t.platform.calls("resolve")).toHaveLength(0);
    expect(t.openai.requests).toHaveLength(0);
  });
});

describe("messages and responses loops use only the first attempt", () => {
  test("messages: a first attempt failing before its first response is the answer (no fallback)", async () => {
    t.platform.setResolve(route([ant("m-1", "error-503"), ant("m-2", "toolloop-1")]));
    const res = await t.call("POST", "/v1/messages", {
      body: { model: "anthropic:m", max_tokens: 50, messages: [{ role: "user", content: "print(3)" }], tools: TOOLS },
    });
    expect(res.status).toBe(502);
    expect(t.anthropic.requests).toHaveLength(1);
  });

  test("messages and responses loops succeed on the first attempt, JSON and streamed", async () => {
    t.platform.setResolve(route([ant("r-1", "toolloop-1")]));
    const msg = await t.call("POST", "/v1/messages", {
      body: {
        model: "anthropic:m",
        max_tokens: 50,
        messages: [{ role: "user", content: "print(3)" }],
        tools: TOOLS,
        stream: true,
      },
    });
    expect(msg.status).toBe(200);
    const { events } = parseSse(await msg.text());
    expect(events.filter((e) => e.event === "message_delta")).toHaveLength(1);
    expect(events.at(-1)?.event).toBe("message_stop");

    t.platform.setResolve(route([oai("r-2", "toolloop-1")]));
    const resp = await t.call("POST", "/v1/responses", {
      body: { model: "openai:m", input: "print(4)", tools: TOOLS },
    });
    expect(resp.status).toBe(200);
    const body = (await resp.json()) as { output: { content: { text: string }[] }[]; usage: { input_tokens: number } };
    expect(body.output[0]?.content[0]?.text).toBe("Tool said: stdout:\nout:print(4)\n");
    expect(body.usage.input_tokens).toBe(24);
  });
});
