import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { drain, gatewayError, settingsFor } from "../_contract/index.ts";
import { type MockServer, startOpenAIMock, startVoyageMock } from "../_mocks/index.ts";
import { requireCapability } from "../capabilities.ts";
import { mistral } from "../mistral/index.ts";
import { openaiFamily } from "./index.ts";

let mock: MockServer;
beforeAll(() => {
  mock = startOpenAIMock();
});
afterAll(() => mock.stop());

const openai = openaiFamily["openai"]!;
const lastBody = () => mock.requests.at(-1)?.body as Record<string, unknown>;
const req = (model: string, extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: "user", content: "Hi" }],
  ...extra,
});

describe("OpenAI-compatible request shaping", () => {
  test("streams always ask for usage, merged with the client's stream_options; user and gateway fields stay home", async () => {
    await drain(
      await openai.chatStream!(
        req("m", { stream_options: { foo: 1 }, user: "u", tools_header: "x", seed: 3, unknown_key: 1 }),
        settingsFor(mock),
      ),
    );
    const body = lastBody();
    expect(body["stream"]).toBe(true);
    expect(body["stream_options"]).toEqual({ foo: 1, include_usage: true });
    expect(body["seed"]).toBe(3);
    for (const k of ["user", "tools_header", "unknown_key"]) expect(body[k]).toBeUndefined();
  });

  test("non-stream calls send no stream_options", async () => {
    await openai.chat!(req("m", { stream_options: { include_usage: true } }), settingsFor(mock));
    expect(lastBody()["stream"]).toBe(false);
    expect(lastBody()["stream_options"]).toBeUndefined();
  });

  test("Mistral dialect: no stream_options, random_seed, tool_choice any, rejected fields dropped", async () => {
    const stream = await mistral.chatStream!(
      req("m", { seed: 7, tool_choice: "required", user: "u", logprobs: true, service_tier: "auto" }),
      settingsFor(mock),
    );
    await drain(stream);
    const body = lastBody();
    expect(body["stream_options"]).toBeUndefined();
    expect(body["random_seed"]).toBe(7);
    expect(body["seed"]).toBeUndefined();
    expect(body["tool_choice"]).toBe("any");
    for (const k of ["user", "logprobs", "service_tier"]) expect(body[k]).toBeUndefined();
  });

  test("Ollama serves under /v1 of its base", async () => {
    await openaiFamily["ollama"]!.chat!(req("llama3:8b"), { ...settingsFor(mock), apiKey: null, apiBase: mock.url });
    const sent = mock.requests.at(-1)!;
    expect(sent.path).toBe("/v1/chat/completions");
    expect(sent.headers["authorization"]).toBeUndefined();
  });
});

describe("other endpoints", () => {
  test("embeddings with usage", async () => {
    const res = await openai.embed!({ model: "e", input: ["a", "b"], dimensions: 3 }, settingsFor(mock));
    expect(res.body.data.length).toBe(2);
    expect(res.usage).toMatchObject({ promptTokens: 6, completionTokens: 0 });
    expect(lastBody()).toEqual({ model: "e", input: ["a", "b"], dimensions: 3 });
  });

  test("moderation: OpenAI shape; capability refusal names the provider", async () => {
    const res = await openai.moderate!({ model: "omni", input: ["fine", "flag me"] }, settingsFor(mock));
    expect(res.body.results.map((r) => r.flagged)).toEqual([false, true]);
    const groq = openaiFamily["groq"]!;
    expect(groq.moderate).toBeUndefined();
    const err = await gatewayError(Promise.resolve().then(() => requireCapability(groq, "moderations", "groq")));
    expect([err.status, err.message]).toEqual([400, "Provider 'groq' does not support moderation"]);
  });

  test("Mistral moderation mapped to the OpenAI shape with provider_raw", async () => {
    const res = await mistral.moderate!({ model: "mistral-moderation-latest", input: "flag this" }, settingsFor(mock));
    expect(res.body.results[0]).toMatchObject({ flagged: true, categories: { violence: true } });
    expect(res.body.results[0]?.provider_raw).toBeDefined();
  });

  test("pass-through failures use the pass-through message", async () => {
    const err = await gatewayError(openai.embed!({ model: "error-500", input: "x" }, settingsFor(mock)));
    expect([err.status, err.message]).toEqual([502, "The request could not be completed by the provider"]);
  });

  test("Responses API: JSON and stream with usage; others refuse", async () => {
    const res = await openai.responses!(
      { model: "r", input: "hi", user: "u", max_tool_iterations: 3, truncation: "auto" },
      settingsFor(mock),
    );
    expect(res.usage).toMatchObject({ promptTokens: 12, completionTokens: 5 });
    expect(lastBody()).toEqual({ model: "r", input: "hi", truncation: "auto", stream: false });
    const stream = await openai.responsesStream!({ model: "cache", input: "hi" }, settingsFor(mock));
    const types = (await drain(stream)).map((e) => e.type);
    expect(types[0]).toBe("response.created");
    expect(types.at(-1)).toBe("response.completed");
    expect(stream.usage).toMatchObject({ promptTokens: 12, cacheReadTokens: 4 });
    const groq = openaiFamily["groq"]!;
    expect([groq.responses, groq.responsesStream]).toEqual([undefined, undefined]);
    const err = await gatewayError(Promise.resolve().then(() => requireCapability(groq, "responses", "groq")));
    expect(err.message).toBe("Provider 'groq' does not support the Responses API");
  });

  test("Voyage: its own field names, OpenAI's float format sent as absent, total_tokens as the input tokens", async () => {
    const voyage = startVoyageMock();
    try {
      const res = await openaiFamily["voyage"]!.embed!(
        { model: "voyage-3.5", input: ["a", "b"], dimensions: 256, encoding_format: "float", input_type: "query" },
        settingsFor(voyage),
      );
      expect(voyage.requests.at(-1)?.body).toEqual({
        model: "voyage-3.5",
        input: ["a", "b"],
        input_type: "query",
        output_dimension: 256,
      });
      expect(res.usage).toMatchObject({ promptTokens: 4, completionTokens: 0, totalTokens: 4 });
    } finally {
      await voyage.stop();
    }
  });

  test("model listing", async () => {
    const models = await openai.listModels!(settingsFor(mock));
    expect(models.map((m) => m.id)).toEqual(["gpt-4o-mini", "text-embedding-3-small"]);
  });

  test("Groq's x_groq.usage stands in for a missing usage; reasoning strings are lifted", async () => {
    const server = Bun.serve({
      port: 0,
      fetch: () =>
        Response.json({
          id: "g",
          object: "chat.completion",
          created: 1,
          model: "llama",
          choices: [
            { index: 0, message: { role: "assistant", content: "x", reasoning: "why" }, finish_reason: "stop" },
          ],
          x_groq: { id: "req", usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } },
        }),
    });
    try {
      const res = await openaiFamily["groq"]!.chat!(req("llama"), {
        ...settingsFor(mock),
        apiBase: `http://127.0.0.1:${server.port}`,
      });
      expect(res.usage.totalTokens).toBe(7);
      expect(res.body.choices[0]?.message.reasoning).toEqual({ content: "why" });
    } finally {
      await server.stop(true);
    }
  });
});
