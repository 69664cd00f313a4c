/**
 * The official `openai` client against the gateway (SPEC §3.3-§3.8, §6.2, §13 items 40-47): chat JSON and SSE,
 * tools, embeddings, models, responses, moderations, and chat translated to an Anthropic upstream.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { MOCK_EMBEDDING, MOCK_TEXT, MOCK_TOOL, MOCK_USAGE, chunkText } from "../../src/providers/_mocks";
import { DIALECTS, type TestDatabase } from "../helpers/db";
import { MASTER_KEY, startTestGateway, type TestGateway } from "../helpers/gateway";
import { type Row, failure, hi, openaiClient, price, rowTracker } from "./_helpers";

describe.each(DIALECTS)("openai SDK ($dialect)", ({ create }) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let client: OpenAI;
  let newRows: () => Promise<Row[]>;
  const user = "oai-user";

  beforeAll(async () => {
    db = await create();
    gw = await startTestGateway(db);
    client = openaiClient(gw, (await gw.createKey({ user_id: user })).key);
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

  test("chat non-stream returns the completion, strips the prefix and never forwards `user`", async () => {
    const res = await client.chat.completions.create({
      model: "openai:gpt-4o-mini",
      messages: hi,
      user: user,
      temperature: 0.2,
    });
    expect(res.object).toBe("chat.completion");
    expect(res.model).toBe("gpt-4o-mini");
    expect(res.choices[0]?.message.content).toBe(MOCK_TEXT);
    expect(res.choices[0]?.finish_reason).toBe("stop");
    expect(res.usage).toMatchObject({
      prompt_tokens: MOCK_USAGE.prompt,
      completion_tokens: MOCK_USAGE.completion,
      total_tokens: MOCK_USAGE.prompt + MOCK_USAGE.completion,
    });
    const up = lastUpstream("openai");
    expect(up["model"]).toBe("gpt-4o-mini");
    expect(up["temperature"]).toBe(0.2);
    expect(up["user"]).toBeUndefined();
    const [row, ...more] = await newRows();
    expect(more).toEqual([]);
    expect(row).toMatchObject({
      model: "gpt-4o-mini",
      provider: "openai",
      endpoint: "/v1/chat/completions",
      status: "success",
      status_code: 200,
      prompt_tokens: 12,
      completion_tokens: 5,
      total_tokens: 17,
    });
  });

  test("chat stream without stream_options: no usage chunk for the client, include_usage upstream, tokens on the row", async () => {
    gw.openai.reset();
    const stream = await client.chat.completions.create({ model: "openai:gpt-4o-mini", messages: hi, stream: true });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe([0, 1, 2].map(chunkText).join(""));
    expect(chunks.some((c) => c.choices.length === 0)).toBe(false);
    expect(chunks.every((c) => c.usage === undefined || c.usage === null)).toBe(true);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop");
    expect(lastUpstream("openai")["stream_options"]).toEqual({ include_usage: true });
    const [row, ...more] = await newRows();
    expect(more).toEqual([]);
    expect(row).toMatchObject({
      status: "success",
      prompt_tokens: 12,
      completion_tokens: 3,
      total_tokens: 15,
      estimated: false,
    });
  });

  test("chat stream with include_usage: the usage chunk arrives last with the merged counts", async () => {
    const stream = await client.chat.completions.create({
      model: "openai:gpt-4o-mini",
      messages: hi,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 });
    expect(chunks.filter((c) => c.usage).length).toBe(1);
    const [row, ...more] = await newRows();
    expect(more).toEqual([]);
    expect(row).toMatchObject({ prompt_tokens: 12, completion_tokens: 3 });
  });

  test("no cost header for an unpriced model, no budget header without a budget; both present when priced on a budget", async () => {
    const plain = await client.chat.completions.create({ model: "openai:gpt-4o-mini", messages: hi }).withResponse();
    expect(plain.response.headers.get("x-gateway-cost-usd")).toBeNull();
    expect(plain.response.headers.get("x-gateway-budget-remaining-usd")).toBeNull();
    await price(gw, "openai:header-model", 1, 1);
    const priced = await client.chat.completions.create({ model: "openai:header-model", messages: hi }).withResponse();
    expect(priced.response.headers.get("x-gateway-cost-usd")).toBe("0.000017");
    expect(priced.response.headers.get("x-gateway-budget-remaining-usd")).toBeNull();
  });

  test("include_usage:false from the client is overridden upstream and other stream_options keys kept (§6.2)", async () => {
    const res = await fetch(`${gw.base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "openai:gpt-4o-mini",
        messages: hi,
        user,
        stream: true,
        stream_options: { include_usage: false, include_obfuscation: false },
      }),
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain('"usage"');
    expect(lastUpstream("openai")["stream_options"]).toEqual({ include_usage: true, include_obfuscation: false });
  });

  test("tools: tool_calls in JSON and reassembled from the stream", async () => {
    const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Weather",
          parameters: { type: "object", properties: { city: { type: "string" } } },
        },
      },
    ];
    const res = await client.chat.completions.create({
      model: "openai:gpt-4o-mini+tools",
      messages: hi,
      tools,
      tool_choice: "auto",
    });
    expect(res.choices[0]?.finish_reason).toBe("tool_calls");
    const call = res.choices[0]?.message.tool_calls?.[0];
    expect(call?.type).toBe("function");
    if (call?.type !== "function") throw new Error("expected a function call");
    expect(call.id).toBe(MOCK_TOOL.id);
    expect(call.function).toEqual({ name: MOCK_TOOL.name, arguments: MOCK_TOOL.arguments });
    expect(lastUpstream("openai")["tools"]).toEqual(tools);

    const stream = await client.chat.completions.create({
      model: "openai:gpt-4o-mini+tools",
      messages: hi,
      tools,
      stream: true,
    });
    let args = "";
    let name = "";
    let finish: string | null = null;
    for await (const c of stream) {
      for (const tc of c.choices[0]?.delta.tool_calls ?? []) {
        name ||= tc.function?.name ?? "";
        args += tc.function?.arguments ?? "";
      }
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe(MOCK_TOOL.name);
    expect(JSON.parse(args)).toEqual({ city: "Paris" });
    expect(finish).toBe("tool_calls");
  });

  test("embeddings: vectors, usage, a row with completion_tokens 0", async () => {
    const res = await client.embeddings.create({ model: "openai:text-embedding-3-small", input: ["a", "b"] });
    expect(res.data.length).toBe(2);
    // the SDK asks for base64 and decodes it: the exact float32 values come back
    expect(res.data[0]?.embedding).toEqual([...MOCK_EMBEDDING]);
    expect(res.usage.prompt_tokens).toBe(6);
    const [row, ...more] = await newRows();
    expect(more).toEqual([]);
    expect(row).toMatchObject({
      endpoint: "/v1/embeddings",
      status: "success",
      prompt_tokens: 6,
      completion_tokens: 0,
      model: "text-embedding-3-small",
    });
  });

  test("models.list and retrieve follow the key's allowed_models", async () => {
    await price(gw, "openai:priced-model", 1, 2);
    await price(gw, "anthropic:claude-priced", 3, 4);
    const all = await client.models.list();
    const ids = all.data.map((m) => m.id);
    expect(ids).toEqual([...ids].sort());
    expect(ids).toEqual(
      expect.arrayContaining([
        "openai:gpt-4o-mini",
        "openai:priced-model",
        "anthropic:claude-sonnet-4-5",
        "anthropic:claude-priced",
      ]),
    );

    const narrow = openaiClient(
      gw,
      (await gw.createKey({ user_id: user, allowed_models: ["openai:*", "anthropic:claude-priced"] })).key,
    );
    const narrowIds = (await narrow.models.list()).data.map((m) => m.id);
    expect(narrowIds).toContain("openai:priced-model");
    expect(narrowIds).toContain("anthropic:claude-priced");
    expect(narrowIds).not.toContain("anthropic:claude-sonnet-4-5");
    expect(narrowIds.every((id) => id.startsWith("openai:") || id === "anthropic:claude-priced")).toBe(true);

    const one = await narrow.models.retrieve("openai:priced-model");
    expect(one).toMatchObject({ id: "openai:priced-model", object: "model", owned_by: "openai" });
    expect((one as unknown as Row)["pricing"]).toEqual({ input_price_per_million: 1, output_price_per_million: 2 });
    const onlyOpenai = openaiClient(gw, (await gw.createKey({ user_id: user, allowed_models: ["openai:*"] })).key);
    expect(await failure(onlyOpenai.models.retrieve("anthropic:claude-priced"))).toBeInstanceOf(OpenAI.NotFoundError);
    expect(await failure(client.models.retrieve("openai:never-heard-of"))).toBeInstanceOf(OpenAI.NotFoundError);
  });

  test("responses (openai): JSON and stream; anthropic: 400 without the Responses API", async () => {
    const res = await client.responses.create({ model: "openai:gpt-4o-mini", input: "hi", user });
    expect(res.output_text).toBe(MOCK_TEXT);
    expect(res.usage).toMatchObject({ input_tokens: 12, output_tokens: 5 });
    expect(lastUpstream("openai")["user"]).toBeUndefined();
    let [row, ...more] = await newRows();
    expect(more).toEqual([]);
    expect(row).toMatchObject({
      endpoint: "/v1/responses",
      status: "success",
      prompt_tokens: 12,
      completion_tokens: 5,
    });

    const stream = await client.responses.create({ model: "openai:gpt-4o-mini", input: "hi", stream: true });
    const types: string[] = [];
    let text = "";
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === "response.output_text.delta") text += ev.delta;
    }
    expect(types[0]).toBe("response.created");
    expect(types.at(-1)).toBe("response.completed");
    expect(text).toBe([0, 1, 2].map(chunkText).join(""));
    [row, ...more] = await newRows();
    expect(more).toEqual([]);
    expect(row).toMatchObject({
      endpoint: "/v1/responses",
      status: "success",
      prompt_tokens: 12,
      completion_tokens: 5,
    });

    const err = await failure(client.responses.create({ model: "anthropic:claude-x", input: "hi" }));
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toContain("Provider 'anthropic' does not support the Responses API");
  });

  test("moderations: openai works; anthropic is a 400 naming `does not support moderation`", async () => {
    const res = await client.moderations.create({
      model: "openai:omni-moderation-latest",
      input: ["please flag this", "fine"],
    });
    expect(res.results.map((r) => r.flagged)).toEqual([true, false]);
    const [row, ...more] = await newRows();
    expect(more).toEqual([]);
    expect(row).toMatchObject({
      endpoint: "/v1/moderations",
      status: "success",
      prompt_tokens: null,
      total_tokens: null,
      completion_tokens: 0,
      cost: 0,
    });

    const err = await failure(client.moderations.create({ model: "anthropic:claude-x", input: "x" }));
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toContain("does not support moderation");
  });

  test("chat on an embeddings-only provider is a 400 before any upstream call, JSON and stream alike", async () => {
    for (const stream of [false, true]) {
      const err = await failure(
        client.chat.completions.create({
          model: "voyage:voyage-3.5",
          messages: [{ role: "user", content: "x" }],
          stream,
        }),
      );
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as Error).message).toContain(
        `Provider 'voyage' does not support ${stream ? "streaming" : "chat completions"}`,
      );
    }
  });

  test("chat to an Anthropic model is translated both ways", async () => {
    const res = await client.chat.completions.create({
      model: "anthropic:claude-sonnet-4-5",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "hi" },
      ],
      max_tokens: 64,
      stop: "END",
    });
    expect(res.choices[0]?.message.content).toBe(MOCK_TEXT);
    expect(res.choices[0]?.finish_reason).toBe("stop");
    expect(res.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });
    const up = lastUpstream("anthropic");
    expect(up).toMatchObject({
      model: "claude-sonnet-4-5",
      max_tokens: 64,
      system: "Be brief.",
      stop_sequences: ["END"],
      messages: [{ role: "user" }],
    });
    expect(gw.anthropic.requests.at(-1)?.headers["x-api-key"]).toBe("sk-ant-test-key");

    const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
      { type: "function", function: { name: "get_weather", parameters: { type: "object", properties: {} } } },
    ];
    const withTools = await client.chat.completions.create({
      model: "anthropic:claude-sonnet-4-5+tools",
      messages: hi,
      tools,
      tool_choice: "required",
    });
    expect(withTools.choices[0]?.finish_reason).toBe("tool_calls");
    const call = withTools.choices[0]?.message.tool_calls?.[0];
    if (call?.type !== "function") throw new Error("expected a function call");
    expect(JSON.parse(call.function.arguments)).toEqual({ city: "Paris" });
    expect(lastUpstream("anthropic")["tool_choice"]).toEqual({ type: "any" });

    const quiet = await client.chat.completions.create({
      model: "anthropic:claude-sonnet-4-5",
      messages: hi,
      stream: true,
    });
    let quietText = "";
    for await (const c of quiet) {
      expect(c.usage ?? null).toBeNull();
      expect(c.choices.length).toBe(1);
      quietText += c.choices[0]?.delta.content ?? "";
    }
    expect(quietText).toBe([0, 1, 2].map(chunkText).join(""));

    const stream = await client.chat.completions.create({
      model: "anthropic:claude-sonnet-4-5",
      messages: hi,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined = null;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? "";
      if (c.usage) usage = c.usage;
    }
    expect(text).toBe([0, 1, 2].map(chunkText).join(""));
    expect(usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 3 });
    const rows = await newRows();
    expect(rows.length).toBe(4);
    expect(
      rows
        .filter((r) => r["model"] === "claude-sonnet-4-5")
        .map((r) => r["completion_tokens"])
        .sort(),
    ).toEqual([3, 3, 5]);
    expect(
      rows.every((r) => r["provider"] === "anthropic" && r["prompt_tokens"] === 12 && r["status"] === "success"),
    ).toBe(true);
  });
});
