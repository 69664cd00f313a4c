/**
 * POST /v1/rerank on the one pipeline: Cohere (search units), Voyage and vLLM (tokens) behind mocks speaking their
 * wires; auth, allow-lists, budgets reserved and settled, one usage row with the cost in the price's unit, the
 * pricing unit on /v1/pricing, and bad input; on SQLite and Postgres.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type MockServer, startCohereMock, startOpenAIMock, startVoyageMock } from "../../src/providers/_mocks";
import { budgetUser, post, price, waitFor, routeSuite, unitPrice } from "./_helpers";
import { DIALECTS } from "../helpers/db";

setDefaultTimeout(30_000);

const DOCS = ["otters eat fish", "sea otters use stones to crack shells", "stock prices"];
const QUERY = "sea otters stones";
/** The mocks count a token per word (query and documents): 15 for the call above. */
const TOKENS = 15;

type Json = Record<string, unknown>;

describe.each(DIALECTS)("POST /v1/rerank ($dialect)", ({ create }) => {
  let cohere: MockServer;
  let voyage: MockServer;
  let vllm: MockServer;
  beforeAll(() => {
    cohere = startCohereMock();
    voyage = startVoyageMock();
    vllm = startOpenAIMock();
  });
  const s = routeSuite(create, "rerank-user", () => ({
    max_request_body_bytes: 256 * 1024,
    providers: {
      cohere: { api_key: "co-key", api_base: cohere.apiBase },
      voyage: { api_key: "vo-key", api_base: voyage.apiBase },
      vllm: { api_key: "vllm-key", api_base: vllm.apiBase },
    },
  }));
  beforeAll(async () => {
    await unitPrice(s.gw, "cohere:rerank-v3.5", 2000, "search_unit"); // 0.002 per search unit
    await price(s.gw, "voyage:rerank-2", 50, 0);
  });
  afterAll(() => {
    for (const m of [cohere, voyage, vllm]) m.stop();
  });

  const rerank = (body: Json, token: string | null = s.key) =>
    post(s.gw, "/v1/rerank", token, { query: QUERY, documents: DOCS, ...body });

  test("Cohere: results by relevance, top_n, billed per search unit on one usage row", async () => {
    const res = await rerank({ model: "cohere:rerank-v3.5", top_n: 2 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json & { results: { index: number }[] };
    expect(body.results.map((r) => r.index)).toEqual([1, 0]);
    expect(body.meta).toEqual({ billed_units: { search_units: 1 } });
    expect(Number(res.headers.get("x-gateway-cost-usd"))).toBeCloseTo(0.002, 9);
    const sent = cohere.requests.at(-1)!;
    expect(sent.path).toBe("/v2/rerank");
    expect(sent.body).toEqual({ model: "rerank-v3.5", query: QUERY, documents: DOCS, top_n: 2 });
    const rows = await s.newRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      endpoint: "/v1/rerank",
      provider: "cohere",
      model: "rerank-v3.5",
      status: "success",
    });
    expect(Number(rows[0]!.cost)).toBeCloseTo(0.002, 9);
  });

  test("Voyage: billed by tokens at the input rate; top_n sent as Voyage's top_k", async () => {
    const res = await rerank({ model: "voyage:rerank-2", top_n: 1, user: "end-user-7" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json & { results: { index: number }[] };
    expect(body.results.map((r) => r.index)).toEqual([1]);
    expect(body.usage).toEqual({ total_tokens: TOKENS });
    expect(voyage.requests.at(-1)?.body).toEqual({ model: "rerank-2", query: QUERY, documents: DOCS, top_k: 1 });
    const [row] = await s.newRows();
    expect(row).toMatchObject({ prompt_tokens: TOKENS, completion_tokens: 0 });
    expect(Number(row!.cost)).toBeCloseTo((TOKENS * 50) / 1e6, 9);
  });

  test("vLLM (the Jina shape): unpriced, so tracked without cost", async () => {
    const res = await rerank({ model: "vllm:bge-reranker" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json & { results: Json[] };
    expect(body.results).toHaveLength(3);
    // Only index and score reach the client, whatever else the upstream put in a result.
    expect(Object.keys(body.results[0]!).sort()).toEqual(["index", "relevance_score"]);
    expect(vllm.requests.at(-1)?.path).toBe("/v1/rerank");
    const [row] = await s.newRows();
    expect(row).toMatchObject({ prompt_tokens: TOKENS, cost: null });
  });

  test("a provider without rerank is a 400 naming it, before any upstream call", async () => {
    const before = s.gw.openai.requests.length;
    const res = await rerank({ model: "openai:gpt-4o" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).detail).toBe("Provider 'openai' does not support rerank");
    expect(s.gw.openai.requests.length).toBe(before);
  });

  test("bad input: malformed JSON, wrong types, missing fields, empty documents, unknown provider", async () => {
    const raw = await fetch(`${s.gw.base}/v1/rerank`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.key}`, "content-type": "application/json" },
      body: "{not json",
    });
    expect([400, 422]).toContain(raw.status);
    for (const body of [
      { model: "cohere:rerank-v3.5", documents: [] },
      { model: "cohere:rerank-v3.5", documents: "one" },
      { model: "cohere:rerank-v3.5", documents: [1, 2] },
      { model: "cohere:rerank-v3.5", query: 5 },
      { model: "cohere:rerank-v3.5", top_n: 0 },
      { query: QUERY },
    ])
      expect((await post(s.gw, "/v1/rerank", s.key, { query: QUERY, documents: DOCS, ...body })).status).toBe(422);
    expect((await rerank({ model: "nosuch:model" })).status).toBe(400);
    expect(cohere.requests.filter((r) => r.path === "/v2/rerank")).toHaveLength(1);
  });

  test("auth: no key, an unknown key, a deactivated key", async () => {
    expect((await rerank({ model: "cohere:rerank-v3.5" }, null)).status).toBe(401);
    expect((await rerank({ model: "cohere:rerank-v3.5" }, "gw-not-a-real-key")).status).toBe(401);
    const inactive = await s.gw.createKey({ user_id: "rerank-user" });
    await s.gw.admin("PATCH", `/v1/keys/${inactive.id}`, { is_active: false });
    expect((await rerank({ model: "cohere:rerank-v3.5" }, inactive.key)).status).toBe(401);
  });

  test("an oversized body is a 413 before it is read", async () => {
    const res = await rerank({ model: "cohere:rerank-v3.5", documents: ["x".repeat(300 * 1024)] });
    expect(res.status).toBe(413);
  });

  test("upstream failures map as on every pass-through route; an error row each", async () => {
    await s.newRows();
    const failed = await rerank({ model: "cohere:error-500" });
    expect(failed.status).toBe(502);
    const limited = await rerank({ model: "cohere:error-429" });
    expect(limited.status).toBe(429);
    const rows = await s.newRows();
    // The row keeps the upstream's status; the client got the mapped one.
    expect(rows.map((r) => r.status_code).sort()).toEqual([429, 500]);
  });

  test("budgets: an exhausted budget is refused; a reservation by search units settles at the cost", async () => {
    const poor = await budgetUser(s.gw, `rr-poor-${crypto.randomUUID().slice(0, 6)}`, 0);
    const refused = await rerank({ model: "cohere:rerank-v3.5" }, poor.key);
    expect(refused.status).toBe(403);
    const userId = `rr-rich-${crypto.randomUUID().slice(0, 6)}`;
    const rich = await budgetUser(s.gw, userId, 1);
    // 150 documents: two search units reserved and billed.
    const many = Array.from({ length: 150 }, (_, i) => `document ${i} about otters`);
    const res = await rerank({ model: "cohere:rerank-v3.5", documents: many }, rich.key);
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).meta).toEqual({ billed_units: { search_units: 2 } });
    let user: Json = {};
    expect(
      await waitFor(async () => {
        user = await s.gw.admin<Json>("GET", `/v1/users/${userId}`);
        return user.reserved === 0;
      }),
    ).toBe(true);
    expect(Number(user.spend)).toBeCloseTo(0.004, 9);
  });

  test("allow-lists: a key limited to other models is refused", async () => {
    const limited = await s.gw.createKey({ user_id: "rerank-user", allowed_models: ["voyage:rerank-2"] });
    expect((await rerank({ model: "cohere:rerank-v3.5" }, limited.key)).status).toBe(403);
    expect((await rerank({ model: "voyage:rerank-2" }, limited.key)).status).toBe(200);
  });

  test("the pricing unit on /v1/pricing: returned, token by default, an unknown unit refused", async () => {
    const priced = await s.gw.admin<Json>("GET", "/v1/pricing/cohere:rerank-v3.5");
    expect(priced.unit).toBe("search_unit");
    expect((await s.gw.admin<Json>("GET", "/v1/pricing/voyage:rerank-2")).unit).toBe("token");
    const bad = await fetch(`${s.gw.base}/v1/pricing`, {
      method: "POST",
      headers: { authorization: "Bearer test-master-key-0123456789", "content-type": "application/json" },
      body: JSON.stringify({
        model_key: "cohere:x",
        input_price_per_million: 1,
        output_price_per_million: 1,
        unit: "liter",
      }),
    });
    expect(bad.status).toBe(422);
  });
});
