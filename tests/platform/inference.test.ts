/**
 * Platform-mode inference end to end through the app (SPEC §10.2-10.3, §6.5, §13 items 65-68): a request resolved
 * by the mock platform and served by mock providers, with the headers, the fallback before the first byte (JSON
 * and streams, the first-chunk timeout), the error mapping of resolve, and exactly one usage report per attempt.
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { MOCK_USAGE } from "../../src/providers/_mocks";
import type { UsageReport } from "../../src/services/platform/client";
import { parseSse } from "../inference/_helpers";
import { attempt, route } from "../helpers/platform-mock";
import { GATEWAY_TOKEN, startPlatformGateway, USER_TOKEN } from "./_gateway";

const t = startPlatformGateway({ PLATFORM_USAGE_TIMEOUT_MS: "300" });
afterAll(() => t.close());
beforeEach(() => {
  t.platform.reset();
  t.openai.reset();
  t.anthropic.reset();
});

const chat = (extra: Record<string, unknown> = {}) => ({
  model: "openai:gpt-4o-mini",
  messages: [{ role: "user", content: "hi" }],
  ...extra,
});
const openaiAttempt = (id: string, model = "gpt-4o-mini", over: Record<string, unknown> = {}) =>
  attempt(id, t.openai.apiBase, { model, ...over });
const usageOf = (prompt: number, completion: number) => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
});

/** Waits for `n` usage reports and returns their bodies (then checks no more arrive for a moment). */
async function reports(n: number): Promise<UsageReport[]> {
  await t.platform.waitFor("usage", n);
  await Bun.sleep(30);
  const bodies = t.platform.calls("usage").map((c) => c.body as UsageReport);
  expect(bodies).toHaveLength(n);
  return bodies;
}

async function errorOf(res: Response): Promise<{ message: string; detail: unknown }> {
  const body = (await res.json()) as { error: { message: string }; detail: unknown };
  return { message: body.error.message, detail: body.detail };
}

