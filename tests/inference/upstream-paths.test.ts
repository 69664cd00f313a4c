/**
 * Model names never choose the upstream path: a name is one encoded path segment of the provider's URL, and a name
 * no provider could take there (dot segments, path separators, control characters) is a 400 before any upstream
 * call. Driven through the gateway against the Gemini, Azure OpenAI and Bedrock mocks, which record every path.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { type MockServer, startAzureMock, startBedrockMock, startGeminiMock } from "../../src/providers/_mocks";
import { createSqliteDatabase, type TestDatabase } from "../helpers/db";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { hi, post } from "./_helpers";

const BEDROCK_TOKEN = "bedrock-test-token";

describe("model names in upstream URLs", () => {
  let db: TestDatabase;
  let gw: TestGateway;
  let key: string;
  let gemini: MockServer;
  let azure: MockServer;
  let bedrock: MockServer;
  const mocks = () => [gemini, azure, bedrock];

  beforeAll(async () => {
    db = await createSqliteDatabase();
    gemini = startGeminiMock();
    azure = startAzureMock();
    bedrock = startBedrockMock({ bearerToken: BEDROCK_TOKEN });
    gw = await startTestGateway(db, {
      providers: {
        gemini: { api_key: "gemini-operator-key", api_base: gemini.url },
        azureopenai: { api_key: "azure-operator-key", api_base: azure.url },
        bedrock: { api_key: BEDROCK_TOKEN, api_base: bedrock.url },
      },
    });
    key = (await gw.createKey({ user_id: "paths-user" })).key;
  });
  afterAll(async () => {
    await gw.close();
    for (const m of mocks()) await m.stop();
    await db.drop();
  });
  beforeEach(() => {
    for (const m of mocks()) m.reset();
  });

  const chat = (model: string) => post(gw, "/v1/chat/completions", key, { model, messages: hi });

  test("traversal and path characters in a Gemini model name are refused before the operator's key leaves", async () => {
    for (const model of [
      "gemini:x/../../../../v1beta/cachedContents#",
      "gemini:../../../anything?x=",
      "gemini:models/../../x",
      "gemini:..",
      "gemini:a\nb",
      "gemini:tunedModels/a/b",
    ]) {
      const res = await chat(model);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; param: string } };
      expect(body.error.code).toBe("invalid_model");
      expect(body.error.param).toBe("model");
    }
    expect(gemini.requests).toHaveLength(0);
  });

  test("a Gemini model name is one encoded segment: `?` and `#` stay inside it", async () => {
    const plain = await chat("gemini:gemini-2.5-flash");
    expect(plain.status).toBe(200);
    await plain.arrayBuffer();
    const odd = await chat("gemini:gemini-2.5-flash?alt=json#frag");
    await odd.arrayBuffer();
    expect(gemini.requests.map((r) => r.path)).toEqual([
      "/v1beta/models/gemini-2.5-flash:generateContent",
      "/v1beta/models/gemini-2.5-flash%3Falt%3Djson%23frag:generateContent",
    ]);
    const embed = await post(gw, "/v1/embeddings", key, { model: "gemini:models/text-embedding-004", input: "x" });
    expect(embed.status).toBe(200);
    expect(gemini.requests.at(-1)?.path).toBe("/v1beta/models/text-embedding-004:batchEmbedContents");
  });

  test("Azure OpenAI deployments and Bedrock model ids cannot climb out of their path either", async () => {
    for (const model of [
      "azureopenai:..",
      "azureopenai:dep/../../other",
      "azureopenai:.",
      "bedrock:..",
      "bedrock:x\u0000y",
    ]) {
      const res = await chat(model);
      expect(res.status).toBe(400);
      await res.arrayBuffer();
    }
    expect(azure.requests).toHaveLength(0);
    expect(bedrock.requests).toHaveLength(0);
    // A Bedrock inference-profile ARN keeps its `/` inside the one segment it is.
    const arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku";
    const res = await chat(`bedrock:${arn}`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(bedrock.requests.map((r) => r.path)).toEqual([`/model/${encodeURIComponent(arn)}/converse`]);
    const dep = await chat("azureopenai:my-deployment");
    expect(dep.status).toBe(200);
    await dep.arrayBuffer();
    expect(azure.requests.map((r) => r.path.split("?")[0])).toEqual([
      "/openai/deployments/my-deployment/chat/completions",
    ]);
  });
});
