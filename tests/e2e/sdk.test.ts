/**
 * The official SDKs against the compiled binary, unchanged: every inference endpoint, JSON and streams, and typed
 * errors. The binary talks to the mock providers (real wire formats) running in this test process.
 */
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import { MOCK_USAGE, type MockServer, startAnthropicMock, startOpenAIMock } from "../../src/providers/_mocks";
import { ensureBinary, type Served, startServe, stopAll, tempDir } from "./_gateway";

const MASTER = "sdk-e2e-master-key-0123456789";
/** What a promise rejected with (bun's `rejects.toBeInstanceOf` misreads the SDKs' error classes). */
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => new Error("resolved instead of rejecting"),
    (e: unknown) => e,
  );

let oai: MockServer;
let ant: MockServer;
let gw: Served;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  await ensureBinary();
  oai = startOpenAIMock();
  ant = startAnthropicMock();
  const dir = tempDir("gw-sdk-");
  writeFileSync(
    join(dir, "config.yml"),
    [
      `master_key: "${MASTER}"`,
      `database_url: "sqlite:///${join(dir, "gw.db")}"`,
      "providers:",
      "  openai:",
      "    api_key: sk-e2e-openai",
      `    api_base: "${oai.apiBase}"`,
      "  anthropic:",
      "    api_key: sk-ant-e2e",
      `    api_base: "${ant.apiBase}"`,
      "pricing:",
      '  "openai:gpt-4o": { input_price_per_million: 2.5, output_price_per_million: 10 }',
    ].join("\n"),
  );
  gw = await startServe(["--config", join(dir, "config.yml")], { cwd: dir });
  const res = await fetch(`${gw.url}/v1/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
    body: JSON.stringify({ user_id: "sdk-user" }),
  });
  const { key } = (await res.json()) as { key: string };
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: gw.url, apiKey: key, maxRetries: 0 });
}, 120_000);

afterAll(async () => {
  await stopAll();
  oai.stop();
  ant.stop();
});

describe("openai SDK against dist/gateway", () => {
  test("chat: JSON with usage and cost header", async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: "openai:gpt-4o", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBeString();
    expect(data.usage?.prompt_tokens).toBe(MOCK_USAGE.prompt);
    expect(Number(response.headers.get("x-gateway-cost-usd"))).toBeGreaterThan(0);
  });

  test("chat: stream with usage and cost_usd", async () => {
    const stream = await openai.chat.completions.create({
      model: "openai:gpt-4o",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: (OpenAI.CompletionUsage & { cost_usd?: number }) | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(usage?.prompt_tokens).toBe(MOCK_USAGE.prompt);
    expect(usage?.cost_usd).toBeGreaterThan(0);
  });

  test("chat to an Anthropic model, streamed", async () => {
    const stream = await openai.chat.completions.create({
      model: "anthropic:claude-sonnet-4-6",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text.length).toBeGreaterThan(0);
  });

  test("embeddings, moderations, responses, models", async () => {
    const e = await openai.embeddings.create({ model: "openai:text-embedding-3-small", input: ["a", "b"] });
    expect(e.data.length).toBe(2);
    const m = await openai.moderations.create({ model: "openai:omni-moderation-latest", input: "hello" });
    expect(m.results[0]?.flagged).toBeBoolean();
    const r = await openai.responses.create({ model: "openai:gpt-4o", input: "hi" });
    expect(r.output_text.length).toBeGreaterThan(0);
    const list = await openai.models.list();
    expect(list.data.map((x) => x.id)).toContain("openai:gpt-4o");
    const one = await openai.models.retrieve("openai:gpt-4o");
    expect(one.id).toBe("openai:gpt-4o");
  });

  test("audio transcriptions: a multipart upload, JSON and text formats; an upload over 25 MiB is a 413", async () => {
    const file = new File([new Uint8Array(32_000)], "clip.wav", { type: "audio/wav" });
    const json = await openai.audio.transcriptions.create({ model: "openai:whisper-1", file });
    expect(json.text).toBe("transcript of clip.wav");
    const text = await openai.audio.transcriptions.create({ model: "openai:whisper-1", file, response_format: "text" });
    expect(text as unknown).toBe("transcript of clip.wav\n");
    const big = new File([new Uint8Array(25 * 1024 * 1024 + 1)], "big.wav", { type: "audio/wav" });
    const err = await rejection(openai.audio.transcriptions.create({ model: "openai:whisper-1", file: big }));
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
  });

  test("errors arrive as the SDK's typed exceptions", async () => {
    const call = (model: string) =>
      openai.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] });
    expect(await rejection(call("openai:error-429"))).toBeInstanceOf(OpenAI.RateLimitError);
    expect(await rejection(call("openai:error-500"))).toBeInstanceOf(OpenAI.InternalServerError);
    expect(await rejection(call("openai:error-400"))).toBeInstanceOf(OpenAI.BadRequestError);
    expect(await rejection(call("nope"))).toBeInstanceOf(OpenAI.BadRequestError);
    const bad = new OpenAI({
      baseURL: `${gw.url}/v1`,
      apiKey: "gw-not-a-real-key-but-long-enough-for-the-format-check-0000",
      maxRetries: 0,
    });
    expect(
      await rejection(
        bad.chat.completions.create({ model: "openai:gpt-4o", messages: [{ role: "user", content: "hi" }] }),
      ),
    ).toBeInstanceOf(OpenAI.AuthenticationError);
  });
});

describe("anthropic SDK against dist/gateway", () => {
  test("messages: JSON, stream, tool use, count_tokens", async () => {
    const msg = await anthropic.messages.create({
      model: "anthropic:claude-sonnet-4-6",
      max_tokens: 64,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(msg.type).toBe("message");
    expect(msg.stop_reason).toBe("end_turn");
    const final = await anthropic.messages
      .stream({ model: "anthropic:claude-sonnet-4-6", max_tokens: 64, messages: [{ role: "user", content: "hi" }] })
      .finalMessage();
    expect(final.content[0]?.type).toBe("text");
    const tool = await anthropic.messages.create({
      model: "anthropic:tools",
      max_tokens: 64,
      tools: [
        {
          name: "get_weather",
          description: "weather",
          input_schema: { type: "object", properties: { city: { type: "string" } } },
        },
      ],
      messages: [{ role: "user", content: "weather in Paris?" }],
    });
    expect(tool.stop_reason).toBe("tool_use");
    expect(tool.content.some((b) => b.type === "tool_use")).toBe(true);
    const count = await anthropic.messages.countTokens({
      model: "anthropic:claude-sonnet-4-6",
      messages: [{ role: "user", content: "hello there" }],
    });
    expect(count.input_tokens).toBeGreaterThan(0);
  });

  test("messages to an OpenAI-format model, and typed errors", async () => {
    const msg = await anthropic.messages.create({
      model: "openai:gpt-4o",
      max_tokens: 64,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(msg.content[0]?.type).toBe("text");
    expect(
      await rejection(
        anthropic.messages.create({
          model: "anthropic:error-429",
          max_tokens: 8,
          messages: [{ role: "user", content: "hi" }],
        }),
      ),
    ).toBeInstanceOf(Anthropic.RateLimitError);
    expect(
      await rejection(
        anthropic.messages.create({
          model: "anthropic:error-529",
          max_tokens: 8,
          messages: [{ role: "user", content: "hi" }],
        }),
      ),
    ).toBeInstanceOf(Anthropic.InternalServerError);
  });
});
