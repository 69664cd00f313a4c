/**
 * LangChain JS (`@langchain/openai` ChatOpenAI and OpenAIEmbeddings, `@langchain/anthropic` ChatAnthropic) against
 * dist/gateway, unchanged: invoke, stream, bindTools with a tool round trip, embeddings, each checked for content
 * and for the usage rows matching the messages' usage_metadata; then a revoked key, an upstream 5xx and a stream cut
 * mid-way, each as the library's own error.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ChatAnthropic } from "@langchain/anthropic";
import type { AIMessageChunk, BaseMessage } from "@langchain/core/messages";
import { HumanMessage, ToolMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { ChatOpenAI, OpenAIEmbeddings } from "@langchain/openai";
import OpenAI from "openai";
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

type Usage = { input_tokens: number; output_tokens: number; total_tokens: number };
const rowUsage = (rows: UsageRow[]): Usage => {
  const sum = (k: string) => rows.reduce((n, r) => n + Number(r[k] ?? 0), 0);
  return {
    input_tokens: sum("prompt_tokens"),
    output_tokens: sum("completion_tokens"),
    total_tokens: sum("total_tokens"),
  };
};
const usageOf = (m: { usage_metadata?: Usage }): Usage | undefined =>
  m.usage_metadata && {
    input_tokens: m.usage_metadata.input_tokens,
    output_tokens: m.usage_metadata.output_tokens,
    total_tokens: m.usage_metadata.total_tokens,
  };

/** The chat models of a fresh user of the test's own (no retries: failures surface as they are). */
async function chatModels(userId: string, model: { openai?: string; anthropic?: string } = {}) {
  const { key, id } = await gw.keyFor(userId);
  return {
    keyId: id,
    openai: new ChatOpenAI({
      model: `openai:${model.openai ?? "gpt-4o-mini"}`,
      apiKey: key,
      configuration: { baseURL: `${gw.url}/v1` },
      maxRetries: 0,
    }),
    openaiResponses: new ChatOpenAI({
      model: `openai:${model.openai ?? "gpt-4o-mini"}`,
      apiKey: key,
      configuration: { baseURL: `${gw.url}/v1` },
      maxRetries: 0,
      useResponsesApi: true,
    }),
    anthropic: new ChatAnthropic({
      model: `anthropic:${model.anthropic ?? "claude-sonnet-4-5"}`,
      apiKey: key,
      anthropicApiUrl: gw.url,
      maxRetries: 0,
    }),
  };
}

/** Collects a stream into one message (chunks concatenated, as LangChain does). */
async function collect(stream: AsyncIterable<AIMessageChunk>): Promise<AIMessageChunk> {
  let all: AIMessageChunk | null = null;
  for await (const chunk of stream) all = all ? all.concat(chunk) : chunk;
  if (!all) throw new Error("empty stream");
  return all;
}

const lookup = tool(async ({ input }: { input: string }) => `sunny (${input})`, {
  name: "lookup",
  description: "Looks the weather up",
  schema: z.object({ input: z.string() }),
});

