/**
 * Routing (issue "Provider breadth and routing", SPEC §0): aliases, fallback chains before the first byte,
 * retries with backoff, weighted deployments with cool-down, and the usage row naming the attempt that served.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MOCK_USAGE, type MockServer, startOpenAIMock } from "../../src/providers/_mocks";
import { createSqliteDatabase, type TestDatabase } from "../helpers/db";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { openaiClient, post, price, rowsOf } from "./_helpers";

/** A port nothing listens on. */
function deadPort(): number {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

const hi = [{ role: "user" as const, content: "hi" }];

describe("routing", () => {
  let db: TestDatabase;
  let gw: TestGateway;
  let second: MockServer;
  let key: string;

  beforeAll(async () => {
    second = startOpenAIMock();
    db = await createSqliteDatabase();
    const dead = deadPort();
    gw = await startTestGateway(db, {
      aliases: {
        chain: ["openai:error-503", "anthropic:claude-sonnet-4-6"],
        fast: "openai:gpt-4o-mini",
        down: ["openai:error-500", "openai:error-502"],
      },
      routing: { retries: 2, deadline_ms: 10_000, cooldown_seconds: 30 },
      providers: {
        bedrock: {
          api_key: "bedrock-bearer-test",
          client_args: { region: "us-east-1" },
          models: ["anthropic.claude-3-5-sonnet-20240620-v1:0"],
        },
        balanced: {
          provider_type: "openai-compatible",
          deployments: [
            // Weighted so the dead one is nearly always picked first: three failures then cool it down.
            { api_key: "sk-a", api_base: `http://127.0.0.1:${dead}/v1`, weight: 100 },
            { api_key: "sk-b", api_base: second.apiBase, weight: 1 },
          ],
        },
      },
    });
    key = (await gw.createKey({ user_id: "routing-user" })).key;
    await price(gw, "anthropic:claude-sonnet-4-6", 3, 15);
    await price(gw, "openai:error-503", 100, 100);
    await price(gw, "openai:gpt-4o-mini", 1, 2);
  });
  afterAll(async () => {
    await gw.close();
    await db.drop();
    second.stop();
  });

  test("a 503 from the first target is served by the second: one usage row, the second target's price", async () => {
    const client = openaiClient(gw, key);
    const before = gw.openai.requests.length;
    const r = await client.chat.completions.create({ model: "chain", messages: hi });
    expect(r.choices[0]?.message.content).toBeString();
    // The first target was retried (503 is load shedding) before falling back.
    expect(gw.openai.requests.length - before).toBe(3);
    const rows = (await rowsOf(gw, "routing-user")).filter((x) => x["provider"] === "anthropic");
    expect(rows.length).toBe(1);
    const row = rows[0]!;
    expect(row["status"]).toBe("success");
    expect(row["model"]).toBe("claude-sonnet-4-6");
    expect(row["attempt"]).toBe(4);
    expect(row["attempts"]).toBe(4);
    const expected = ((row["prompt_tokens"] as number) * 3 + (row["completion_tokens"] as number) * 15) / 1e6;
    expect(row["cost"]).toBeCloseTo(expected, 6);
  });

  test("streams fall back before the first byte too", async () => {
    const res = await post(gw, "/v1/chat/completions", key, { model: "chain", messages: hi, stream: true });
    expect(res.status).toBe(200);
    expect((await res.text()).trimEnd().endsWith("data: [DONE]")).toBe(true);
  });

  test("every target failing ends with the last failure and one error row counting every try", async () => {
    const res = await post(gw, "/v1/chat/completions", key, { model: "down", messages: hi });
    expect(res.status).toBe(502);
    const rows = await rowsOf(gw, "routing-user");
    const failed = rows.find((x) => x["model"] === "error-502");
    expect(failed?.["status"]).toBe("error");
    expect(failed?.["attempts"]).toBe(6);
  });

  test("a 400 is not retried or failed over", async () => {
    const before = gw.openai.requests.length;
    const res = await post(gw, "/v1/chat/completions", key, { model: "openai:error-400", messages: hi });
    expect(res.status).toBe(400);
    expect(gw.openai.requests.length - before).toBe(1);
  });

  test("a Retry-After longer than the retry wait is honoured by not retrying sooner", async () => {
    const before = gw.openai.requests.length;
    const started = performance.now();
    const res = await post(gw, "/v1/chat/completions", key, { model: "openai:error-429", messages: hi });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("7");
    expect(gw.openai.requests.length - before).toBe(1);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  test("a dead deployment is skipped for its healthy sibling, then cooled down", async () => {
    const client = openaiClient(gw, key);
    const served = second.requests.length;
    for (let i = 0; i < 12; i++) {
      const r = await client.chat.completions.create({ model: "balanced:gpt-4o", messages: hi });
      expect(r.usage?.prompt_tokens).toBe(MOCK_USAGE.prompt);
    }
    expect(second.requests.length - served).toBe(12);
    // After three connection failures the dead deployment cools down: the last calls never try it.
    const rows = (await rowsOf(gw, "routing-user")).filter((x) => x["provider"] === "balanced");
    expect(rows.every((x) => x["status"] === "success")).toBe(true);
    // Three calls each tried the dead deployment once before its sibling; then it cooled down and was skipped.
    expect(rows.reduce((sum, x) => sum + Number(x["attempts"]), 0)).toBe(12 + 3);
  });

  test("aliases are listed by /v1/models, priced through their target", async () => {
    const list = await openaiClient(gw, key).models.list();
    const fast = list.data.find((m) => m.id === "fast") as unknown as {
      owned_by: string;
      pricing: { input_price_per_million: number } | null;
    };
    expect(fast.owned_by).toBe("alias");
    expect(fast.pricing?.input_price_per_million).toBe(1);
    expect(list.data.map((m) => m.id)).toContain("chain");
    // A provider without a listing API shows the models its config names; discovered ones appear too.
    expect(list.data.map((m) => m.id)).toContain("bedrock:anthropic.claude-3-5-sonnet-20240620-v1:0");
    expect(list.data.some((m) => m.id.startsWith("openai:"))).toBe(true);
    expect(list.data.some((m) => m.id.startsWith("balanced:"))).toBe(true);
  });

  test("a key's allow-list narrows an alias chain to the targets it may call", async () => {
    const narrow = (await gw.createKey({ user_id: "routing-narrow", allowed_models: ["anthropic:*"] })).key;
    const before = gw.openai.requests.length;
    const r = await openaiClient(gw, narrow).chat.completions.create({ model: "chain", messages: hi });
    expect(r.choices.length).toBe(1);
    expect(gw.openai.requests.length).toBe(before);
    const denied = await post(gw, "/v1/chat/completions", narrow, { model: "fast", messages: hi });
    expect(denied.status).toBe(403);
  });
});
