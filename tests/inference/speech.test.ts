/**
 * POST /v1/audio/speech on the one pipeline, driven by the official openai client against the OpenAI mock: the audio
 * bytes streamed as they arrive with the upstream's content type, billed per character (a price in `character`
 * units) on one usage row, budgets, and bad input; on SQLite and Postgres.
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { budgetUser, openaiClient, post, routeSuite, unitPrice } from "./_helpers";
import { DIALECTS } from "../helpers/db";

setDefaultTimeout(30_000);

type Json = Record<string, unknown>;

describe.each(DIALECTS)("POST /v1/audio/speech ($dialect)", ({ create }) => {
  const s = routeSuite(create, "tts-user");
  beforeAll(() => unitPrice(s.gw, "openai:tts-1", 15, "character")); // USD 15 per million characters

  test("openai SDK: the audio bytes with their content type, billed per character on one usage row", async () => {
    const input = "The quick brown fox jumps over the lazy dog."; // 44 characters: 3 chunks of 1024 bytes
    const res = await openaiClient(s.gw, s.key).audio.speech.create({
      model: "openai:tts-1",
      voice: "alloy",
      input,
      response_format: "wav",
    });
    expect(res.headers.get("content-type")).toBe("audio/wav");
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(bytes.length).toBe(3 * 1024);
    expect(bytes[2049]).toBe(1);
    expect(Number(res.headers.get("x-gateway-cost-usd"))).toBeCloseTo((44 * 15) / 1e6, 9);
    expect(s.gw.openai.requests.at(-1)?.body).toEqual({
      model: "tts-1",
      voice: "alloy",
      input,
      response_format: "wav",
    });
    const rows = await s.newRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ endpoint: "/v1/audio/speech", model: "tts-1", status: "success" });
    expect(Number(rows[0]!.cost)).toBeCloseTo((44 * 15) / 1e6, 9);
  });

  test("bytes reach the client as they arrive: the first chunk is readable while the upstream still pauses", async () => {
    // The mock waits 10 minutes between chunks: a buffering gateway would never hand over the first one.
    const res = await post(s.gw, "/v1/audio/speech", s.key, {
      model: "openai:tts-1+pause-600000",
      voice: "alloy",
      input: "x".repeat(64),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.value?.byteLength).toBe(1024);
    await reader.cancel();
  });

  test("an unpriced model is served with cost null", async () => {
    const res = await post(s.gw, "/v1/audio/speech", s.key, {
      model: "openai:gpt-4o-mini-tts",
      voice: "v",
      input: "hi",
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const [row] = await s.newRows();
    expect(row).toMatchObject({ status: "success", cost: null });
  });

  test("a provider without speech is a 400; bad input is a 422; upstream failures map with an error row", async () => {
    await s.newRows();
    const refused = await post(s.gw, "/v1/audio/speech", s.key, { model: "anthropic:claude", voice: "v", input: "x" });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as Json).detail).toBe("Provider 'anthropic' does not support speech");
    for (const body of [
      { model: "openai:tts-1", input: "x" },
      { model: "openai:tts-1", voice: "v", input: "" },
      { model: "openai:tts-1", voice: "v", input: 3 },
      { model: "openai:tts-1", voice: "v", input: "x", speed: 9 },
    ])
      expect((await post(s.gw, "/v1/audio/speech", s.key, body)).status).toBe(422);
    const failed = await post(s.gw, "/v1/audio/speech", s.key, { model: "openai:error-500", voice: "v", input: "x" });
    expect(failed.status).toBe(502);
    expect(failed.headers.get("content-type")).toContain("application/json");
    expect((await post(s.gw, "/v1/audio/speech", null, { model: "openai:tts-1", voice: "v", input: "x" })).status).toBe(
      401,
    );
    const rows = await s.newRows();
    expect(rows.map((r) => r.status)).toEqual(["error", "error"]);
  });

  test("an exhausted budget is refused before any upstream call", async () => {
    const poor = await budgetUser(s.gw, `tts-poor-${crypto.randomUUID().slice(0, 6)}`, 0);
    const before = s.gw.openai.requests.length;
    const res = await post(s.gw, "/v1/audio/speech", poor.key, { model: "openai:tts-1", voice: "v", input: "hello" });
    expect(res.status).toBe(403);
    expect(s.gw.openai.requests.length).toBe(before);
  });
});
