/**
 * Everything the gateway sends a client, checked against the vendors' documented schemas (tests/helpers/
 * vendor-schemas.ts): chat completions and chunks, Messages bodies and events, Responses bodies and events,
 * embeddings, models and error bodies, for the OpenAI-compatible path and every translating provider, each behind
 * its own wire-format mock. JSON and streams, plain, with tools, with reasoning, cut mid-stream and answered with a
 * JSON body where a stream was asked for.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  type MockServer,
  type VertexMockServer,
  startAzureMock,
  startBedrockMock,
  startCohereMock,
  startGeminiMock,
  startOpenAIMock,
  startVertexMock,
} from "../../src/providers/_mocks";
import { createTestServiceAccount } from "../../src/providers/_mocks/vertex-credentials";
import { createSqliteDatabase, type TestDatabase } from "../helpers/db";
import { MASTER_KEY, startTestGateway, type TestGateway } from "../helpers/gateway";
import {
  anthropicErrorBody,
  anthropicMessage,
  chatCompletion,
  chatStreamProblems,
  embeddingsList,
  messagesStreamProblems,
  model,
  modelList,
  openaiErrorBody,
  problems,
  response,
  responsesStreamProblems,
} from "../helpers/vendor-schemas";

const ask = [{ role: "user", content: "What is the weather in Paris?" }];
const weather = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather of a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const weatherAnthropic = {
  name: "get_weather",
  description: "Weather of a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

interface Target {
  /** `provider:model` without scenario tokens. */
  model: string;
  /** An embeddings model of the provider, when it has embeddings. */
  embeddings?: string;
}

/** The OpenAI-compatible path, then every provider whose wire differs (or that fills the chat format its own way). */
const TARGETS: Target[] = [
  { model: "openai:gpt-4o-mini", embeddings: "openai:text-embedding-3-small" },
  { model: "mistral:mistral-small" },
  { model: "azure:Llama-3.3-70B", embeddings: "azure:embed-v3" },
  { model: "azureopenai:gpt-4o-deploy", embeddings: "azureopenai:embed-deploy" },
  { model: "anthropic:claude-sonnet-4-5" },
  { model: "azureanthropic:claude-sonnet-4-5" },
  { model: "vertexaianthropic:claude-sonnet-4-5" },
  { model: "gemini:gemini-2.5-flash", embeddings: "gemini:text-embedding-004" },
  { model: "vertexai:gemini-2.5-flash" },
  { model: "bedrock:anthropic.claude-3-5-sonnet" },
  { model: "cohere:command-a", embeddings: "cohere:embed-v4.0" },
];

const account = createTestServiceAccount("", "wire-schemas-key");
let db: TestDatabase;
let gw: TestGateway;
let key: string;
const mocks: MockServer[] = [];

beforeAll(async () => {
  db = await createSqliteDatabase();
  const gemini = startGeminiMock();
  const bedrock = startBedrockMock({ bearerToken: "bedrock-wire-token" });
  const cohere = startCohereMock();
  const azure = startAzureMock();
  const vertex: VertexMockServer = startVertexMock({ publicKey: account.publicKey, clientEmail: account.clientEmail });
  // Mistral speaks OpenAI's dialect (without stream usage): an OpenAI mock of its own stands in for it.
  const mistral = startOpenAIMock();
  mocks.push(gemini, bedrock, cohere, azure, vertex, mistral);
  const vertexEntry = {
    api_base: vertex.apiBase,
    credentials: JSON.stringify({ ...account.json, token_uri: vertex.tokenUrl }),
    project: "proj-1",
    location: "us-east5",
  };
  gw = await startTestGateway(db, {
    // one attempt per request: the 5xx cases need no retry backoff here
    routing: { retries: 0 },
    providers: {
      gemini: { api_key: "gemini-wire-key", api_base: gemini.apiBase },
      vertexai: vertexEntry,
      vertexaianthropic: vertexEntry,
      bedrock: { api_key: "bedrock-wire-token", api_base: bedrock.apiBase, client_args: { region: "us-east-1" } },
      cohere: { api_key: "cohere-wire-key", api_base: cohere.apiBase },
      azure: { api_key: "azure-wire-key", api_base: `${azure.url}/models` },
      azureopenai: { api_key: "azure-wire-key", api_base: azure.url, client_args: { api_version: "2024-10-21" } },
      azureanthropic: { api_key: "azure-wire-key", api_base: `${azure.url}/anthropic` },
      mistral: { api_key: "mistral-wire-key", api_base: mistral.apiBase },
    },
  });
  key = (await gw.createKey({ user_id: "wire-schemas" })).key;
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await db?.drop();
  for (const m of mocks) await m.stop();
});