describe.each(["openai", "openaiResponses", "anthropic"] as const)("%s", (which) => {
  const label = { openai: "ChatOpenAI", openaiResponses: "ChatOpenAI (useResponsesApi)", anthropic: "ChatAnthropic" }[
    which
  ];

  test(`${label}.invoke: the text and usage_metadata equal to the row`, async () => {
    const user = `lc-invoke-${which}`;
    const models = await chatModels(user);
    const message = await models[which].invoke("Say hello.");
    expect(message.text).toBe(MOCK_TEXT);
    expect(usageOf(message)).toEqual({
      input_tokens: MOCK_USAGE.prompt,
      output_tokens: MOCK_USAGE.completion,
      total_tokens: MOCK_USAGE.prompt + MOCK_USAGE.completion,
    });
    const rows = await gw.rows(user, 1);
    expect(rows).toHaveLength(1);
    expect(rowUsage(rows)).toEqual(usageOf(message)!);
  });

  test(`${label}.stream: every chunk, ending cleanly, usage_metadata equal to the row`, async () => {
    const user = `lc-stream-${which}`;
    const models = await chatModels(user);
    const message = await collect(await models[which].stream("Say hello."));
    expect(message.text).toBe([0, 1, 2].map(chunkText).join(""));
    const rows = await gw.rows(user, 1);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "success", estimated: false });
    if (which !== "anthropic") expect(rowUsage(rows)).toEqual(usageOf(message)!);
    else {
      // ChatAnthropic adds message_start's output_tokens (1) to message_delta's, which Anthropic documents as the
      // cumulative count (3): it does the same against Anthropic itself. The row has Anthropic's figure.
      expect(rowUsage(rows)).toEqual({
        input_tokens: MOCK_USAGE.prompt,
        output_tokens: 3,
        total_tokens: MOCK_USAGE.prompt + 3,
      });
      expect(usageOf(message)).toEqual({
        input_tokens: MOCK_USAGE.prompt,
        output_tokens: 4,
        total_tokens: MOCK_USAGE.prompt + 4,
      });
    }
  });

  test(`${label}.bindTools: the model calls the tool, the ToolMessage goes back, the answer uses it`, async () => {
    const user = `lc-tools-${which}`;
    const models = await chatModels(user, { openai: "toolloop", anthropic: "toolloop" });
    const llm = models[which].bindTools([lookup]);
    const history: BaseMessage[] = [new HumanMessage("Paris")];
    const first = await llm.invoke(history);
    expect(first.tool_calls?.map((c) => [c.name, c.args])).toEqual([["lookup", { input: "Paris" }]]);
    history.push(first);
    for (const call of first.tool_calls ?? [])
      history.push(
        new ToolMessage({ content: await lookup.invoke(call.args as { input: string }), tool_call_id: call.id ?? "" }),
      );
    const answer = await llm.invoke(history);
    expect(answer.text).toBe("Tool said: sunny (Paris)");
    const rows = await gw.rows(user, 2);
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => [r["prompt_tokens"], r["completion_tokens"]])).toEqual(
      [first, answer].map((m) => [m.usage_metadata?.input_tokens, m.usage_metadata?.output_tokens]),
    );
  });

  test(`${label}: a stream cut mid-way rejects the iteration; an upstream 500 is a 5xx error; a revoked key a 401`, async () => {
    const user = `lc-errors-${which}`;
    for (const tokens of ["break-stream", "cut-stream"]) {
      const models = await chatModels(`${user}-${tokens}`, { openai: tokens, anthropic: tokens });
      const cut = await rejection(collect(await models[which].stream("Say hello.")));
      expect(cut).toBeInstanceOf(Error);
    }

    const failing = await chatModels(`${user}-500`, { openai: "error-500", anthropic: "error-500" });
    const upstream = (await rejection(failing[which].invoke("hi"))) as {
      status?: number;
      constructor: { name: string };
    };
    expect(upstream.status).toBe(502);
    expect(upstream.constructor.name).toBe("InternalServerError");
    if (which !== "anthropic") expect(upstream).toBeInstanceOf(OpenAI.InternalServerError);

    await gw.revoke(failing.keyId);
    const revoked = (await rejection(failing[which].invoke("hi"))) as {
      status?: number;
      lc_error_code?: string;
      constructor: { name: string };
    };
    expect(revoked.status).toBe(401);
    expect(revoked.constructor.name).toBe("AuthenticationError");
    expect(revoked.lc_error_code).toBe("MODEL_AUTHENTICATION");
    if (which !== "anthropic") expect(revoked).toBeInstanceOf(OpenAI.AuthenticationError);
  });
});

describe("OpenAIEmbeddings", () => {
  test("embedQuery and embedDocuments: the vectors, and rows with the embedding tokens", async () => {
    const user = "lc-embeddings";
    const { key } = await gw.keyFor(user);
    const embeddings = new OpenAIEmbeddings({
      model: "openai:text-embedding-3-small",
      apiKey: key,
      configuration: { baseURL: `${gw.url}/v1` },
      maxRetries: 0,
    });
    expect(await embeddings.embedQuery("hello")).toEqual([...MOCK_EMBEDDING]);
    expect(await embeddings.embedDocuments(["a", "b"])).toEqual([[...MOCK_EMBEDDING], [...MOCK_EMBEDDING]]);
    const rows = await gw.rows(user, 2);
    expect(rows.map((r) => [r["endpoint"], r["prompt_tokens"], r["completion_tokens"], r["status"]])).toEqual([
      ["/v1/embeddings", 3, 0, "success"],
      ["/v1/embeddings", 6, 0, "success"],
    ]);
  });
});
