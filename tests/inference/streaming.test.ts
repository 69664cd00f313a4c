/**
 * Streaming edge cases (SPEC §6, §13 items 46-52): failures before the first byte are plain JSON errors; failures
 * mid-stream end each wire format its own way and are billed per §6.3; a client that disconnects is still billed
 * (actual usage when it arrives within the drain window, else the estimate); a provider without usage is billed at
 * the estimate; silences are filled with keepalives.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chunkText } from "../../src/providers/_mocks";
import { DIALECTS, type TestDatabase } from "../helpers/db";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { type Row, budgetUser, parseSse, post, price, rowsOf, waitFor } from "./_helpers";

const ask = [{ role: "user", content: "hi" }];
/** The reservation estimate's prompt tokens for `ask` (SPEC §7.3 item 1). */
const PROMPT_ESTIMATE = Math.ceil(JSON.stringify(ask).length / 4);
const MAX_TOKENS = 40;
/** 1 USD per million both ways: cost in USD = tokens / 1e6. */
const perToken = 1e-6;

/** Waits until `userId` has `n` rows (a disconnected stream settles after the response is gone). */
async function rowsWhen(gw: TestGateway, userId: string, n: number, timeoutMs = 4000): Promise<Row[]> {
  let rows: Row[] = [];
  await waitFor(
    async () => {
      rows = await rowsOf(gw, userId);
      return rows.length >= n;
    },
    timeoutMs,
    50,
  );
  return rows;
}

/** Reads an SSE response until `until` matches the text so far, then aborts the request. */
async function readThenAbort(
  res: Response,
  controller: AbortController,
  until: (text: string) => boolean,
): Promise<string> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let text = "";
  while (!until(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value, { stream: true });
  }
  controller.abort();
  await reader.cancel().catch(() => undefined);
  return text;
}

