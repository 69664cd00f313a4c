/**
 * The Vercel AI SDK (`ai`, `@ai-sdk/openai` chat and Responses models, `@ai-sdk/anthropic`) against dist/gateway,
 * unchanged: text, streams, a client tool round trip, structured output and embeddings, each checked for content and
 * for the usage rows matching what the SDK reported; then the failures a user meets (revoked key, upstream 5xx, a
 * stream cut mid-way), each as the SDK's own error.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import {
  APICallError,
  embed,
  embedMany,
  generateObject,
  generateText,
  type LanguageModel,
  Output,
  stepCountIs,
  streamText,
  tool,
} from "ai";
import { z } from "zod";
import { MOCK_EMBEDDING, MOCK_TEXT, MOCK_USAGE, chunkText } from "../../src/providers/_mocks";
import { type ClientGateway, rejection, startClientGateway, type UsageRow } from "./_gateway";

let gw: ClientGateway;

beforeAll(async () => {
  gw = await startClientGateway();
}, 120_000);
afterAll(async () => {
  await gw?.stop();
});

/** The SDK's providers for a fresh user of the test's own (no retries: a failure must surface as it is). */
async function providers(userId: string) {
  const { key, id } = await gw.keyFor(userId);
  return {
    keyId: id,
    openai: createOpenAI({ baseURL: `${gw.url}/v1`, apiKey: key }),
    anthropic: createAnthropic({ baseURL: `${gw.url}/v1`, apiKey: key }),
  };
}

type Tokens = { inputTokens?: number; outputTokens?: number; totalTokens?: number };

/** The usage rows' token sums, in the SDK's terms. */
function summed(rows: UsageRow[]): Tokens {
  const sum = (k: string) => rows.reduce((n, r) => n + Number(r[k] ?? 0), 0);
  return {
    inputTokens: sum("prompt_tokens"),
    outputTokens: sum("completion_tokens"),
    totalTokens: sum("total_tokens"),
  };
}
const sdkUsage = (u: Tokens): Tokens => ({
  inputTokens: u.inputTokens,
  outputTokens: u.outputTokens,
  totalTokens: u.totalTokens,
});

/** A client-side tool: the mock model (`toolloop`) calls it with the user's text as `input`. */
const lookup = tool({
  description: "Looks the weather up",
  inputSchema: z.object({ input: z.string() }),
  execute: async ({ input }) => `sunny (${input})`,
});

const structured = z.object({ city: z.string(), temperature: z.number(), sunny: z.boolean() });

/** The SDK model for the mock's scenario tokens (`toolloop`, `break-stream`...; none = the plain model). */
type ModelFor = (tokens?: string) => LanguageModel;
const withTokens = (base: string, tokens?: string) => (tokens ? `${base}+${tokens}` : base);

const models = (p: Awaited<ReturnType<typeof providers>>): [string, ModelFor][] => [
  ["@ai-sdk/openai chat", (tokens) => p.openai.chat(withTokens("openai:gpt-4o-mini", tokens))],
  ["@ai-sdk/openai responses", (tokens) => p.openai.responses(withTokens("openai:gpt-4o-mini", tokens))],
  ["@ai-sdk/anthropic", (tokens) => p.anthropic(withTokens("anthropic:claude-sonnet-4-5", tokens))],
];

