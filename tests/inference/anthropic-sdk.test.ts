/**
 * The official `@anthropic-ai/sdk` client on /v1/messages (SPEC §3.4, §4.2, §5.4.1, §13 items 43-45): JSON, stream,
 * tool use, translation to and from an OpenAI-format model, count_tokens, and errors in Anthropic's envelope.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { MOCK_ANTHROPIC_TOOL, MOCK_TEXT, chunkText } from "../../src/providers/_mocks";
import { DIALECTS, type TestDatabase } from "../helpers/db";
import { MASTER_KEY, startTestGateway, type TestGateway } from "../helpers/gateway";
import { type Row, anthropicClient, budgetUser, failure, post, rowTracker } from "./_helpers";

type ApiError = InstanceType<typeof Anthropic.APIError>;

const ask: Anthropic.MessageParam[] = [{ role: "user", content: "hi" }];
const weatherTool: Anthropic.Tool = {
  name: "get_weather",
  description: "Weather",
  input_schema: { type: "object", properties: { city: { type: "string" } } },
};

/** The Anthropic envelope the SDK parsed: `{type:"error", error:{type, message}, detail}`. */
function envelopeOf(err: unknown): { type: string; message: string; detail: unknown } {
  if (!(err instanceof Anthropic.APIError)) throw new Error(`not an Anthropic APIError: ${String(err)}`);
  const body = err.error as Row;
  expect(body["type"]).toBe("error");
  const inner = body["error"] as Row;
  return { type: String(inner["type"]), message: String(inner["message"]), detail: body["detail"] };
}

