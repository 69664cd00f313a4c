/**
 * Accounting (SPEC §0 cost headers, §7.2-§7.4, §4.4 last paragraph, §13 items 32, 37, 40-41): exact costs from
 * MOCK_USAGE × rates (cache tokens included), the cost and budget headers, cost_usd in the stream usage chunk, spend
 * equal to the sum of row costs with `reserved` back at 0, and exactly one row per request, refusals included.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import type OpenAI from "openai";
import { MOCK_USAGE } from "../../src/providers/_mocks";
import { DIALECTS, type TestDatabase } from "../helpers/db";
import { MASTER_KEY, startTestGateway, type TestGateway } from "../helpers/gateway";
import {
  type Row,
  anthropicClient,
  budgetUser,
  failure,
  hi,
  openaiClient,
  parseSse,
  post,
  price,
  rowTracker,
  rowsOf,
  usd,
  waitFor,
} from "./_helpers";

/** |a - b| <= 1e-6 USD. */
const closeUsd = (a: unknown, b: number) => expect(Math.abs(Number(a) - b)).toBeLessThanOrEqual(1e-6);

describe.each(DIALECTS)("accounting ($dialect)", ({ create }) => {
  let db: TestDatabase;
  let gw: TestGateway;

  beforeAll(async () => {
    db = await create();
    gw = await startTestGateway(db, { require_pricing: true });
    await price(gw, "openai:gpt-4o-mini", 2.5, 10);
    await price(gw, "openai:gpt-4o-mini+cache", 2.5, 10);
    await price(gw, "openai:text-embedding-3-small", 0.02, 99);
    await price(gw, "openai:omni-moderation-latest", 3, 0);
    await price(gw, "anthropic:claude-sonnet-4-5+cache", 3, 15);
    await price(gw, "openai:error-500", 1, 1);
    await price(gw, "openai:break-stream", 1, 1);
  });
  afterAll(async () => {
    await gw.close();
    await db.drop();
  });

  test("non-stream chat: exact cost on the row and in X-Gateway-Cost-USD; budget remaining header", async () => {
    const { key } = await budgetUser(gw, "acct-1", 1);
    const client = openaiClient(gw, key);
    const { data, response } = await client.chat.completions
      .create({ model: "openai:gpt-4o-mini+cache", messages: hi })
      .withResponse();
    expect(data.usage?.prompt_tokens_details?.cached_tokens).toBe(MOCK_USAGE.cacheRead);
    const cost = usd(MOCK_USAGE.prompt, MOCK_USAGE.completion, 2.5, 10);
    expect(response.headers.get("x-gateway-cost-usd")).toBe(cost.toFixed(6));
    expect(response.headers.get("x-gateway-budget-remaining-usd")).toBe((1 - cost).toFixed(6));
    const [row, ...more] = await rowsOf(gw, "acct-1");
    expect(more).toEqual([]);
    expect(row).toMatchObject({
      prompt_tokens: 12,
      completion_tokens: 5,
      total_tokens: 17,
      cache_read_tokens: MOCK_USAGE.cacheRead,
      status: "success",
      status_code: 200,
      error_message: null,
      estimated: false,
    });
    closeUsd(row?.["cost"], cost);
    // spend is exact when the response ends (settled inline, not by the log writer)
    const u = await gw.admin<Row>("GET", "/v1/users/acct-1");
    closeUsd(u["spend"], cost);
  });

  test("Anthropic cache tokens: prompt includes cache read + write, both recorded, cost from the total", async () => {
    const { key } = await budgetUser(gw, "acct-2", 5);
    const client = anthropicClient(gw, key);
    const { data, response } = await client.messages
      .create({ model: "anthropic:claude-sonnet-4-5+cache", max_tokens: 64, messages: hi })
      .withResponse();
    expect(data.usage).toMatchObject({
      input_tokens: 12,
      cache_read_input_tokens: 4,
      cache_creation_input_tokens: 2,
      output_tokens: 5,
    });
    const prompt = MOCK_USAGE.prompt + MOCK_USAGE.cacheRead + MOCK_USAGE.cacheWrite;
    const cost = usd(prompt, MOCK_USAGE.completion, 3, 15);
    expect(response.headers.get("x-gateway-cost-usd")).toBe(cost.toFixed(6));
    const [row] = await rowsOf(gw, "acct-2");
    expect(row).toMatchObject({
      endpoint: "/v1/messages",
      prompt_tokens: prompt,
      completion_tokens: 5,
      cache_read_tokens: 4,
      cache_write_tokens: 2,
    });
    closeUsd(row?.["cost"], cost);

    // the same through chat (translated): same tokens, same cost
    const chat = await openaiClient(gw, key).chat.completions.create({
      model: "anthropic:claude-sonnet-4-5+cache",
      messages: hi,
    });
    expect(chat.usage).toMatchObject({ prompt_tokens: prompt, completion_tokens: 5 });
    expect(chat.usage?.prompt_tokens_details?.cached_tokens).toBe(4);
    const rows = await rowsOf(gw, "acct-2");
    expect(rows.length).toBe(2);
    for (const r of rows) closeUsd(r["cost"], cost);
  });

  test("stream: usage.cost_usd in the usage chunk, the same cost on the row", async () => {
    const { key } = await budgetUser(gw, "acct-3", 1);
    const res = await post(gw, "/v1/chat/completions", key, {
      model: "openai:gpt-4o-mini",
      messages: hi,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.status).toBe(200);
    const { events } = parseSse(await res.text());
    const usageChunk = events.find(
      (e) => e.json && Array.isArray(e.json["choices"]) && (e.json["choices"] as unknown[]).length === 0,
    )?.json;
    const cost = usd(12, 3, 2.5, 10);
    expect(usageChunk?.["usage"]).toMatchObject({ prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 });
    closeUsd((usageChunk?.["usage"] as Row | undefined)?.["cost_usd"], cost);
    expect(events.at(-1)?.data).toBe("[DONE]");
    const [row] = await rowsOf(gw, "acct-3");
    closeUsd(row?.["cost"], cost);
    // the SDK sees the same chunk
    const stream = await openaiClient(gw, key).chat.completions.create({
      model: "openai:gpt-4o-mini",
      messages: hi,
      stream: true,
      stream_options: { include_usage: true },
    });
    let sdkUsage: OpenAI.CompletionUsage | undefined;
    for await (const c of stream) if (c.usage) sdkUsage = c.usage;
    closeUsd((sdkUsage as unknown as Row)["cost_usd"], cost);
  });

  test("embeddings cost only the input side; moderation costs input_price/1e6 per request", async () => {
    const { key } = await budgetUser(gw, "acct-4", 1);
    const client = openaiClient(gw, key);
    const { response } = await client.embeddings
      .create({ model: "openai:text-embedding-3-small", input: "abc" })
      .withResponse();
    expect(response.headers.get("x-gateway-cost-usd")).toBe(usd(3, 0, 0.02, 99).toFixed(6));
    await client.moderations.create({ model: "openai:omni-moderation-latest", input: "abc" });
    const rows = await rowsOf(gw, "acct-4");
    const emb = rows.find((r) => r["endpoint"] === "/v1/embeddings");
    const mod = rows.find((r) => r["endpoint"] === "/v1/moderations");
    expect(emb).toMatchObject({ prompt_tokens: 3, completion_tokens: 0 });
    closeUsd(emb?.["cost"], usd(3, 0, 0.02, 99));
    closeUsd(mod?.["cost"], 3 / 1e6);
  });

  test("spend equals the sum of row costs and reserved returns to 0 (§13 item 37)", async () => {
    const { key } = await budgetUser(gw, "acct-5", 2);
    const client = openaiClient(gw, key);
    await client.chat.completions.create({ model: "openai:gpt-4o-mini", messages: hi });
    await client.chat.completions.create({ model: "openai:gpt-4o-mini+cache", messages: hi });
    const s = await client.chat.completions.create({ model: "openai:gpt-4o-mini", messages: hi, stream: true });
    for await (const _ of s) {
      // drain
    }
    await anthropicClient(gw, key).messages.create({
      model: "anthropic:claude-sonnet-4-5+cache",
      max_tokens: 10,
      messages: hi,
    });
    await failure(client.chat.completions.create({ model: "openai:error-500", messages: hi }));
    const rows = await rowsOf(gw, "acct-5");
    expect(rows.length).toBe(5);
    const sum = rows.reduce((acc, r) => acc + Number(r["cost"] ?? 0), 0);
    let user: Row = {};
    const settled = await waitFor(async () => {
      user = await gw.admin<Row>("GET", "/v1/users/acct-5");
      return user["reserved"] === 0;
    }, 3000);
    expect(settled).toBe(true);
    closeUsd(user["spend"], sum);
  });

  test("one row per request with status, status_code and error_message; refusal rows for 402/403/429", async () => {
    const { key } = await budgetUser(gw, "acct-6", 1);
    const track = rowTracker(gw, "acct-6");
    const client = openaiClient(gw, key);
    const oneRow = async (): Promise<Row> => {
      const rows = await track();
      expect(rows.length).toBe(1);
      return rows[0]!;
    };

    await client.chat.completions.create({ model: "openai:gpt-4o-mini", messages: hi });
    expect(await oneRow()).toMatchObject({ status: "success", status_code: 200, error_message: null });

    const s = await client.chat.completions.create({ model: "openai:gpt-4o-mini", messages: hi, stream: true });
    for await (const _ of s) {
      // drain
    }
    expect(await oneRow()).toMatchObject({
      status: "success",
      status_code: 200,
      error_message: null,
      completion_tokens: 3,
    });

    await failure(client.chat.completions.create({ model: "openai:error-500", messages: hi }));
    const failed = await oneRow();
    expect(failed).toMatchObject({ status: "error", status_code: 500, prompt_tokens: null, cost: null });
    expect(String(failed["error_message"])).toContain("500");

    await failure(client.chat.completions.create({ model: "openai:unpriced-model", messages: hi }));
    expect(await oneRow()).toMatchObject({
      status: "error",
      status_code: 402,
      error_message: "No pricing configured for model 'openai:unpriced-model'",
      model: "unpriced-model",
      provider: "openai",
    });

    const narrow = openaiClient(gw, (await gw.createKey({ user_id: "acct-6", allowed_models: ["anthropic:*"] })).key);
    await failure(narrow.chat.completions.create({ model: "openai:gpt-4o-mini", messages: hi }));
    expect(await oneRow()).toMatchObject({
      status: "error",
      status_code: 403,
      error_message: "Model 'openai:gpt-4o-mini' is not allowed for this key",
    });

    const limited = openaiClient(gw, (await gw.createKey({ user_id: "acct-6", rpm_limit: 1 })).key);
    await limited.chat.completions.create({ model: "openai:gpt-4o-mini", messages: hi });
    await track();
    await failure(limited.chat.completions.create({ model: "openai:gpt-4o-mini", messages: hi }));
    expect(await oneRow()).toMatchObject({ status: "error", status_code: 429, error_message: "Rate limit exceeded" });

    const { key: brokeKey } = await budgetUser(gw, "acct-broke", 0);
    await failure(openaiClient(gw, brokeKey).chat.completions.create({ model: "openai:gpt-4o-mini", messages: hi }));
    const [broke, ...none] = await rowsOf(gw, "acct-broke");
    expect(none).toEqual([]);
    expect(broke).toMatchObject({
      status: "error",
      status_code: 403,
      error_message: "User 'acct-broke' has exceeded budget limit",
      cost: null,
    });

    await gw.admin("POST", "/v1/users", { user_id: "acct-blocked", blocked: true });
    await failure(
      openaiClient(gw, (await gw.createKey({ user_id: "acct-blocked" })).key).chat.completions.create({
        model: "openai:gpt-4o-mini",
        messages: hi,
      }),
    );
    expect(await rowsOf(gw, "acct-blocked")).toMatchObject([
      { status: "error", status_code: 403, error_message: "User 'acct-blocked' is blocked" },
    ]);
  });

  test("no row for 401s or a 404 unknown user; the master key's rows have api_key_id null", async () => {
    const before = (await gw.usage("limit=1000")).length;
    await post(gw, "/v1/chat/completions", null, { model: "openai:gpt-4o-mini", messages: hi });
    await post(gw, "/v1/chat/completions", `gw-${"z".repeat(60)}`, { model: "openai:gpt-4o-mini", messages: hi });
    const ghost = await post(gw, "/v1/chat/completions", MASTER_KEY, {
      model: "openai:gpt-4o-mini",
      messages: hi,
      user: "ghost-user",
    });
    expect(ghost.status).toBe(404);
    const ghostMaster = await post(gw, "/v1/messages", MASTER_KEY, {
      model: "anthropic:claude-sonnet-4-5+cache",
      max_tokens: 5,
      messages: hi,
      metadata: { user_id: "ghost-user" },
    });
    expect(ghostMaster.status).toBe(404);
    expect((await gw.usage("limit=1000")).length).toBe(before);

    await gw.admin("POST", "/v1/users", { user_id: "acct-7" });
    const viaMaster = await post(gw, "/v1/chat/completions", MASTER_KEY, {
      model: "openai:gpt-4o-mini",
      messages: hi,
      user: "acct-7",
    });
    expect(viaMaster.status).toBe(200);
    expect(await rowsOf(gw, "acct-7")).toMatchObject([{ api_key_id: null, user_id: "acct-7", status: "success" }]);
    const anth = await failure(
      anthropicClient(gw, `gw-${"q".repeat(60)}`).messages.create({
        model: "anthropic:x",
        max_tokens: 1,
        messages: hi,
      }),
    );
    expect(anth).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((await gw.usage("limit=1000")).length).toBe(before + 1);
  });

  test("a stream that fails mid-way bills what it produced (error row, estimated per §6.3)", async () => {
    const { key } = await budgetUser(gw, "acct-8", 1);
    const res = await post(gw, "/v1/chat/completions", key, {
      model: "openai:break-stream",
      messages: hi,
      stream: true,
      max_tokens: 20,
    });
    expect(res.status).toBe(200);
    await res.text();
    const [row, ...more] = await rowsOf(gw, "acct-8");
    expect(more).toEqual([]);
    expect(row).toMatchObject({ status: "error", estimated: true, completion_tokens: 20 });
    expect(Number(row?.["cost"])).toBeGreaterThan(0);
    await waitFor(async () => (await gw.admin<Row>("GET", "/v1/users/acct-8"))["reserved"] === 0, 3000);
    const u = await gw.admin<Row>("GET", "/v1/users/acct-8");
    closeUsd(u["spend"], Number(row?.["cost"]));
  });
});