describe.each(["@ai-sdk/openai chat", "@ai-sdk/openai responses", "@ai-sdk/anthropic"])("%s", (label) => {
  const modelFor = async (userId: string) => {
    const p = await providers(userId);
    return models(p).find(([name]) => name === label)![1];
  };
  const slug = label.replace(/[^a-z]+/g, "-");

  test("generateText: the text, finishReason stop, and usage equal to the row", async () => {
    const user = `vercel-text-${slug}`;
    const model = await modelFor(user);
    const result = await generateText({ model: model(), prompt: "Say hello." });
    expect(result.text).toBe(MOCK_TEXT);
    expect(result.finishReason).toBe("stop");
    expect(sdkUsage(result.usage)).toEqual({
      inputTokens: MOCK_USAGE.prompt,
      outputTokens: MOCK_USAGE.completion,
      totalTokens: MOCK_USAGE.prompt + MOCK_USAGE.completion,
    });
    const rows = await gw.rows(user, 1);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "success", estimated: false });
    expect(summed(rows)).toEqual(sdkUsage(result.usage));
  });

  test("streamText: every delta, a clean finish (no error part), usage equal to the row", async () => {
    const user = `vercel-stream-${slug}`;
    const model = await modelFor(user);
    const result = streamText({ model: model(), prompt: "Say hello." });
    const parts: string[] = [];
    for await (const part of result.fullStream) parts.push(part.type);
    expect(parts).not.toContain("error");
    expect(await result.text).toBe([0, 1, 2].map(chunkText).join(""));
    expect(await result.finishReason).toBe("stop");
    const usage = await result.usage;
    expect(usage.inputTokens).toBe(MOCK_USAGE.prompt);
    const rows = await gw.rows(user, 1);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "success", estimated: false });
    expect(summed(rows)).toEqual(sdkUsage(usage));
  });

  test("a tool() round trip: the model calls the client's tool, gets its result and answers with it", async () => {
    const user = `vercel-tool-${slug}`;
    const model = await modelFor(user);
    const result = await generateText({
      model: model("toolloop"),
      prompt: "Paris",
      tools: { lookup },
      stopWhen: stepCountIs(3),
    });
    expect(result.steps).toHaveLength(2);
    expect(result.steps[0]?.toolCalls.map((c) => [c.toolName, c.input])).toEqual([["lookup", { input: "Paris" }]]);
    expect(result.steps[0]?.toolResults.map((r) => r.output)).toEqual(["sunny (Paris)"]);
    expect(result.text).toBe("Tool said: sunny (Paris)");
    const rows = await gw.rows(user, 2);
    expect(rows).toHaveLength(2);
    expect(summed(rows)).toEqual(sdkUsage(result.totalUsage));
  });

  test("a tool() round trip, streamed", async () => {
    const user = `vercel-tool-stream-${slug}`;
    const model = await modelFor(user);
    const result = streamText({
      model: model("toolloop"),
      prompt: "Rome",
      tools: { lookup },
      stopWhen: stepCountIs(3),
    });
    expect(await result.text).toBe("Tool said: sunny (Rome)");
    const steps = await result.steps;
    expect(steps[0]?.toolResults.map((r) => r.output)).toEqual(["sunny (Rome)"]);
    const rows = await gw.rows(user, 2);
    expect(rows).toHaveLength(2);
    expect(summed(rows)).toEqual(sdkUsage(await result.totalUsage));
  });

  test("a stream cut mid-way (connection reset, or a body ending early) is reported as an error, never a clean finish", async () => {
    const model = await modelFor(`vercel-cut-${slug}`);
    for (const cut of ["break-stream", "cut-stream"]) {
      const errors: unknown[] = [];
      const result = streamText({
        model: model(cut),
        prompt: "Say hello.",
        onError: ({ error }) => void errors.push(error),
      });
      const parts: string[] = [];
      for await (const part of result.fullStream) parts.push(part.type);
      expect(parts).toContain("error");
      expect(errors.length).toBeGreaterThan(0);
      expect(await result.finishReason).not.toBe("stop");
    }
  });

  test("a revoked key is an APICallError with status 401; an upstream 500 one with 502 (retryable)", async () => {
    const user = `vercel-errors-${slug}`;
    const p = await providers(user);
    const model = models(p).find(([name]) => name === label)![1];
    const upstream = await rejection(generateText({ model: model("error-500"), prompt: "hi", maxRetries: 0 }));
    expect(APICallError.isInstance(upstream)).toBe(true);
    expect((upstream as APICallError).statusCode).toBe(502);
    expect((upstream as APICallError).isRetryable).toBe(true);
    await gw.revoke(p.keyId);
    const revoked = await rejection(generateText({ model: model(), prompt: "hi", maxRetries: 0 }));
    expect(APICallError.isInstance(revoked)).toBe(true);
    expect((revoked as APICallError).statusCode).toBe(401);
    expect((revoked as APICallError).isRetryable).toBe(false);
  });
});

describe("structured output and embeddings (@ai-sdk/openai)", () => {
  test("generateObject (chat and Responses models) and streamText with Output.object: the object, valid against the client's schema", async () => {
    const user = "vercel-object";
    const p = await providers(user);
    for (const model of [p.openai.chat("openai:gpt-4o-mini"), p.openai.responses("openai:gpt-4o-mini")]) {
      const { object, usage } = await generateObject({ model, schema: structured, prompt: "Weather in Paris?" });
      expect(object).toEqual({ city: "mock", temperature: 42, sunny: true });
      expect(usage.inputTokens).toBe(MOCK_USAGE.prompt);
    }
    const sent = gw.openai.requests.slice(-2).map((r) => r.body as Record<string, unknown>);
    expect(sent[0]?.["response_format"]).toMatchObject({ type: "json_schema" });
    expect(sent[1]?.["text"]).toMatchObject({ format: { type: "json_schema" } });
    // generateObject's successor in ai 7: generateText with an output setting, streamed here
    const streamed = streamText({
      model: p.openai.responses("openai:gpt-4o-mini"),
      output: Output.object({ schema: structured }),
      prompt: "Weather in Paris?",
    });
    expect(await streamed.output).toEqual({ city: "mock", temperature: 42, sunny: true });
    const rows = await gw.rows(user, 3);
    expect(rows.map((r) => r["endpoint"])).toEqual(["/v1/chat/completions", "/v1/responses", "/v1/responses"]);
  });

  test("Anthropic through the chat route: generateObject via the gateway's forced-tool translation", async () => {
    const p = await providers("vercel-object-anthropic");
    const { object } = await generateObject({
      model: p.openai.chat("anthropic:claude-sonnet-4-5"),
      schema: z.object({ answer: z.number() }),
      prompt: "The answer?",
    });
    expect(object).toEqual({ answer: 42 });
  });

  test("embed and embedMany: the vectors and the token usage of the rows", async () => {
    const user = "vercel-embed";
    const p = await providers(user);
    const model = p.openai.embedding("openai:text-embedding-3-small");
    const one = await embed({ model, value: "hello" });
    expect(one.embedding).toEqual([...MOCK_EMBEDDING]);
    const many = await embedMany({ model, values: ["a", "b", "c"] });
    expect(many.embeddings).toEqual([[...MOCK_EMBEDDING], [...MOCK_EMBEDDING], [...MOCK_EMBEDDING]]);
    const rows = await gw.rows(user, 2);
    expect(rows.map((r) => [r["endpoint"], r["prompt_tokens"], r["completion_tokens"]])).toEqual([
      ["/v1/embeddings", one.usage.tokens, 0],
      ["/v1/embeddings", many.usage.tokens, 0],
    ]);
  });

  test("the app's end-user id (providerOptions.openai.user) is recorded on the row; the key's user is billed", async () => {
    const user = "vercel-end-user";
    const p = await providers(user);
    await generateText({
      model: p.openai.chat("openai:gpt-4o-mini"),
      prompt: "hi",
      providerOptions: { openai: { user: "app-user-77" } },
    });
    const [row] = await gw.rows(user, 1);
    expect(row).toMatchObject({ user_id: user, end_user_id: "app-user-77", status: "success" });
  });
});