describe.each(DIALECTS)("anthropic SDK on /v1/messages ($dialect)", ({ create }) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let client: Anthropic;
  let newRows: () => Promise<Row[]>;
  const user = "ant-user";

  beforeAll(async () => {
    db = await create();
    gw = await startTestGateway(db);
    client = anthropicClient(gw, (await gw.createKey({ user_id: user })).key);
    newRows = rowTracker(gw, user);
  });
  beforeEach(async () => {
    await newRows();
  });
  afterAll(async () => {
    await gw.close();
    await db.drop();
  });

  const lastUpstream = (mock: "openai" | "anthropic"): Row => gw[mock].requests.at(-1)?.body as Row;

  test("JSON to an Anthropic model: a message with stop_reason; the body is forwarded natively", async () => {
    const msg = await client.messages.create(
      {
        model: "anthropic:claude-sonnet-4-5",
        max_tokens: 100,
        messages: ask,
        system: "Be brief.",
        metadata: { user_id: user },
      },
      { headers: { "anthropic-beta": "prompt-caching-2024-07-31" } },
    );
    expect(msg.type).toBe("message");
    expect(msg.role).toBe("assistant");
    expect(msg.stop_reason).toBe("end_turn");
    expect(msg.content).toEqual([{ type: "text", text: MOCK_TEXT }] as Anthropic.ContentBlock[]);
    expect(msg.usage.input_tokens).toBe(12);
    expect(msg.usage.output_tokens).toBe(5);
    expect(lastUpstream("anthropic")).toMatchObject({
      model: "claude-sonnet-4-5",
      max_tokens: 100,
      system: "Be brief.",
      metadata: { user_id: user },
    });
    expect(gw.anthropic.requests.at(-1)?.headers["anthropic-beta"]).toBe("prompt-caching-2024-07-31");
    const [row, ...more] = await newRows();
    expect(more).toEqual([]);
    expect(row).toMatchObject({
      endpoint: "/v1/messages",
      provider: "anthropic",
      model: "claude-sonnet-4-5",
      status: "success",
      prompt_tokens: 12,
      completion_tokens: 5,
    });
  });

  test("stream to an Anthropic model: finalMessage, events and one row", async () => {
    const stream = client.messages.stream({ model: "anthropic:claude-sonnet-4-5", max_tokens: 100, messages: ask });
    const events: string[] = [];
    for await (const e of stream) events.push(e.type);
    const final = await stream.finalMessage();
    expect(final.content as unknown[]).toEqual([{ type: "text", text: [0, 1, 2].map(chunkText).join("") }]);
    expect(final.stop_reason).toBe("end_turn");
    expect(final.usage.output_tokens).toBe(3);
    expect(events[0]).toBe("message_start");
    expect(events.at(-1)).toBe("message_stop");
    const [row, ...more] = await newRows();
    expect(more).toEqual([]);
    expect(row).toMatchObject({ endpoint: "/v1/messages", status: "success", prompt_tokens: 12, completion_tokens: 3 });
  });

  test("the raw stream ends at message_stop, as Anthropic's does (nothing after it)", async () => {
    for (const model of ["anthropic:claude-sonnet-4-5", "openai:gpt-4o-mini"]) {
      const res = await post(gw, "/v1/messages", MASTER_KEY, {
        model,
        max_tokens: 10,
        messages: ask,
        stream: true,
        metadata: { user_id: user },
      });
      expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
      const text = await res.text();
      expect(text.trimEnd().endsWith('event: message_stop\ndata: {"type":"message_stop"}')).toBe(true);
      expect(text).not.toContain("event: done");
    }
  });

  test("tool_use: stop_reason tool_use and a tool_use block (JSON and stream)", async () => {
    const msg = await client.messages.create({
      model: "anthropic:claude-sonnet-4-5+tools",
      max_tokens: 100,
      messages: ask,
      tools: [weatherTool],
    });
    expect(msg.stop_reason).toBe("tool_use");
    const block = msg.content.find((b) => b.type === "tool_use");
    expect(block).toMatchObject({
      type: "tool_use",
      id: MOCK_ANTHROPIC_TOOL.id,
      name: MOCK_ANTHROPIC_TOOL.name,
      input: MOCK_ANTHROPIC_TOOL.input,
    });
    const final = await client.messages
      .stream({ model: "anthropic:claude-sonnet-4-5+tools", max_tokens: 100, messages: ask, tools: [weatherTool] })
      .finalMessage();
    expect(final.stop_reason).toBe("tool_use");
    expect(final.content.find((b) => b.type === "tool_use")).toMatchObject({
      name: "get_weather",
      input: { city: "Paris" },
    });
  });

  test("to an OpenAI-format model: translated both ways (JSON, stream, tools)", async () => {
    const msg = await client.messages.create({
      model: "openai:gpt-4o-mini",
      max_tokens: 50,
      messages: ask,
      system: "Be brief.",
      stop_sequences: ["END"],
    });
    expect(msg.type).toBe("message");
    expect(msg.stop_reason).toBe("end_turn");
    expect(msg.content).toEqual([{ type: "text", text: MOCK_TEXT }] as Anthropic.ContentBlock[]);
    expect(msg.usage).toMatchObject({ input_tokens: 12, output_tokens: 5 });
    const up = lastUpstream("openai");
    expect(up["model"]).toBe("gpt-4o-mini");
    expect(up["messages"]).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "hi" },
    ]);
    expect(up["max_tokens"] ?? up["max_completion_tokens"]).toBe(50);
    expect(up["stop"]).toEqual(["END"]);

    const final = await client.messages
      .stream({ model: "openai:gpt-4o-mini", max_tokens: 50, messages: ask })
      .finalMessage();
    expect(final.content as unknown[]).toEqual([{ type: "text", text: [0, 1, 2].map(chunkText).join("") }]);
    expect(final.stop_reason).toBe("end_turn");
    expect(final.usage.output_tokens).toBe(3);
    expect(lastUpstream("openai")["stream_options"]).toEqual({ include_usage: true });

    const tools = await client.messages.create({
      model: "openai:gpt-4o-mini+tools",
      max_tokens: 50,
      messages: ask,
      tools: [weatherTool],
      tool_choice: { type: "any" },
    });
    expect(tools.stop_reason).toBe("tool_use");
    expect(tools.content.find((b) => b.type === "tool_use")).toMatchObject({
      name: "get_weather",
      input: { city: "Paris" },
    });
    expect(lastUpstream("openai")["tools"]).toEqual([
      {
        type: "function",
        function: { name: "get_weather", description: "Weather", parameters: weatherTool.input_schema },
      },
    ]);
    expect(lastUpstream("openai")["tool_choice"]).toBe("required");
    const streamedTools = await client.messages
      .stream({ model: "openai:gpt-4o-mini+tools", max_tokens: 50, messages: ask, tools: [weatherTool] })
      .finalMessage();
    expect(streamedTools.stop_reason).toBe("tool_use");
    expect(streamedTools.content.find((b) => b.type === "tool_use")).toMatchObject({
      name: "get_weather",
      input: { city: "Paris" },
    });

    const rows = await newRows();
    expect(rows.length).toBe(4);
    expect(
      rows.every(
        (r) =>
          r["endpoint"] === "/v1/messages" &&
          r["provider"] === "openai" &&
          r["status"] === "success" &&
          r["prompt_tokens"] === 12,
      ),
    ).toBe(true);
  });

  test("count_tokens: a local estimate, no upstream call, no row", async () => {
    const before = gw.anthropic.requests.length + gw.openai.requests.length;
    const res = await client.messages.countTokens({
      model: "anthropic:claude-sonnet-4-5",
      messages: [{ role: "user", content: "hello there, how are you today?" }],
    });
    expect(res.input_tokens).toBeGreaterThan(0);
    expect(gw.anthropic.requests.length + gw.openai.requests.length).toBe(before);
    expect(await newRows()).toEqual([]);
  });

  test("errors arrive in Anthropic's envelope and raise the SDK's typed errors", async () => {
    const missing = await post(gw, "/v1/messages", null, {
      model: "anthropic:claude-sonnet-4-5",
      max_tokens: 10,
      messages: ask,
    });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({
      type: "error",
      error: { type: "authentication_error", message: "Missing Otari-Key or Authorization header" },
      detail: "Missing Otari-Key or Authorization header",
    });

    const unknownKey = await failure(
      anthropicClient(gw, `gw-${"y".repeat(60)}`).messages.create({
        model: "anthropic:claude-sonnet-4-5",
        max_tokens: 10,
        messages: ask,
      }),
    );
    expect(unknownKey).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(envelopeOf(unknownKey)).toEqual({
      type: "authentication_error",
      message: "Invalid API key",
      detail: "Invalid API key",
    });

    const master = anthropicClient(gw, MASTER_KEY);
    const noUser = await failure(
      master.messages.create({ model: "anthropic:claude-sonnet-4-5", max_tokens: 10, messages: ask }),
    );
    expect(noUser).toBeInstanceOf(Anthropic.BadRequestError);
    expect(envelopeOf(noUser)).toMatchObject({
      type: "invalid_request_error",
      message: "When using master key, 'metadata.user_id' is required in request body",
    });

    const ghost = await failure(
      master.messages.create({
        model: "anthropic:claude-sonnet-4-5",
        max_tokens: 10,
        messages: ask,
        metadata: { user_id: "ghost" },
      }),
    );
    expect(ghost).toBeInstanceOf(Anthropic.NotFoundError);
    expect(envelopeOf(ghost).type).toBe("not_found_error");

    const noMax = await failure(
      client.messages.create({
        model: "anthropic:claude-sonnet-4-5",
        messages: ask,
      } as unknown as Anthropic.MessageCreateParamsNonStreaming),
    );
    expect(noMax).toBeInstanceOf(Anthropic.UnprocessableEntityError);
    const noMaxEnv = envelopeOf(noMax);
    expect(noMaxEnv.type).toBe("invalid_request_error");
    expect(Array.isArray(noMaxEnv.detail)).toBe(true);

    const upstream500 = await failure(
      client.messages.create({ model: "anthropic:error-500", max_tokens: 10, messages: ask }),
    );
    expect(upstream500).toBeInstanceOf(Anthropic.InternalServerError);
    expect((upstream500 as ApiError).status).toBe(502);
    expect(envelopeOf(upstream500)).toEqual({
      type: "api_error",
      message: "LLM provider error",
      detail: "LLM provider error",
    });

    const translated500 = await failure(
      client.messages.create({ model: "openai:error-500", max_tokens: 10, messages: ask }),
    );
    expect(translated500).toBeInstanceOf(Anthropic.InternalServerError);
    expect(envelopeOf(translated500).type).toBe("api_error");

    const upstream429 = await failure(
      client.messages.create({ model: "anthropic:error-429", max_tokens: 10, messages: ask }),
    );
    expect(upstream429).toBeInstanceOf(Anthropic.RateLimitError);
    expect((upstream429 as ApiError).headers?.get("retry-after")).toBe("7");
    expect(envelopeOf(upstream429).type).toBe("rate_limit_error");

    const upstream400 = await failure(
      client.messages.create({ model: "anthropic:error-400", max_tokens: 10, messages: ask }),
    );
    expect(upstream400).toBeInstanceOf(Anthropic.BadRequestError);
    expect(envelopeOf(upstream400).message).toContain("max_tokens: Field required");
    expect(envelopeOf(upstream400).message).not.toContain("sk-ant-api03-abcdefghijklmnop");

    const streamOpen = await failure(
      client.messages.stream({ model: "anthropic:error-529", max_tokens: 10, messages: ask }).finalMessage(),
    );
    expect(streamOpen).toBeInstanceOf(Anthropic.InternalServerError);
    expect(envelopeOf(streamOpen).type).toBe("api_error");

    const broke = await budgetUser(gw, "ant-broke", 0);
    const budget = await failure(
      anthropicClient(gw, broke.key).messages.create({
        model: "anthropic:claude-sonnet-4-5",
        max_tokens: 10,
        messages: ask,
      }),
    );
    expect(budget).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(envelopeOf(budget)).toMatchObject({
      type: "permission_error",
      message: "User 'ant-broke' has exceeded budget limit",
    });

    const limited = anthropicClient(gw, (await gw.createKey({ user_id: user, rpm_limit: 1 })).key);
    await limited.messages.create({ model: "anthropic:claude-sonnet-4-5", max_tokens: 10, messages: ask });
    const rate = await failure(
      limited.messages.create({ model: "anthropic:claude-sonnet-4-5", max_tokens: 10, messages: ask }),
    );
    expect(rate).toBeInstanceOf(Anthropic.RateLimitError);
    expect(envelopeOf(rate)).toMatchObject({ type: "rate_limit_error", message: "Rate limit exceeded" });
    expect(Number((rate as ApiError).headers?.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });
});
