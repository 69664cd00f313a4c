/**
 * Batches end to end (docs/api.md#batches) on both stores: create / retrieve / list / cancel / results through the
 * gateway against the OpenAI mock's Batch API; the estimate held on the user's budget durably (a restarted gateway
 * still sees it and settles it), one usage row per result, settled once; refusals and bad input.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type MockServer, startOpenAIMock } from "../../src/providers/_mocks";
import { DIALECTS, type TestDatabase } from "../helpers/db";
import { MASTER_KEY, startTestGateway, type TestGateway } from "../helpers/gateway";
import { type Row, budgetUser, post, price, rowsOf } from "./_helpers";

/** 1000 USD per million tokens both ways: one mock answer (12 + 5 tokens) costs 0.017 USD. */
const RATE = 1000;

const items = (ids: string[], maxTokens = 10) =>
  ids.map((custom_id, i) => ({
    custom_id,
    body: { messages: [{ role: "user", content: `Question ${i}` }], max_tokens: maxTokens },
  }));

/** The reservation estimate of `items` (chars of the messages / 4, plus the token cap), in USD. */
const estimateUsd = (ids: string[], maxTokens = 10) =>
  items(ids, maxTokens).reduce(
    (sum, it) => sum + ((Math.ceil(JSON.stringify(it.body.messages).length / 4) + maxTokens) * RATE) / 1e6,
    0,
  );

