/**
 * Canonical upstream answers go out as the upstream's own bytes (ProviderResult.raw and ProviderStream.raw): a
 * completion and stream chunks written with the upstream's spacing and member order reach the client unchanged,
 * while anything the gateway rewrote (the Anthropic translation of the same answer) is serialised afresh.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createSqliteDatabase, type TestDatabase } from "../helpers/db";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { hi, parseSse, post } from "./_helpers";

/** A completion as an upstream may format it: spaces after separators, `usage` first. Canonical (no rewrite needed). */
const COMPLETION =
  '{"usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}, "id": "chatcmpl-raw", ' +
  '"object": "chat.completion", "created": 1, "model": "m", "choices": [{"index": 0, "message": ' +
  '{"role": "assistant", "content": "hi", "refusal": null}, "logprobs": null, "finish_reason": "stop"}]}';
const CHUNKS = [
  '{"id": "c-raw", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "hi"}, "finish_reason": null}]}',
  '{"id": "c-raw", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}',
];

describe("upstream bytes", () => {
  let db: TestDatabase;
  let gw: TestGateway;
  let key: string;
  const upstream = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const body = (await req.json()) as { stream?: boolean };
      if (!body.stream) return new Response(COMPLETION, { headers: { "content-type": "application/json" } });
      const sse = `${CHUNKS.map((c) => `data: ${c}\n\n`).join("")}data: [DONE]\n\n`;
      return new Response(sse, { headers: { "content-type": "text/event-stream" } });
    },
  });

  beforeAll(async () => {
    db = await createSqliteDatabase();
    gw = await startTestGateway(db, {
      providers: { raw: { provider_type: "openai", api_key: "sk-raw", api_base: `http://127.0.0.1:${upstream.port}` } },
    });
    key = (await gw.createKey({ user_id: "raw-user" })).key;
  });
  afterAll(async () => {
    await gw.close();
    upstream.stop(true);
    await db.drop();
  });

  test("a canonical completion is sent as the upstream's exact text", async () => {
    const res = await post(gw, "/v1/chat/completions", key, { model: "raw:m", messages: hi });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(COMPLETION);
  });

  test("canonical chunks are sent as the upstream's exact text", async () => {
    const res = await post(gw, "/v1/chat/completions", key, { model: "raw:m", messages: hi, stream: true });
    expect(res.status).toBe(200);
    const { events } = parseSse(await res.text());
    expect(events.map((e) => e.data)).toEqual([...CHUNKS, "[DONE]"]);
  });

  test("a translated answer (the same completion on /v1/messages) is serialised by the gateway", async () => {
    const res = await post(gw, "/v1/messages", key, { model: "raw:m", max_tokens: 10, messages: hi });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain('": ');
    expect(JSON.parse(text)).toMatchObject({ type: "message", content: [{ type: "text", text: "hi" }] });
  });
});