describe("a resolved request (items 66, 67)", () => {
  test("chat JSON: served by the attempt, headers set, exactly one success report with the tokens", async () => {
    t.platform.setResolve(route([openaiAttempt("att-1")], "req-42"));
    const res = await t.call("POST", "/v1/chat/completions", { body: chat({ user: "ignored-user" }) });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-correlation-id")).toBe("att-1");
    expect(res.headers.get("x-otari-request-id")).toBe("req-42");
    const body = (await res.json()) as { usage: Record<string, number>; choices: unknown[] };
    expect(body.usage).toMatchObject(usageOf(MOCK_USAGE.prompt, MOCK_USAGE.completion));

    const [resolveCall] = t.platform.calls("resolve");
    expect(resolveCall?.headers["x-gateway-token"]).toBe(GATEWAY_TOKEN);
    expect(resolveCall?.headers["x-user-token"]).toBe(USER_TOKEN);
    expect(resolveCall?.body).toEqual({ provider: "openai", model: "gpt-4o-mini" });
    const upstream = t.openai.requests.at(-1);
    expect(upstream?.headers.authorization).toBe("Bearer sk-platform-att-1");
    expect(upstream?.body).toMatchObject({ model: "gpt-4o-mini" });

    expect(await reports(1)).toEqual([
      { correlation_id: "att-1", status: "success", usage: usageOf(MOCK_USAGE.prompt, MOCK_USAGE.completion) },
    ]);
    expect(t.platform.calls("usage")[0]?.headers["x-gateway-token"]).toBe(GATEWAY_TOKEN);
  });

  test("item 67: the legacy flat shape serves as one attempt; both ids are the correlation id", async () => {
    t.platform.setResolve({
      provider: "openai",
      model: "gpt-4o-mini",
      api_key: "sk-flat",
      api_base: t.openai.apiBase,
      managed: true,
      correlation_id: "corr-7",
    });
    const res = await t.call("POST", "/v1/chat/completions", { body: chat() });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-correlation-id")).toBe("corr-7");
    expect(res.headers.get("x-otari-request-id")).toBe("corr-7");
    expect(t.openai.requests.at(-1)?.headers.authorization).toBe("Bearer sk-flat");
    expect((await reports(1))[0]).toMatchObject({ correlation_id: "corr-7", status: "success" });
  });

  test("messages JSON and stream through an Anthropic attempt", async () => {
    const body = { model: "anthropic:claude-test", max_tokens: 50, messages: [{ role: "user", content: "hi" }] };
    t.platform.setResolve(
      route([attempt("an-1", t.anthropic.apiBase, { provider: "anthropic", model: "claude-test" })], "req-an"),
    );
    const res = await t.call("POST", "/v1/messages", { body, headers: { "anthropic-beta": "tools-2024" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ type: "message", role: "assistant" });
    expect(res.headers.get("x-correlation-id")).toBe("an-1");
    const upstream = t.anthropic.requests.at(-1);
    expect(upstream?.headers["x-api-key"]).toBe("sk-platform-an-1");
    expect(upstream?.headers["anthropic-beta"]).toBe("tools-2024");

    const stream = await t.call("POST", "/v1/messages", { body: { ...body, stream: true } });
    expect(stream.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(stream.headers.get("x-correlation-id")).toBe("an-1");
    expect(stream.headers.get("x-otari-request-id")).toBe("req-an");
    const events = parseSse(await stream.text()).events.map((e) => e.event);
    expect(events[0]).toBe("message_start");
    // Anthropic's own stream ends at message_stop; nothing follows it
    expect(events.at(-1)).toBe("message_stop");
    const sent = await reports(2);
    expect(sent.every((r) => r.correlation_id === "an-1" && r.status === "success")).toBe(true);
    expect(sent[1]?.usage?.prompt_tokens).toBeGreaterThan(0);
  });

  test("responses JSON and stream through an OpenAI attempt", async () => {
    t.platform.setResolve(route([openaiAttempt("r-1")]));
    const res = await t.call("POST", "/v1/responses", {
      body: { model: "openai:gpt-4o-mini", input: "hi", user: "ignored" },
    });
    expect(res.status).toBe(200);
    // the upstream's null members reach the client (OpenAI's Response requires them)
    expect(await res.json()).toMatchObject({
      object: "response",
      status: "completed",
      error: null,
      incomplete_details: null,
      instructions: null,
    });
    expect(t.openai.requests.at(-1)?.body).not.toHaveProperty("user");
    const stream = await t.call("POST", "/v1/responses", {
      body: { model: "openai:gpt-4o-mini", input: "hi", stream: true },
    });
    const text = await stream.text();
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect(await reports(2)).toEqual([
      { correlation_id: "r-1", status: "success", usage: usageOf(MOCK_USAGE.prompt, MOCK_USAGE.completion) },
      { correlation_id: "r-1", status: "success", usage: usageOf(MOCK_USAGE.prompt, MOCK_USAGE.completion) },
    ]);
  });

  test("chat stream: the head carries both ids; the report has the stream's merged usage", async () => {
    t.platform.setResolve(route([openaiAttempt("s-1")], "req-s"));
    const res = await t.call("POST", "/v1/chat/completions", {
      body: chat({ stream: true, stream_options: { include_usage: true } }),
    });
    expect(res.headers.get("x-correlation-id")).toBe("s-1");
    expect(res.headers.get("x-otari-request-id")).toBe("req-s");
    const { events } = parseSse(await res.text());
    expect(events.at(-1)?.data).toBe("[DONE]");
    expect(events.at(-2)?.json?.usage).toMatchObject(usageOf(MOCK_USAGE.prompt, 3));
    expect(t.openai.requests.at(-1)?.body).toMatchObject({ stream_options: { include_usage: true } });
    expect(await reports(1)).toEqual([
      { correlation_id: "s-1", status: "success", usage: usageOf(MOCK_USAGE.prompt, 3) },
    ]);
  });

  test("impossible upstream counts are clamped before they are reported (negative -> 0, huge -> 1e9)", async () => {
    t.platform.setResolve(route([openaiAttempt("neg-1", "gpt-4o-mini+usage--40")]));
    const neg = await t.call("POST", "/v1/chat/completions", { body: chat() });
    expect(neg.status).toBe(200);
    expect(await reports(1)).toEqual([{ correlation_id: "neg-1", status: "success", usage: usageOf(0, 0) }]);
    t.platform.reset();
    t.platform.setResolve(route([openaiAttempt("huge-1", "gpt-4o-mini+usage-1e300")]));
    const huge = await t.call("POST", "/v1/chat/completions", {
      body: chat({ stream: true, stream_options: { include_usage: true } }),
    });
    expect(huge.status).toBe(200);
    expect(await reports(1)).toEqual([
      {
        correlation_id: "huge-1",
        status: "success",
        usage: { prompt_tokens: 1e9, completion_tokens: 1e9, total_tokens: 1e9 },
      },
    ]);
  });

  test("a mid-stream error: the route's error event, and an error report without error_class", async () => {
    t.platform.setResolve(route([openaiAttempt("m-1", "stream-error"), openaiAttempt("m-2")]));
    const res = await t.call("POST", "/v1/chat/completions", { body: chat({ stream: true }) });
    expect(res.status).toBe(200);
    const { events } = parseSse(await res.text());
    expect(events.at(-2)?.json).toEqual({
      error: {
        message: "An error occurred during streaming",
        type: "server_error",
        param: null,
        code: "provider_error",
      },
    });
    expect(await reports(1)).toEqual([{ correlation_id: "m-1", status: "error" }]);
    expect(t.openai.requests).toHaveLength(1); // no failover after the first chunk
  });

  test("an unconfigured gateway tool is refused before resolving; mcp_server_ids are resolved first", async () => {
    const res = await t.call("POST", "/v1/chat/completions", { body: chat({ tools: [{ type: "otari_web_search" }] }) });
    expect(res.status).toBe(400);
    expect(t.platform.calls("mcp")).toHaveLength(0);
    // The MCP servers' resolution fails: the route is never resolved (the loop itself: tests/tools/platform-loop).
    t.platform.setDefault("mcp", { status: 500, body: { detail: "down" } });
    const ids = await t.call("POST", "/v1/chat/completions", {
      body: chat({ mcp_server_ids: ["0b7e5b2c-6c1a-4d1b-9a52-1d2c3e4f5a6b"] }),
    });
    expect(ids.status).toBe(502);
    expect(t.platform.calls("mcp")).toHaveLength(1);
    expect(t.platform.calls("resolve")).toHaveLength(0);
  });
});

describe("fallback before the first byte (items 66, 68)", () => {
  test("JSON: a first attempt failing with a 5xx falls over to the second; one report per attempt", async () => {
    t.platform.setResolve(route([openaiAttempt("f-1", "error-503"), openaiAttempt("f-2")], "req-f"));
    const res = await t.call("POST", "/v1/chat/completions", { body: chat() });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-correlation-id")).toBe("f-2");
    expect(res.headers.get("x-otari-request-id")).toBe("req-f");
    const sent = await reports(2);
    expect(sent).toContainEqual({ correlation_id: "f-1", status: "error", error_class: "http_503" });
    expect(sent).toContainEqual({
      correlation_id: "f-2",
      status: "success",
      usage: usageOf(MOCK_USAGE.prompt, MOCK_USAGE.completion),
    });
  });

  test("JSON: a connection failure (conn_err) and a 429 both fall over", async () => {
    t.platform.setResolve(
      route([attempt("c-1", "http://127.0.0.1:1/v1"), openaiAttempt("c-2", "error-429"), openaiAttempt("c-3")]),
    );
    const res = await t.call("POST", "/v1/chat/completions", { body: chat() });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-correlation-id")).toBe("c-3");
    const sent = await reports(3);
    expect(sent).toContainEqual({ correlation_id: "c-1", status: "error", error_class: "conn_err" });
    expect(sent).toContainEqual({ correlation_id: "c-2", status: "error", error_class: "http_429" });
  });

  test("a non-retryable failure (400) answers 502 'LLM provider error' without trying the next attempt", async () => {
    t.platform.setResolve(route([openaiAttempt("n-1", "error-400"), openaiAttempt("n-2")], "req-n"));
    const res = await t.call("POST", "/v1/chat/completions", { body: chat() });
    expect(res.status).toBe(502);
    expect((await errorOf(res)).message).toBe("LLM provider error");
    expect(res.headers.get("x-otari-request-id")).toBe("req-n");
    expect(t.openai.requests).toHaveLength(1);
    expect(await reports(1)).toEqual([{ correlation_id: "n-1", status: "error", error_class: "http_400" }]);
  });

  test("stream: a first attempt erroring before its first chunk falls through to the second", async () => {
    t.platform.setResolve(route([openaiAttempt("e-1", "error-500"), openaiAttempt("e-2")]));
    const res = await t.call("POST", "/v1/chat/completions", { body: chat({ stream: true }) });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-correlation-id")).toBe("e-2");
    expect(parseSse(await res.text()).events.at(-1)?.data).toBe("[DONE]");
    const sent = await reports(2);
    expect(sent).toContainEqual({ correlation_id: "e-1", status: "error", error_class: "http_500" });
    expect(sent).toContainEqual(expect.objectContaining({ correlation_id: "e-2", status: "success" }));
  });

  test("stream: a first attempt silent past the first-chunk timeout (400 ms here) falls through to the second", async () => {
    t.platform.setResolve(route([openaiAttempt("slow-1", "slow-first-byte-3000"), openaiAttempt("slow-2")]));
    const started = performance.now();
    const res = await t.call("POST", "/v1/chat/completions", { body: chat({ stream: true }) });
    const took = performance.now() - started;
    expect(res.status).toBe(200);
    expect(res.headers.get("x-correlation-id")).toBe("slow-2");
    expect(took).toBeGreaterThanOrEqual(390);
    expect(took).toBeLessThan(2000);
    await res.text();
    const sent = await reports(2);
    expect(sent).toContainEqual({ correlation_id: "slow-1", status: "error", error_class: "timeout" });
  });

  test("stream: a first chunk within the timeout is a success, however slow the rest", async () => {
    t.platform.setResolve(route([openaiAttempt("ok-1", "slow-first-byte-100+interval-200"), openaiAttempt("ok-2")]));
    const res = await t.call("POST", "/v1/chat/completions", { body: chat({ stream: true }) });
    expect(res.headers.get("x-correlation-id")).toBe("ok-1");
    await res.text();
    expect(await reports(1)).toEqual([expect.objectContaining({ correlation_id: "ok-1", status: "success" })]);
  });

  test("item 68: all attempts failing -> 502 'All upstream providers failed' (a JSON error, not SSE)", async () => {
    t.platform.setResolve(
      route([
        openaiAttempt("x-1", "error-500"),
        openaiAttempt("x-2", "slow-first-byte-3000"),
        openaiAttempt("x-3", "error-503"),
      ]),
    );
    const res = await t.call("POST", "/v1/chat/completions", { body: chat({ stream: true }) });
    expect(res.status).toBe(502);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect((await errorOf(res)).message).toBe("All upstream providers failed");
    const sent = await reports(3);
    expect(sent.map((r) => r.error_class)).toEqual(["http_500", "timeout", "http_503"]);
  });

  test("all timing out -> 504 'All upstream providers timed out'; one attempt -> 504 'LLM provider timeout'", async () => {
    t.platform.setResolve(route([openaiAttempt("h-1", "hang"), openaiAttempt("h-2", "hang")]));
    const several = await t.call("POST", "/v1/chat/completions", { body: chat({ stream: true }) });
    expect(several.status).toBe(504);
    expect((await errorOf(several)).message).toBe("All upstream providers timed out");
    t.platform.setResolve(route([openaiAttempt("h-3", "hang")]));
    const one = await t.call("POST", "/v1/chat/completions", { body: chat({ stream: true }) });
    expect(one.status).toBe(504);
    expect((await errorOf(one)).message).toBe("LLM provider timeout");
    t.platform.setResolve(route([openaiAttempt("h-4", "error-500")]));
    const oneFailed = await t.call("POST", "/v1/chat/completions", { body: chat() });
    expect([oneFailed.status, (await errorOf(oneFailed)).message]).toEqual([502, "LLM provider error"]);
    expect((await reports(4)).map((r) => r.error_class)).toEqual(["timeout", "timeout", "timeout", "http_500"]);
  });

  test("fallback_enabled: false uses only the first attempt", async () => {
    t.platform.setResolve(route([openaiAttempt("nf-1", "error-500"), openaiAttempt("nf-2")], "req-nf", false));
    const res = await t.call("POST", "/v1/chat/completions", { body: chat() });
    expect([res.status, (await errorOf(res)).message]).toEqual([502, "LLM provider error"]);
    expect(t.openai.requests).toHaveLength(1);
    expect(await reports(1)).toEqual([{ correlation_id: "nf-1", status: "error", error_class: "http_500" }]);
  });

  test("messages stream falls over too (Anthropic 529 overloaded, then a healthy attempt)", async () => {
    const anthropicAttempt = (id: string, model: string) =>
      attempt(id, t.anthropic.apiBase, { provider: "anthropic", model });
    t.platform.setResolve(route([anthropicAttempt("a-1", "error-529"), anthropicAttempt("a-2", "claude-ok")]));
    const res = await t.call("POST", "/v1/messages", {
      body: { model: "anthropic:claude", max_tokens: 20, stream: true, messages: [{ role: "user", content: "hi" }] },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-correlation-id")).toBe("a-2");
    await res.text();
    expect(await reports(2)).toContainEqual({ correlation_id: "a-1", status: "error", error_class: "http_529" });
  });
});

describe("resolve errors as the client sees them (item 65)", () => {
  test("401 -> 401; 402/403/404 keep their status; the platform's detail is passed on", async () => {
    for (const status of [401, 402, 403, 404]) {
      t.platform.queue("resolve", { status, body: { detail: `platform ${status}` } });
      const res = await t.call("POST", "/v1/chat/completions", { body: chat() });
      expect(res.status).toBe(status);
      expect(await errorOf(res)).toEqual({ message: `platform ${status}`, detail: `platform ${status}` });
    }
    t.platform.queue("resolve", { status: 401 });
    const bare = await t.call("POST", "/v1/chat/completions", { body: chat() });
    expect((await errorOf(bare)).message).toBe("Authorization request rejected");
  });

  test("429 -> 429 with the same Retry-After", async () => {
    t.platform.queue("resolve", {
      status: 429,
      body: { detail: "Rate limit exceeded" },
      headers: { "Retry-After": "42" },
    });
    const res = await t.call("POST", "/v1/chat/completions", { body: chat() });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("42");
  });

  test("422, 5xx and timeouts -> 502 'Authorization service unavailable'; empty attempts -> 502 'no resolvable provider'", async () => {
    t.platform.queue(
      "resolve",
      { status: 422, body: { detail: [] } },
      { status: 500 },
      { status: 200, body: route([]) },
    );
    for (const message of [
      "Authorization service unavailable",
      "Authorization service unavailable",
      "Authorization service returned no resolvable provider",
    ]) {
      const res = await t.call("POST", "/v1/chat/completions", { body: chat() });
      expect(res.status).toBe(502);
      expect((await errorOf(res)).message).toBe(message);
    }
    expect(t.openai.requests).toHaveLength(0);
    expect(t.platform.calls("usage")).toHaveLength(0);
  });

  test("on /v1/messages the same refusals use the Anthropic envelope", async () => {
    t.platform.queue("resolve", { status: 403, body: { detail: "Model not allowed" } });
    const res = await t.call("POST", "/v1/messages", {
      body: { model: "anthropic:x", max_tokens: 5, messages: [{ role: "user", content: "hi" }] },
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({
      type: "error",
      error: { type: "permission_error", message: "Model not allowed" },
    });
  });
});

describe("usage reports while the platform's usage endpoint is down", () => {
  test("no report is lost: they queue, and the queue drains when it comes back", async () => {
    t.platform.setResolve(route([openaiAttempt("d-1")]));
    t.platform.setDefault("usage", { status: 503 });
    for (let i = 0; i < 3; i++)
      expect((await t.call("POST", "/v1/chat/completions", { body: chat() })).status).toBe(200);
    const reporter = t.gateway.runtime.reporter;
    const deadline = Date.now() + 5000;
    while (reporter.stats().queued < 3 && Date.now() < deadline) await Bun.sleep(20);
    expect(reporter.stats()).toMatchObject({ queued: 3, dropped: 0 });
    expect(t.platform.calls("usage").length).toBe(9); // 3 quick tries each (usage_max_retries)
    t.platform.setDefault("usage", { status: 204 });
    await t.platform.waitFor("usage", 12, 10_000);
    while (reporter.stats().queued > 0 && Date.now() < deadline + 10_000) await Bun.sleep(20);
    expect(reporter.stats().queued).toBe(0);
    const delivered = t.platform
      .calls("usage")
      .slice(9)
      .map((c) => c.body as UsageReport);
    expect(delivered).toHaveLength(3);
    expect(delivered.every((r) => r.correlation_id === "d-1" && r.status === "success")).toBe(true);
  }, 20_000);
});