const post = async (path: string, body: unknown, token: string | null = key) => {
  const res = await fetch(gw.base + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
};
const get = async (path: string) => {
  const res = await fetch(gw.base + path, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, text: await res.text() };
};

const json = (text: string): unknown => JSON.parse(text);

describe.each(TARGETS)("$model", (t) => {
  const m = (tokens = "") => (tokens ? `${t.model}+${tokens}` : t.model);

  test("chat completions: JSON (plain, tools, reasoning) and streams (plain, tools, reset, cut) conform to OpenAI's schema", async () => {
    const found: string[] = [];
    for (const tokens of ["", "tools", "reasoning"]) {
      const r = await post("/v1/chat/completions", { model: m(tokens), messages: ask, tools: [weather] });
      expect(r.status).toBe(200);
      found.push(...problems(chatCompletion, json(r.text), `chat JSON ${tokens || "plain"}`));
    }
    const plain = json((await post("/v1/chat/completions", { model: m(), messages: ask })).text) as {
      choices: { message: Record<string, unknown>; logprobs?: unknown }[];
    };
    // translated or relayed, the members OpenAI requires are there even when null
    expect(plain.choices[0]?.message).toHaveProperty("refusal", null);
    expect(plain.choices[0]).toHaveProperty("logprobs");
    for (const tokens of ["", "tools", "break-stream", "cut-stream"]) {
      const r = await post("/v1/chat/completions", {
        model: m(tokens),
        messages: ask,
        tools: [weather],
        stream: true,
        stream_options: { include_usage: true },
      });
      expect(r.status).toBe(200);
      found.push(...chatStreamProblems(r.text, `chat stream ${tokens || "plain"}`));
      // a reset or an early end reaches the client as the error frame, never as a clean end
      expect(r.text.includes('data: {"error":')).toBe(tokens.endsWith("-stream"));
    }
    expect(found).toEqual([]);
  });

  test("/v1/messages: JSON and streams conform to Anthropic's schema and end at message_stop", async () => {
    const found: string[] = [];
    for (const tokens of ["", "tools"]) {
      const r = await post("/v1/messages", {
        model: m(tokens),
        max_tokens: 64,
        messages: ask,
        tools: [weatherAnthropic],
      });
      expect(r.status).toBe(200);
      found.push(...problems(anthropicMessage, json(r.text), `messages JSON ${tokens || "plain"}`));
    }
    for (const tokens of ["", "tools", "break-stream", "cut-stream"]) {
      const r = await post("/v1/messages", {
        model: m(tokens),
        max_tokens: 64,
        messages: ask,
        tools: [weatherAnthropic],
        stream: true,
      });
      expect(r.status).toBe(200);
      found.push(...messagesStreamProblems(r.text, `messages stream ${tokens || "plain"}`));
      if (tokens.endsWith("-stream")) expect(r.text).toContain("event: error");
      else expect(r.text.trimEnd()).toEndWith('event: message_stop\ndata: {"type":"message_stop"}');
    }
    expect(found).toEqual([]);
  });

  test("error bodies: OpenAI's ErrorResponse on chat, Anthropic's on /v1/messages", async () => {
    const chat = await post("/v1/chat/completions", { model: m("error-500"), messages: ask });
    expect(chat.status).toBe(502);
    const messages = await post("/v1/messages", { model: m("error-500"), max_tokens: 8, messages: ask });
    expect(messages.status).toBe(502);
    expect([
      ...problems(openaiErrorBody, json(chat.text), "chat 502"),
      ...problems(anthropicErrorBody, json(messages.text), "messages 502"),
    ]).toEqual([]);
  });

  if (t.embeddings) {
    const embeddingsModel = t.embeddings;
    test("embeddings conform to CreateEmbeddingResponse", async () => {
      const r = await post("/v1/embeddings", { model: embeddingsModel, input: ["a", "b"] });
      expect(r.status).toBe(200);
      expect(problems(embeddingsList, json(r.text), "embeddings")).toEqual([]);
    });
  }
});

describe("the Responses API (OpenAI upstream)", () => {
  test("JSON bodies keep every required member, nulls included (plain, tools, structured output)", async () => {
    const found: string[] = [];
    for (const [tokens, extra] of [
      ["", {}],
      ["tools", { tools: [{ type: "function", name: "get_weather", parameters: weather.function.parameters }] }],
      [
        "",
        {
          text: {
            format: {
              type: "json_schema",
              name: "city",
              schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
            },
          },
        },
      ],
    ] as const) {
      const r = await post("/v1/responses", {
        model: `openai:gpt-4o-mini${tokens ? `+${tokens}` : ""}`,
        input: "hi",
        ...extra,
      });
      expect(r.status).toBe(200);
      const body = json(r.text) as Record<string, unknown>;
      found.push(...problems(response, body, `responses JSON ${tokens || Object.keys(extra).join() || "plain"}`));
      for (const member of ["error", "incomplete_details", "instructions"]) expect(body[member]).toBeNull();
    }
    expect(found).toEqual([]);
  });

  test("every stream event is its documented shape, numbered, nulls kept; a cut stream ends with ResponseErrorEvent", async () => {
    const found: string[] = [];
    for (const tokens of ["", "tools", "break-stream", "cut-stream", "stream-error"]) {
      const r = await post("/v1/responses", {
        model: `openai:gpt-4o-mini${tokens ? `+${tokens}` : ""}`,
        input: "hi",
        stream: true,
      });
      expect(r.status).toBe(200);
      found.push(...responsesStreamProblems(r.text, `responses stream ${tokens || "plain"}`));
      if (tokens.includes("stream")) expect(r.text).toContain("event: error\n");
      else {
        expect(r.text).toContain('"incomplete_details":null');
        expect(r.text.trimEnd()).toEndWith("data: [DONE]");
      }
    }
    expect(found).toEqual([]);
  });
});

describe("a stream request answered with a JSON body (json-stream)", () => {
  test("chat, messages and responses end with their protocol's error event, never an empty success", async () => {
    const chat = await post("/v1/chat/completions", {
      model: "openai:gpt-4o-mini+json-stream",
      messages: ask,
      stream: true,
    });
    expect(chatStreamProblems(chat.text, "chat")).toEqual([]);
    expect(chat.text).toContain(
      '"error":{"message":"An error occurred during streaming","type":"server_error","param":null,"code":"provider_error"}',
    );
    const messages = await post("/v1/messages", {
      model: "anthropic:claude-sonnet-4-5+json-stream",
      max_tokens: 8,
      messages: ask,
      stream: true,
    });
    expect(messagesStreamProblems(messages.text, "messages")).toEqual([]);
    expect(messages.text).toStartWith("event: error\n");
    const responses = await post("/v1/responses", {
      model: "openai:gpt-4o-mini+json-stream",
      input: "hi",
      stream: true,
    });
    expect(responsesStreamProblems(responses.text, "responses")).toEqual([]);
    expect(responses.text).toStartWith("event: error\n");
    const rows = await gw.usage("user_id=wire-schemas&status=error");
    expect(rows.filter((r) => String(r["error_message"]).includes("non-stream body")).length).toBe(3);
  });
});

describe("models and gateway refusals", () => {
  test("GET /v1/models and /v1/models/{id} conform to ListModelsResponse and Model", async () => {
    const list = await get("/v1/models");
    expect(list.status).toBe(200);
    const one = await get("/v1/models/openai:gpt-4o-mini");
    expect(one.status).toBe(200);
    expect([...problems(modelList, json(list.text), "models"), ...problems(model, json(one.text), "model")]).toEqual(
      [],
    );
  });

  test("401, 400, 404 and 422 refusals are OpenAI ErrorResponses (Anthropic's on /v1/messages)", async () => {
    const refusals = [
      await post(
        "/v1/chat/completions",
        { model: "openai:gpt-4o-mini", messages: ask },
        "gw-not-a-key-but-long-enough-to-pass-the-format-check-000",
      ),
      await post("/v1/chat/completions", { model: "no-provider-prefix", messages: ask }),
      await post("/v1/chat/completions", { model: "openai:gpt-4o-mini" }),
      await post("/v1/chat/completions", { model: "openai:gpt-4o-mini", messages: ask }, MASTER_KEY),
    ];
    expect(refusals.map((r) => r.status)).toEqual([401, 400, 422, 400]);
    const missing = await get("/v1/models/openai:no-such-model");
    expect(missing.status).toBe(404);
    const anthropic = await post(
      "/v1/messages",
      { model: "anthropic:claude-sonnet-4-5", max_tokens: 8, messages: ask },
      null,
    );
    expect(anthropic.status).toBe(401);
    expect([
      ...refusals.flatMap((r, i) => problems(openaiErrorBody, json(r.text), `refusal ${i}`)),
      ...problems(openaiErrorBody, json(missing.text), "404"),
      ...problems(anthropicErrorBody, json(anthropic.text), "messages 401"),
    ]).toEqual([]);
  });
});
