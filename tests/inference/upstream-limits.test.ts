/**
 * Upstream answers of unbounded size (config `upstream_max_body_bytes`, `upstream_max_event_bytes`): a JSON body, an
 * endless body, a stream request answered with one endless JSON line, and a stream whose event outgrows the limit.
 * Each ends with a 502 (or the in-stream error once the stream has started), the upstream is cut, and the
 * reservation settles: released when nothing was produced, billed at the estimate when content was streamed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DIALECTS, type TestDatabase } from "../helpers/db";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { budgetUser, hi, parseSse, post, price, type Row, rowsOf, waitFor } from "./_helpers";

const MAX_BODY = 256 * 1024;
const MAX_EVENT = 64 * 1024;
const PIECE = "x".repeat(16 * 1024);

/** An OpenAI-wire upstream misbehaving by model name; counts the bytes it managed to send and the cancellations. */
function startOversizedUpstream() {
  const state = { cancelled: 0 };
  const enc = new TextEncoder();
  /** A body that never ends unless the reader leaves. */
  const endless = (head: string) => {
    let first = true;
    return new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(enc.encode(first ? head : PIECE));
        first = false;
      },
      cancel() {
        state.cancelled++;
      },
    });
  };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const body = (await req.json()) as { model: string; stream?: boolean };
      const created = Math.floor(Date.now() / 1000);
      if (body.model === "big-json") {
        const message = { role: "assistant", content: "x".repeat(4 * MAX_BODY) };
        return Response.json({
          id: "c",
          object: "chat.completion",
          created,
          model: body.model,
          choices: [{ index: 0, message, finish_reason: "stop" }],
        });
      }
      if (body.model === "gzip-bomb") {
        // Small on the wire (its content-length passes), four times the limit once decompressed.
        const message = { role: "assistant", content: "x".repeat(4 * MAX_BODY) };
        const text = JSON.stringify({
          id: "c",
          object: "chat.completion",
          created,
          model: body.model,
          choices: [{ index: 0, message, finish_reason: "stop" }],
        });
        return new Response(Bun.gzipSync(enc.encode(text)), {
          headers: { "content-type": "application/json", "content-encoding": "gzip" },
        });
      }
      if (body.model === "endless-json" || body.model === "json-to-stream") {
        return new Response(
          endless(
            '{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"',
          ),
          { headers: { "content-type": "application/json" } },
        );
      }
      // big-line: a real first chunk with content, then one data line that never ends.
      const chunk = {
        id: "c",
        object: "chat.completion.chunk",
        created,
        model: body.model,
        choices: [{ index: 0, delta: { role: "assistant", content: "Hi" }, finish_reason: null }],
      };
      return new Response(
        endless(`data: ${JSON.stringify(chunk)}\n\ndata: {"id":"c","choices":[{"index":0,"delta":{"content":"`),
        { headers: { "content-type": "text/event-stream" } },
      );
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, state, stop: () => server.stop(true) };
}

describe.each(DIALECTS)("upstream size limits ($dialect)", ({ create }) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let upstream: ReturnType<typeof startOversizedUpstream>;

  beforeAll(async () => {
    db = await create();
    upstream = startOversizedUpstream();
    gw = await startTestGateway(db, {
      upstream_max_body_bytes: MAX_BODY,
      upstream_max_event_bytes: MAX_EVENT,
      providers: { wild: { provider_type: "openai", api_key: "k", api_base: `${upstream.url}/v1` } },
    });
    for (const m of ["big-json", "gzip-bomb", "endless-json", "json-to-stream", "big-line"])
      await price(gw, `wild:${m}`, 1000, 1000);
  });
  afterAll(async () => {
    await gw.close();
    upstream.stop();
    await db.drop();
  });

  const settledUser = async (userId: string): Promise<Row> => {
    let user: Row = {};
    await waitFor(async () => {
      user = await gw.admin<Row>("GET", `/v1/users/${userId}`);
      return user["reserved"] === 0;
    }, 3000);
    return user;
  };

  test("a JSON body over the limit, declared, compressed or endless, is a 502 and releases the reservation", async () => {
    const { key } = await budgetUser(gw, "big-body", 10);
    for (const model of ["wild:big-json", "wild:gzip-bomb", "wild:endless-json"]) {
      const res = await post(gw, "/v1/chat/completions", key, { model, messages: hi, max_tokens: 10 });
      expect(res.status).toBe(502);
      const body = (await res.json()) as { error: { message: string; code: string } };
      expect(body.error).toMatchObject({ message: "LLM provider error", code: "provider_response_too_large" });
    }
    // The endless body was cut, not read on.
    expect(await waitFor(() => upstream.state.cancelled >= 1, 3000)).toBe(true);
    const user = await settledUser("big-body");
    expect([user["reserved"], user["spend"]]).toEqual([0, 0]);
    const rows = await rowsOf(gw, "big-body");
    expect(rows.map((r) => [r["status"], r["status_code"], r["cost"]])).toEqual([
      ["error", 502, null],
      ["error", 502, null],
      ["error", 502, null],
    ]);
    expect(
      rows.every((r) =>
        String(r["error_message"]).startsWith(`provider response too large: body over ${MAX_BODY} bytes`),
      ),
    ).toBe(true);
  });

  test("a stream request answered with one endless JSON line is a 502 before any byte", async () => {
    const { key } = await budgetUser(gw, "big-first", 10);
    const res = await post(gw, "/v1/chat/completions", key, {
      model: "wild:json-to-stream",
      messages: hi,
      max_tokens: 10,
      stream: true,
    });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("provider_response_too_large");
    expect((await settledUser("big-first"))["spend"]).toBe(0);
  });

  test("an event outgrowing the limit mid-stream ends the stream with the in-stream error; the estimate is billed", async () => {
    const { key } = await budgetUser(gw, "big-line", 10);
    const res = await post(gw, "/v1/chat/completions", key, {
      model: "wild:big-line",
      messages: hi,
      max_tokens: 10,
      stream: true,
    });
    expect(res.status).toBe(200);
    const { events } = parseSse(await res.text());
    expect(events[0]?.json).toMatchObject({ choices: [{ delta: { content: "Hi" } }] });
    expect(events.at(-2)?.json).toMatchObject({ error: { type: "server_error" } });
    expect(events.at(-1)?.data).toBe("[DONE]");
    const user = await settledUser("big-line");
    const [row] = await rowsOf(gw, "big-line");
    expect(row).toMatchObject({ status: "error", estimated: true, completion_tokens: 10 });
    expect(String(row?.["error_message"])).toBe(`provider response too large: stream event over ${MAX_EVENT} bytes`);
    expect(user["spend"]).toBeCloseTo(Number(row?.["cost"]), 9);
    expect(Number(row?.["cost"])).toBeGreaterThan(0);
  });
});