describe.each(DIALECTS)("streaming edge cases ($dialect)", ({ create }) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let key: string;
  let n = 0;
  /** A fresh user (and key) per check, so its rows are exactly this request's. */
  const fresh = async (prefix: string) => {
    const userId = `${prefix}-${n++}`;
    const k = await budgetUser(gw, userId, 10);
    return { userId, key: k.key };
  };

  beforeAll(async () => {
    db = await create();
    gw = await startTestGateway(db, { streaming_keepalive_interval_ms: 50 });
    for (const m of [
      "break-stream",
      "stream-error",
      "no-usage",
      "chunks-50+interval-20",
      "error-500",
      "error-first",
      "pause-300",
      "gpt-4o-mini",
    ])
      await price(gw, `openai:${m}`, 1, 1);
    for (const m of ["break-stream", "stream-error", "chunks-50+interval-20", "pause-300", "error-529"])
      await price(gw, `anthropic:${m}`, 1, 1);
    key = (await fresh("stream")).key;
  });
  afterAll(async () => {
    await gw.close();
    await db.drop();
  });

  test("chat stream: SSE content type, data chunks then [DONE] (§13 item 46)", async () => {
    const res = await post(gw, "/v1/chat/completions", key, {
      model: "openai:gpt-4o-mini",
      messages: ask,
      stream: true,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const { events } = parseSse(await res.text());
    expect(events.at(-1)?.data).toBe("[DONE]");
    expect(events.slice(0, -1).every((e) => e.json?.["object"] === "chat.completion.chunk")).toBe(true);
  });

  test("upstream failure before the first chunk is a plain JSON error, not SSE (§13 item 48)", async () => {
    const { userId, key: k } = await fresh("pre");
    for (const [path, body] of [
      ["/v1/chat/completions", { model: "openai:error-500", messages: ask, stream: true }],
      ["/v1/chat/completions", { model: "openai:error-first", messages: ask, stream: true }],
      ["/v1/responses", { model: "openai:error-500", input: "hi", stream: true }],
      ["/v1/messages", { model: "anthropic:error-529", max_tokens: 10, messages: ask, stream: true }],
    ] as const) {
      const res = await post(gw, path, k, body);
      expect(res.status).toBe(502);
      expect(res.headers.get("content-type")).toStartWith("application/json");
      const json = (await res.json()) as Row;
      if (path === "/v1/messages") expect(json).toMatchObject({ type: "error", error: { type: "api_error" } });
      else expect(json).toMatchObject({ error: { type: "upstream_error" }, detail: "LLM provider error" });
    }
    const rows = await rowsOf(gw, userId);
    expect(rows.length).toBe(4);
    // nothing was produced: error rows without tokens, reservation released
    expect(
      rows.every(
        (r) => r["status"] === "error" && r["prompt_tokens"] === null && r["cost"] === null && r["estimated"] === false,
      ),
    ).toBe(true);
  });

  test("chat mid-stream break: server_error data event then [DONE]; error row billed at the estimate", async () => {
    for (const model of ["openai:break-stream", "openai:stream-error"]) {
      const { userId, key: k } = await fresh("mid");
      const res = await post(gw, "/v1/chat/completions", k, {
        model,
        messages: ask,
        stream: true,
        max_tokens: MAX_TOKENS,
      });
      expect(res.status).toBe(200);
      const { events } = parseSse(await res.text());
      expect(events.length).toBeGreaterThanOrEqual(3);
      expect(events.at(-2)?.json).toEqual({
        error: {
          message: "An error occurred during streaming",
          type: "server_error",
          param: null,
          code: "provider_error",
        },
      });
      expect(events.at(-1)?.data).toBe("[DONE]");
      const [row, ...more] = await rowsOf(gw, userId);
      expect(more).toEqual([]);
      expect(row).toMatchObject({
        status: "error",
        estimated: true,
        prompt_tokens: PROMPT_ESTIMATE,
        completion_tokens: MAX_TOKENS,
      });
      expect(Number(row?.["cost"])).toBeCloseTo((PROMPT_ESTIMATE + MAX_TOKENS) * perToken, 9);
    }
  });

  test("responses mid-stream break: `event: error` and no [DONE]", async () => {
    const { userId, key: k } = await fresh("resp");
    const res = await post(gw, "/v1/responses", k, {
      model: "openai:break-stream",
      input: "hi",
      stream: true,
      max_output_tokens: MAX_TOKENS,
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    const { events } = parseSse(text);
    expect(events[0]?.event).toBe("response.created");
    // OpenAI's ResponseErrorEvent, numbered after the last event the client got
    const numbers = events.map((e) => e.json?.["sequence_number"]);
    expect(numbers).toEqual(numbers.map((_, i) => i));
    expect(events.at(-1)).toEqual(
      expect.objectContaining({
        event: "error",
        json: {
          type: "error",
          code: "provider_error",
          message: "An error occurred during streaming",
          param: null,
          sequence_number: events.length - 1,
        },
      }),
    );
    expect(text).not.toContain("[DONE]");
    const [row] = await rowsOf(gw, userId);
    expect(row).toMatchObject({
      endpoint: "/v1/responses",
      status: "error",
      estimated: true,
      completion_tokens: MAX_TOKENS,
    });
  });

  test("messages mid-stream break: Anthropic `event: error`; usage from message_start is billed as actual", async () => {
    const { userId, key: k } = await fresh("msg");
    const res = await post(gw, "/v1/messages", k, {
      model: "anthropic:break-stream",
      max_tokens: MAX_TOKENS,
      messages: ask,
      stream: true,
    });
    expect(res.status).toBe(200);
    const { events } = parseSse(await res.text());
    expect(events[0]?.event).toBe("message_start");
    expect(events.at(-1)).toMatchObject({
      event: "error",
      json: { type: "error", error: { type: "api_error", message: "An error occurred during streaming" } },
    });
    expect(events.some((e) => e.event === "done")).toBe(false);
    const [row] = await rowsOf(gw, userId);
    expect(row).toMatchObject({
      endpoint: "/v1/messages",
      status: "error",
      estimated: false,
      prompt_tokens: 12,
      completion_tokens: 1,
    });
    expect(Number(row?.["cost"])).toBeCloseTo(13 * perToken, 9);
  });

  test("in-stream error events and translated routes end the same way", async () => {
    const cases = [
      {
        path: "/v1/responses",
        body: { model: "openai:stream-error", input: "hi", stream: true },
        last: "error",
        done: false,
      },
      {
        path: "/v1/messages",
        body: { model: "anthropic:stream-error", max_tokens: 10, messages: ask, stream: true },
        last: "error",
        done: false,
      },
      {
        path: "/v1/messages",
        body: { model: "openai:break-stream", max_tokens: 10, messages: ask, stream: true },
        last: "error",
        done: false,
      },
      {
        path: "/v1/chat/completions",
        body: { model: "anthropic:break-stream", messages: ask, stream: true },
        last: null,
        done: true,
      },
    ] as const;
    for (const c of cases) {
      const { userId, key: k } = await fresh("variant");
      const res = await post(gw, c.path, k, c.body);
      expect(res.status).toBe(200);
      const text = await res.text();
      const { events } = parseSse(text);
      if (c.done) {
        expect(events.at(-2)?.json).toEqual({
          error: {
            message: "An error occurred during streaming",
            type: "server_error",
            param: null,
            code: "provider_error",
          },
        });
        expect(events.at(-1)?.data).toBe("[DONE]");
      } else {
        expect(events.at(-1)?.event).toBe(c.last);
        expect(text).not.toContain("[DONE]");
      }
      if (c.path === "/v1/messages")
        expect(events.at(-1)?.json).toEqual({
          type: "error",
          error: { type: "api_error", message: "An error occurred during streaming" },
        });
      const rows = await rowsOf(gw, userId);
      expect(rows.length).toBe(1);
      expect(rows[0]).toMatchObject({ status: "error", endpoint: c.path });
      expect(Number(rows[0]?.["cost"])).toBeGreaterThan(0);
    }
  });

  test("client disconnect on /v1/messages: drained to the end, output tokens of the whole stream", async () => {
    const { userId, key: k } = await fresh("gone-msg");
    const controller = new AbortController();
    const res = await post(
      gw,
      "/v1/messages",
      k,
      { model: "anthropic:chunks-50+interval-20", max_tokens: 100, messages: ask, stream: true },
      {},
      controller.signal,
    );
    await readThenAbort(res, controller, (t) => t.includes(chunkText(1)));
    const [row] = await rowsWhen(gw, userId, 1);
    expect(row).toMatchObject({
      status: "success",
      error_message: "client disconnected before end of stream",
      prompt_tokens: 12,
      completion_tokens: 50,
    });
  });

  test("client disconnect: the upstream is drained and the row carries the actual usage (§13 item 50)", async () => {
    const { userId, key: k } = await fresh("gone");
    const controller = new AbortController();
    const res = await post(
      gw,
      "/v1/chat/completions",
      k,
      { model: "openai:chunks-50+interval-20", messages: ask, stream: true },
      {},
      controller.signal,
    );
    expect(res.status).toBe(200);
    const seen = await readThenAbort(res, controller, (t) => t.includes(chunkText(1)));
    expect(seen).toContain(chunkText(0));
    const [row] = await rowsWhen(gw, userId, 1);
    expect(row).toMatchObject({
      status: "success",
      error_message: "client disconnected before end of stream",
      prompt_tokens: 12,
      completion_tokens: 50,
      estimated: false,
    });
    expect(Number(row?.["cost"])).toBeCloseTo(62 * perToken, 9);
  });

  test("a provider that never reports usage is billed at the estimate (§13 item 51)", async () => {
    const { userId, key: k } = await fresh("nousage");
    const res = await post(gw, "/v1/chat/completions", k, {
      model: "openai:no-usage",
      messages: ask,
      stream: true,
      max_tokens: MAX_TOKENS,
      stream_options: { include_usage: true },
    });
    const { events } = parseSse(await res.text());
    expect(events.at(-1)?.data).toBe("[DONE]");
    expect(events.some((e) => e.json?.["usage"])).toBe(false);
    const [row] = await rowsOf(gw, userId);
    expect(row).toMatchObject({
      status: "success",
      estimated: true,
      prompt_tokens: PROMPT_ESTIMATE,
      completion_tokens: MAX_TOKENS,
      error_message: null,
    });
    expect(Number(row?.["cost"])).toBeCloseTo((PROMPT_ESTIMATE + MAX_TOKENS) * perToken, 9);
    const user = await gw.admin<Row>("GET", `/v1/users/${userId}`);
    expect(Number(user["spend"])).toBeCloseTo((PROMPT_ESTIMATE + MAX_TOKENS) * perToken, 9);
  });

  test("the same for a non-stream call without usage: billed at the estimate, estimated:true", async () => {
    const { userId, key: k } = await fresh("nousage-json");
    const res = await post(gw, "/v1/chat/completions", k, {
      model: "openai:no-usage",
      messages: ask,
      max_tokens: MAX_TOKENS,
    });
    expect(res.status).toBe(200);
    const cost = (PROMPT_ESTIMATE + MAX_TOKENS) * perToken;
    expect(res.headers.get("x-gateway-cost-usd")).toBe(cost.toFixed(6));
    const msg = await post(gw, "/v1/messages", k, { model: "openai:no-usage", messages: ask, max_tokens: MAX_TOKENS });
    expect(msg.status).toBe(200);
    const rows = await rowsOf(gw, userId);
    expect(rows.length).toBe(2);
    for (const row of rows) {
      expect(row).toMatchObject({
        status: "success",
        estimated: true,
        prompt_tokens: PROMPT_ESTIMATE,
        completion_tokens: MAX_TOKENS,
      });
      expect(Number(row["cost"])).toBeCloseTo(cost, 9);
    }
  });

  test("keepalives fill a silent upstream: `: keepalive` (chat, responses), `event: ping` (messages) (§13 item 52)", async () => {
    const { userId, key: k } = await fresh("ka");
    const chat = await post(gw, "/v1/chat/completions", k, { model: "openai:pause-300", messages: ask, stream: true });
    const chatSse = parseSse(await chat.text());
    expect(chatSse.comments).toContain("keepalive");
    expect(chatSse.events.at(-1)?.data).toBe("[DONE]");
    expect(chatSse.events.map((e) => e.json?.["choices"]).filter(Boolean).length).toBeGreaterThan(3);

    const responses = await post(gw, "/v1/responses", k, { model: "openai:pause-300", input: "hi", stream: true });
    expect(parseSse(await responses.text()).comments).toContain("keepalive");

    const messages = await post(gw, "/v1/messages", k, {
      model: "anthropic:pause-300",
      max_tokens: 10,
      messages: ask,
      stream: true,
    });
    const msgSse = parseSse(await messages.text());
    const firstStart = msgSse.events.findIndex((e) => e.event === "message_start");
    const pings = msgSse.events.filter((e, i) => e.event === "ping" && i > firstStart && e.json?.["type"] === "ping");
    // the mock sends one ping of its own right after message_start; the gateway adds more during the pause
    expect(pings.length).toBeGreaterThan(1);
    expect(msgSse.events.at(-1)?.event).toBe("message_stop");
    const rows = await rowsOf(gw, userId);
    expect(rows.length).toBe(3);
    expect(rows.every((r) => r["status"] === "success" && r["estimated"] === false)).toBe(true);
  });
});

describe.each(DIALECTS)("client disconnect past the drain window ($dialect)", ({ create }) => {
  let db: TestDatabase;
  let gw: TestGateway;

  beforeAll(async () => {
    db = await create();
    gw = await startTestGateway(db, { stream_drain_timeout_ms: 100 });
    await price(gw, "openai:chunks-50+interval-20", 1, 1);
    await price(gw, "openai:silent-stream", 1, 1);
    await price(gw, "anthropic:silent-stream", 1, 1);
  });
  afterAll(async () => {
    await gw.close();
    await db.drop();
  });

  test("a silent upstream and a client that left: the drain window closes it; Anthropic's early usage is kept", async () => {
    const { key } = await budgetUser(gw, "silent-user", 10);
    for (const [path, body] of [
      ["/v1/chat/completions", { model: "openai:silent-stream", messages: ask, stream: true, max_tokens: MAX_TOKENS }],
      ["/v1/messages", { model: "anthropic:silent-stream", messages: ask, stream: true, max_tokens: MAX_TOKENS }],
    ] as const) {
      const controller = new AbortController();
      const res = await post(gw, path, key, body, {}, controller.signal);
      expect(res.status).toBe(200);
      await readThenAbort(res, controller, (t) => t.length > 0);
    }
    const rows = await rowsWhen(gw, "silent-user", 2);
    const chat = rows.find((r) => r["endpoint"] === "/v1/chat/completions");
    const messages = rows.find((r) => r["endpoint"] === "/v1/messages");
    expect(chat).toMatchObject({
      status: "error",
      estimated: true,
      error_message: "client disconnected; billed reservation estimate",
      completion_tokens: MAX_TOKENS,
    });
    expect(messages).toMatchObject({
      status: "success",
      estimated: false,
      error_message: "client disconnected before end of stream",
      prompt_tokens: 12,
      completion_tokens: 1,
    });
  });

  test("no usage within the drain window: error row at the estimate, estimated:true", async () => {
    const { key } = await budgetUser(gw, "drain-user", 10);
    const controller = new AbortController();
    const res = await post(
      gw,
      "/v1/chat/completions",
      key,
      { model: "openai:chunks-50+interval-20", messages: ask, stream: true, max_tokens: MAX_TOKENS },
      {},
      controller.signal,
    );
    await readThenAbort(res, controller, (t) => t.includes(chunkText(1)));
    const abortedAt = Date.now();
    const [row] = await rowsWhen(gw, "drain-user", 1);
    // settled at the end of the 100 ms window, long before the upstream's 1 s of chunks would have ended
    expect(Date.now() - abortedAt).toBeLessThan(800);
    expect(row).toMatchObject({
      status: "error",
      error_message: "client disconnected; billed reservation estimate",
      estimated: true,
      prompt_tokens: PROMPT_ESTIMATE,
      completion_tokens: MAX_TOKENS,
    });
    expect(Number(row?.["cost"])).toBeCloseTo((PROMPT_ESTIMATE + MAX_TOKENS) * perToken, 9);
  });
});