function call(gw: TestGateway, method: string, path: string, token: string | null, body?: unknown) {
  return fetch(gw.base + path, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function json(res: Response): Promise<Row> {
  return (await res.json()) as Row;
}

describe.each(DIALECTS)("batches ($dialect)", ({ create }) => {
  let db: TestDatabase;
  let upstream: MockServer;
  let gw: TestGateway;
  const providers = () => ({ openai: { api_key: "sk-test-openai-key", api_base: upstream.apiBase } });

  beforeAll(async () => {
    db = await create();
    upstream = startOpenAIMock();
    gw = await startTestGateway(db, { providers: providers() });
    await price(gw, "openai:gpt-4o-mini", RATE, RATE);
  });
  afterAll(async () => {
    await gw.close();
    await upstream.stop();
    await db.drop();
  });

  const user = (id: string) => gw.admin<Row>("GET", `/v1/users/${id}`);

  test("create holds the estimate; results settle it at the real cost, one row per result, once", async () => {
    const { key } = await budgetUser(gw, "batch-a", 10);
    const ids = ["req-0", "req-1+error-429", "req-2"];
    const res = await post(gw, "/v1/batches", key, { model: "openai:gpt-4o-mini", requests: items(ids) });
    expect(res.status).toBe(200);
    const batch = await json(res);
    expect(batch["status"]).toBe("in_progress");
    expect((await user("batch-a"))["reserved"]).toBeCloseTo(estimateUsd(ids), 9);

    // the first look finds it still running: 409, nothing settled
    const early = await call(gw, "GET", `/v1/batches/${batch["id"]}/results?provider=openai`, key);
    expect(early.status).toBe(409);
    expect(((await json(early))["error"] as Row)["code"]).toBe("batch_not_complete");

    const got = await call(gw, "GET", `/v1/batches/${batch["id"]}?provider=openai`, key);
    expect((await json(got))["status"]).toBe("completed");
    const out = await call(gw, "GET", `/v1/batches/${batch["id"]}/results?provider=openai`, key);
    expect(out.status).toBe(200);
    const results = (await json(out))["results"] as Row[];
    expect(results.map((r) => r["custom_id"])).toEqual(ids);
    expect(results[1]).toMatchObject({ result: null, error: { code: "429" } });
    expect(((results[0]!["result"] as Row)["usage"] as Row)["total_tokens"]).toBe(17);
    expect(results[0]!["usage"]).toBeUndefined();

    const rows = (await rowsOf(gw, "batch-a")).filter((r) => r["endpoint"] === "/v1/batches");
    expect(rows.length).toBe(3);
    expect(rows.filter((r) => r["status"] === "success").map((r) => Number(r["cost"]))).toEqual([0.017, 0.017]);
    expect(rows.find((r) => r["status"] === "error")?.["status_code"]).toBe(429);
    const after = await user("batch-a");
    expect(after["reserved"]).toBe(0);
    expect(after["spend"]).toBeCloseTo(0.034, 9);

    // read again: the same results, no second settlement
    const again = await call(gw, "GET", `/v1/batches/${batch["id"]}/results?provider=openai`, key);
    expect(((await json(again))["results"] as Row[]).length).toBe(3);
    expect((await rowsOf(gw, "batch-a")).filter((r) => r["endpoint"] === "/v1/batches").length).toBe(3);
    expect((await user("batch-a"))["spend"]).toBeCloseTo(0.034, 9);
  });

  test("the hold survives a restart: a new gateway on the same store sees it and settles it", async () => {
    const { key } = await budgetUser(gw, "batch-restart", 10);
    const ids = ["r-0", "r-1"];
    const batch = await json(await post(gw, "/v1/batches", key, { model: "openai:gpt-4o-mini", requests: items(ids) }));
    await gw.close();
    gw = await startTestGateway(db, { providers: providers() });
    expect((await user("batch-restart"))["reserved"]).toBeCloseTo(estimateUsd(ids), 9);
    await call(gw, "GET", `/v1/batches/${batch["id"]}?provider=openai`, key);
    await call(gw, "GET", `/v1/batches/${batch["id"]}?provider=openai`, key);
    const out = await call(gw, "GET", `/v1/batches/${batch["id"]}/results?provider=openai`, key);
    expect(((await json(out))["results"] as Row[]).length).toBe(2);
    const after = await user("batch-restart");
    expect(after["reserved"]).toBe(0);
    expect(after["spend"]).toBeCloseTo(0.034, 9);
  });

  test("a batch whose estimate exceeds the budget is refused before anything goes upstream", async () => {
    const { key } = await budgetUser(gw, "batch-poor", 0.01);
    const before = upstream.requests.length;
    const res = await post(gw, "/v1/batches", key, { model: "openai:gpt-4o-mini", requests: items(["a", "b"]) });
    expect(res.status).toBe(403);
    expect(((await json(res))["error"] as Row)["message"]).toBe("User 'batch-poor' has exceeded budget limit");
    expect(upstream.requests.length).toBe(before);
    expect((await user("batch-poor"))["reserved"]).toBe(0);
  });

  test("an upstream failure on create answers its mapped error and gives the hold back", async () => {
    const { key } = await budgetUser(gw, "batch-fail", 10);
    upstream.setScenario("error-500");
    try {
      const res = await post(gw, "/v1/batches", key, { model: "openai:gpt-4o-mini", requests: items(["a"]) });
      expect(res.status).toBe(502);
      expect(((await json(res))["error"] as Row)["message"]).toBe("LLM provider error");
    } finally {
      upstream.setScenario(null);
    }
    expect((await user("batch-fail"))["reserved"]).toBe(0);
  });

  test("list shows the caller's own batches; another user's batch is a 404; cancel", async () => {
    const mine = await budgetUser(gw, "batch-list-a", 10);
    const theirs = await budgetUser(gw, "batch-list-b", 10);
    const a = await json(
      await post(gw, "/v1/batches", mine.key, { model: "openai:gpt-4o-mini", requests: items(["x"]) }),
    );
    const b = await json(
      await post(gw, "/v1/batches", theirs.key, { model: "openai:gpt-4o-mini", requests: items(["y"]) }),
    );
    const page = await json(await call(gw, "GET", "/v1/batches?provider=openai&limit=100", mine.key));
    const listed = (page["data"] as Row[]).map((x) => x["id"]);
    expect(listed).toContain(a["id"]);
    expect(listed).not.toContain(b["id"]);
    const master = await json(await call(gw, "GET", "/v1/batches?provider=openai&limit=100", MASTER_KEY));
    expect((master["data"] as Row[]).map((x) => x["id"])).toContain(b["id"]);
    for (const path of [`/v1/batches/${b["id"]}?provider=openai`, `/v1/batches/${b["id"]}/results?provider=openai`])
      expect((await call(gw, "GET", path, mine.key)).status).toBe(404);
    expect((await call(gw, "POST", `/v1/batches/${b["id"]}/cancel?provider=openai`, mine.key)).status).toBe(404);
    const cancelled = await call(gw, "POST", `/v1/batches/${a["id"]}/cancel?provider=openai`, mine.key);
    expect((await json(cancelled))["status"]).toBe("cancelled");
  });

  test("Anthropic message batches: answered as OpenAI batches, results as chat completions, settled", async () => {
    await price(gw, "anthropic:claude-sonnet-4-5", RATE, RATE);
    const { key } = await budgetUser(gw, "batch-anthropic", 10);
    const ids = ["m-0", "m-1+error-529"];
    const create = await post(gw, "/v1/batches", key, { model: "anthropic:claude-sonnet-4-5", requests: items(ids) });
    expect(create.status).toBe(200);
    const batch = await json(create);
    expect(batch).toMatchObject({ object: "batch", status: "in_progress", request_counts: { total: 2 } });
    const sent = gw.anthropic.requests.at(-1)!;
    expect(sent.path).toBe("/v1/messages/batches");
    expect((sent.body as { requests: { params: Row }[] }).requests[0]?.params).toMatchObject({
      model: "claude-sonnet-4-5",
      max_tokens: 10,
    });
    const path = `/v1/batches/${batch["id"]}`;
    expect((await call(gw, "GET", `${path}/results?provider=anthropic`, key)).status).toBe(409);
    expect((await json(await call(gw, "GET", `${path}?provider=anthropic`, key)))["status"]).toBe("completed");
    const results = (await json(await call(gw, "GET", `${path}/results?provider=anthropic`, key)))["results"] as Row[];
    expect(results.map((r) => r["custom_id"])).toEqual(ids);
    expect(((results[0]!["result"] as Row)["choices"] as Row[])[0]).toMatchObject({ finish_reason: "stop" });
    expect(results[1]).toMatchObject({ result: null, error: { code: "overloaded_error" } });
    const after = await user("batch-anthropic");
    expect(after["reserved"]).toBe(0);
    expect(after["spend"]).toBeCloseTo(0.017, 9);
  });

  test("creating a batch counts as one request against the key's RPM; allow-lists and blocked users apply", async () => {
    await budgetUser(gw, "batch-rpm", 10);
    const limited = await gw.createKey({ user_id: "batch-rpm", rpm_limit: 1 });
    const body = { model: "openai:gpt-4o-mini", requests: items(["a"]) };
    expect((await post(gw, "/v1/batches", limited.key, body)).status).toBe(200);
    const second = await post(gw, "/v1/batches", limited.key, body);
    expect(second.status).toBe(429);
    expect(second.headers.get("retry-after")).toBeTruthy();
    const narrow = await gw.createKey({ user_id: "batch-rpm", allowed_models: ["anthropic:*"] });
    expect((await post(gw, "/v1/batches", narrow.key, body)).status).toBe(403);
    await gw.admin("POST", "/v1/users", { user_id: "batch-blocked", blocked: true });
    const blocked = await gw.createKey({ user_id: "batch-blocked" });
    const refused = await post(gw, "/v1/batches", blocked.key, body);
    expect(refused.status).toBe(403);
    expect(((await json(refused))["error"] as Row)["message"]).toBe("User 'batch-blocked' is blocked");
  });

  test("bad input: auth, JSON and shape (422), window, unknown provider or batch, provider without batches", async () => {
    const { key } = await budgetUser(gw, "batch-bad", 10);
    const ok = { model: "openai:gpt-4o-mini", requests: items(["a"]) };
    expect((await post(gw, "/v1/batches", null, ok)).status).toBe(401);
    expect((await post(gw, "/v1/batches", "gw-not-a-real-key-000000000000", ok)).status).toBe(401);
    expect((await call(gw, "POST", "/v1/batches", key, "{not json")).status).toBe(422);
    for (const body of [
      { model: "openai:gpt-4o-mini", requests: [] },
      { model: "openai:gpt-4o-mini" },
      { model: "openai:gpt-4o-mini", requests: [{ custom_id: "a" }] },
      { model: 5, requests: items(["a"]) },
    ])
      expect((await post(gw, "/v1/batches", key, body)).status).toBe(422);
    const window = await post(gw, "/v1/batches", key, { ...ok, completion_window: "1d" });
    expect(window.status).toBe(422);
    const unknown = await post(gw, "/v1/batches", key, { ...ok, model: "nope:model" });
    expect(unknown.status).toBe(400);
    const unsupported = await post(gw, "/v1/batches", key, { ...ok, model: "gemini:gemini-2.5-flash" });
    expect(unsupported.status).toBe(422);
    expect(((await json(unsupported))["error"] as Row)["message"]).toBe(
      "Provider 'gemini' does not support batch operations",
    );
    expect((await call(gw, "GET", "/v1/batches?provider=gemini", key)).status).toBe(422);
    expect((await call(gw, "GET", "/v1/batches?provider=nope", key)).status).toBe(400);
    expect((await call(gw, "GET", "/v1/batches", key)).status).toBe(422);
    expect((await call(gw, "GET", "/v1/batches/batch_missing?provider=openai", key)).status).toBe(404);
    expect((await call(gw, "GET", "/v1/batches/batch_missing/results?provider=openai", key)).status).toBe(404);
  });
});
