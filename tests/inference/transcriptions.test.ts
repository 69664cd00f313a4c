/**
 * POST /v1/audio/transcriptions on the one pipeline, driven by the official openai client against the OpenAI mock:
 * the multipart upload passed on, the transcript in the format asked for (JSON as sent, text with its content type),
 * billed per second of reported audio or by reported tokens on one usage row; auth, allow-lists, budgets, the 25 MiB
 * cap, bad input and upstream failures; on SQLite and Postgres.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type OpenAI from "openai";
import { type MockServer, startOpenAIMock } from "../../src/providers/_mocks";
import { budgetUser, failure, openaiClient, waitFor, routeSuite, unitPrice, price } from "./_helpers";
import { DIALECTS } from "../helpers/db";

setDefaultTimeout(30_000);

type Json = Record<string, unknown>;

/** `seconds` of mock audio (the mock reads 16 000 bytes as one second). */
const audio = (seconds: number, name = "talk.wav") =>
  new File([new Uint8Array(seconds * 16_000).fill(3)], name, { type: "audio/wav" });

describe.each(DIALECTS)("POST /v1/audio/transcriptions ($dialect)", ({ create }) => {
  let slow: MockServer;
  beforeAll(() => {
    slow = startOpenAIMock();
  });
  const s = routeSuite(create, "stt-user", () => ({
    providers: {
      slow: {
        provider_type: "openai-compatible",
        api_key: "sk-slow",
        api_base: slow.apiBase,
        client_args: { timeout: 0.4 },
      },
    },
  }));
  let client: OpenAI;

  /** A raw multipart POST (for what the SDK will not send). */
  const upload = (form: FormData, token: string | null = s.key, headers: Record<string, string> = {}) =>
    fetch(`${s.gw.base}/v1/audio/transcriptions`, {
      method: "POST",
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      body: form,
    });
  const formOf = (fields: Record<string, string | File>) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    return form;
  };

  beforeAll(async () => {
    client = openaiClient(s.gw, s.key);
    await unitPrice(s.gw, "openai:whisper-1", 100, "second"); // USD 100 per million seconds of audio
    await price(s.gw, "openai:gpt-4o-transcribe", 2.5, 10);
  });
  afterAll(() => slow.stop());

  test("openai SDK, json: the transcript as sent, the upload passed on, billed per second on one usage row", async () => {
    const res = await client.audio.transcriptions
      .create({ model: "openai:whisper-1", file: audio(3), language: "en", temperature: 0.2 })
      .withResponse();
    expect(res.data).toEqual({ text: "transcript of talk.wav", usage: { type: "duration", seconds: 3 } } as never);
    expect(Number(res.response.headers.get("x-gateway-cost-usd"))).toBeCloseTo((3 * 100) / 1e6, 9);
    const sent = s.gw.openai.requests.at(-1)!;
    expect(sent.path).toBe("/v1/audio/transcriptions");
    expect(sent.headers["content-type"]).toStartWith("multipart/form-data; boundary=");
    const fields = sent.body as Record<string, unknown>;
    expect(Object.keys(fields).sort()).toEqual(["file", "language", "model", "temperature"]);
    expect(fields).toMatchObject({ model: "whisper-1", language: "en", temperature: "0.2" });
    const file = fields.file as File;
    expect({ name: file.name, size: file.size }).toEqual({ name: "talk.wav", size: 48_000 });
    expect(new Uint8Array(await file.arrayBuffer())[47_999]).toBe(3);
    const rows = await s.newRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ endpoint: "/v1/audio/transcriptions", model: "whisper-1", status: "success" });
    expect(Number(rows[0]!.cost)).toBeCloseTo((3 * 100) / 1e6, 9);
  });

  test("verbose_json: billed by its duration; text and vtt: the upstream's text and content type", async () => {
    const verbose = await client.audio.transcriptions.create({
      model: "openai:whisper-1",
      file: audio(2),
      response_format: "verbose_json",
    });
    expect(verbose).toMatchObject({ task: "transcribe", duration: 2, text: "transcript of talk.wav" });
    const text = await client.audio.transcriptions.create({
      model: "openai:whisper-1",
      file: audio(1, "a.mp3"),
      response_format: "text",
    });
    expect(text as unknown).toBe("transcript of a.mp3\n");
    const vtt = await client.audio.transcriptions
      .create({ model: "openai:whisper-1", file: audio(4), response_format: "vtt" })
      .withResponse();
    expect(vtt.response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(vtt.data as unknown).toBe("WEBVTT\n\n00:00:00.000 --> 00:00:04.000\ntranscript of talk.wav\n\n");
    const rows = await s.newRows();
    // verbose_json: 2 s; text reports no duration (cost unknown); vtt: its last cue ends at 4 s.
    const micros = rows.map((r) => (r.cost === null ? null : Math.round(Number(r.cost) * 1e6)));
    expect(micros.sort()).toEqual([200, 400, null]);
  });

  test("gpt-4o-transcribe: billed by the tokens it reports", async () => {
    const res = await client.audio.transcriptions.create({ model: "openai:gpt-4o-transcribe", file: audio(2) });
    // 32 000 bytes: 32 audio tokens in, 3 words out.
    expect(res.usage).toMatchObject({ type: "tokens", input_tokens: 32, output_tokens: 3 });
    const [row] = await s.newRows();
    expect(row).toMatchObject({ prompt_tokens: 32, completion_tokens: 3, status: "success" });
    expect(Number(row!.cost)).toBeCloseTo((32 * 2.5 + 3 * 10) / 1e6, 9);
  });

  test("bad input is a 422 without an upstream call; an unknown model and an unsupported provider 400", async () => {
    const before = s.gw.openai.requests.length;
    const wav = audio(1);
    for (const fields of [
      { model: "openai:whisper-1" }, // no file
      { model: "openai:whisper-1", file: "not a file" },
      { file: wav }, // no model
      { model: "openai:whisper-1", file: wav, temperature: "warm" },
      { model: "openai:whisper-1", file: wav, temperature: "3" },
      { model: "openai:whisper-1", file: wav, response_format: "xml" },
    ] as Record<string, string | File>[]) {
      const res = await upload(formOf(fields));
      expect(res.status).toBe(422);
      expect(((await res.json()) as Json).detail).toBeDefined();
    }
    const malformed = await fetch(`${s.gw.base}/v1/audio/transcriptions`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.key}`, "content-type": "multipart/form-data; boundary=b0undary" },
      body: '--b0undary\r\nContent-Disposition: form-data; name="model"\r\n\r\nopenai:whisper-1',
    });
    expect(malformed.status).toBe(422);
    const json = await fetch(`${s.gw.base}/v1/audio/transcriptions`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "openai:whisper-1", file: "x" }),
    });
    expect(json.status).toBe(422);
    const unknown = await failure(client.audio.transcriptions.create({ model: "nosuch:model", file: audio(1) }));
    expect((unknown as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    const refused = await upload(formOf({ model: "anthropic:claude", file: wav }));
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as Json).detail).toBe("Provider 'anthropic' does not support transcription");
    expect(s.gw.openai.requests.length).toBe(before);
  });

  test("auth and allow-lists: no key, an unknown key, a deactivated key, a key limited to other models", async () => {
    const wav = audio(1);
    expect((await upload(formOf({ model: "openai:whisper-1", file: wav }), null)).status).toBe(401);
    expect((await upload(formOf({ model: "openai:whisper-1", file: wav }), "gw-not-a-real-key")).status).toBe(401);
    const inactive = await s.gw.createKey({ user_id: "stt-user" });
    await s.gw.admin("PATCH", `/v1/keys/${inactive.id}`, { is_active: false });
    const revoked = await failure(
      openaiClient(s.gw, inactive.key).audio.transcriptions.create({ model: "openai:whisper-1", file: wav }),
    );
    expect((revoked as InstanceType<typeof OpenAI.APIError>).status).toBe(401);
    const limited = await s.gw.createKey({ user_id: "stt-user", allowed_models: ["openai:gpt-4o-transcribe"] });
    expect((await upload(formOf({ model: "openai:whisper-1", file: wav }), limited.key)).status).toBe(403);
    expect((await upload(formOf({ model: "openai:gpt-4o-transcribe", file: wav }), limited.key)).status).toBe(200);
    await s.newRows();
  });

  test("an upload over 25 MiB is a 413 in the documented envelope, declared or streamed", async () => {
    const before = s.gw.openai.requests.length;
    const big = new File([new Uint8Array(25 * 1024 * 1024 + 1)], "big.wav", { type: "audio/wav" });
    const res = await upload(formOf({ model: "openai:whisper-1", file: big }));
    expect(res.status).toBe(413);
    const body = (await res.json()) as Json;
    expect(body.detail).toStartWith("Request body too large:");
    expect(res.headers.get("x-request-id")).toBeTruthy();
    // Without a declared length: counted as it arrives.
    const encoded = new Response(formOf({ model: "openai:whisper-1", file: big }));
    const type = encoded.headers.get("content-type")!;
    const bytes = new Uint8Array(await encoded.arrayBuffer());
    const streamed = await fetch(`${s.gw.base}/v1/audio/transcriptions`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.key}`, "content-type": type },
      body: new ReadableStream({
        start(c) {
          c.enqueue(bytes);
          c.close();
        },
      }),
    });
    expect(streamed.status).toBe(413);
    expect(s.gw.openai.requests.length).toBe(before);
  });

  test("upstream failures: a 500 is a 502, a hang past the timeout a 504; an error row each", async () => {
    const failed = await failure(client.audio.transcriptions.create({ model: "openai:error-500", file: audio(1) }));
    expect((failed as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    const hung = await failure(client.audio.transcriptions.create({ model: "slow:hang", file: audio(1) }));
    expect((hung as InstanceType<typeof OpenAI.APIError>).status).toBe(504);
    const rows = await s.newRows();
    expect(rows.map((r) => r.status)).toEqual(["error", "error"]);
  });

  test("budgets: an exhausted budget is refused before any upstream call; a reservation settles at the cost", async () => {
    const poor = await budgetUser(s.gw, `stt-poor-${crypto.randomUUID().slice(0, 6)}`, 0);
    const before = s.gw.openai.requests.length;
    const refused = await failure(
      openaiClient(s.gw, poor.key).audio.transcriptions.create({ model: "openai:whisper-1", file: audio(1) }),
    );
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(403);
    expect(s.gw.openai.requests.length).toBe(before);
    const userId = `stt-rich-${crypto.randomUUID().slice(0, 6)}`;
    const rich = await budgetUser(s.gw, userId, 1);
    await openaiClient(s.gw, rich.key).audio.transcriptions.create({ model: "openai:whisper-1", file: audio(5) });
    let user: Json = {};
    expect(
      await waitFor(async () => {
        user = await s.gw.admin<Json>("GET", `/v1/users/${userId}`);
        return user.reserved === 0;
      }),
    ).toBe(true);
    expect(Number(user.spend)).toBeCloseTo((5 * 100) / 1e6, 9);
  });
});
