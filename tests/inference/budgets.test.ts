/**
 * Budgets under concurrency (SPEC §7.3, §0 overshoot rule, §13 items 30, 36-37): concurrent requests never push
 * settled spend past max_budget, on one gateway (SQLite, Postgres) and on two gateways sharing Postgres; a failed
 * call releases its reservation; max_budget 0 refuses everything but a 0/0-priced model.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createPgDatabase, DIALECTS, type TestDatabase } from "../helpers/db";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { type Row, budgetUser, failure, hi, openaiClient, post, price, rowsOf, waitFor } from "./_helpers";

/** Long enough that the prompt estimate (chars / 4) exceeds the mock's 12 prompt tokens: actual <= estimate. */
const PROMPT = [{ role: "user", content: "Please answer this question about budgets and reservations briefly." }];
/** 1000 USD per million tokens both ways: 1 token = 0.001 USD, actual cost of one JSON call = 17 tokens = 0.017 USD. */
const RATE = 1000;
const CALL_COST = 0.017;
const CAP = 0.2;

async function fire(gateways: TestGateway[], key: string, n: number): Promise<number[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const gw = gateways[i % gateways.length]!;
      const res = await post(gw, "/v1/chat/completions", key, {
        model: "openai:gpt-4o-mini+interval-5",
        messages: PROMPT,
        max_tokens: 10,
      });
      await res.arrayBuffer();
      return res.status;
    }),
  );
}

async function checkNoOvershoot(
  gw: TestGateway,
  userId: string,
  statuses: number[],
  others: TestGateway[] = [],
  callCost = CALL_COST,
) {
  for (const o of others) await o.gateway.inference.usage.flush();
  const rows = await rowsOf(gw, userId);
  const ok = statuses.filter((s) => s === 200).length;
  if (process.env.GW_TEST_DEBUG) console.log(`${userId}: ${ok} of ${statuses.length} admitted`);
  expect(statuses.every((s) => s === 200 || s === 403)).toBe(true);
  expect(ok).toBeGreaterThanOrEqual(5);
  expect(rows.length).toBe(statuses.length);
  const success = rows.filter((r) => r["status"] === "success");
  expect(success.length).toBe(ok);
  const settled = success.reduce((a, r) => a + Number(r["cost"]), 0);
  expect(settled).toBeLessThanOrEqual(CAP + 1e-9);
  expect(Math.abs(settled - ok * callCost)).toBeLessThan(1e-6);
  expect(
    rows
      .filter((r) => r["status_code"] === 403)
      .every((r) => r["error_message"] === `User '${userId}' has exceeded budget limit`),
  ).toBe(true);
  let user: Row = {};
  const drained = await waitFor(async () => {
    user = await gw.admin<Row>("GET", `/v1/users/${userId}`);
    return user["reserved"] === 0 && Math.abs(Number(user["spend"]) - settled) < 1e-6;
  }, 3000);
  expect(user["spend"]).toBeCloseTo(settled, 6);
  expect(drained).toBe(true);
}

describe.each(DIALECTS)("budgets under concurrency ($dialect)", ({ create }) => {
  let db: TestDatabase;
  let gw: TestGateway;

  beforeAll(async () => {
    db = await create();
    gw = await startTestGateway(db);
    await price(gw, "openai:gpt-4o-mini+interval-5", RATE, RATE);
    await price(gw, "openai:error-500", RATE, RATE);
    await price(gw, "openai:priced", RATE, RATE);
    await gw.admin("POST", "/v1/pricing", {
      model_key: "openai:free-model",
      input_price_per_million: 0,
      output_price_per_million: 0,
    });
  });
  afterAll(async () => {
    await gw.close();
    await db.drop();
  });

  test("50 concurrent requests against a 0.2 USD budget never overshoot it", async () => {
    const { key } = await budgetUser(gw, "conc-1", CAP);
    const statuses = await fire([gw], key, 50);
    await checkNoOvershoot(gw, "conc-1", statuses);
  });

  test("40 concurrent streams (half abandoned mid-way by their clients) never overshoot either", async () => {
    const { key } = await budgetUser(gw, "conc-streams", CAP);
    const statuses = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const controller = new AbortController();
        const res = await post(
          gw,
          "/v1/chat/completions",
          key,
          { model: "openai:gpt-4o-mini+interval-5", messages: PROMPT, max_tokens: 10, stream: true },
          {},
          controller.signal,
        );
        if (res.status !== 200 || i % 2 === 0) {
          await res.arrayBuffer();
          return res.status;
        }
        const reader = res.body!.getReader();
        await reader.read();
        controller.abort();
        await reader.cancel().catch(() => undefined);
        return res.status;
      }),
    );
    // abandoned streams settle once the drained upstream ends
    await waitFor(async () => (await rowsOf(gw, "conc-streams")).length === statuses.length, 3000);
    // a stream reports one completion token per content chunk (3): 15 tokens
    await checkNoOvershoot(gw, "conc-streams", statuses, [], 0.015);
  });

  test("a provider failure releases its reservation: a budget for one call survives repeated failures", async () => {
    // estimate of one call: ceil(chars/4) prompt + 10 output tokens at 0.001 USD each
    const estimate = (Math.ceil(JSON.stringify(PROMPT).length / 4) + 10) * 0.001;
    const { key } = await budgetUser(gw, "conc-2", estimate);
    const client = openaiClient(gw, key);
    for (let i = 0; i < 5; i++) {
      const err = await failure(
        client.chat.completions.create({ model: "openai:error-500", messages: PROMPT as typeof hi, max_tokens: 10 }),
      );
      expect((err as { status?: number }).status).toBe(502);
    }
    const ok = await client.chat.completions.create({
      model: "openai:gpt-4o-mini+interval-5",
      messages: PROMPT as typeof hi,
      max_tokens: 10,
    });
    expect(ok.choices.length).toBe(1);
    let user: Row = {};
    await waitFor(async () => {
      user = await gw.admin<Row>("GET", "/v1/users/conc-2");
      return user["reserved"] === 0;
    }, 3000);
    expect(user["reserved"]).toBe(0);
    expect(user["spend"]).toBeCloseTo(CALL_COST, 6);
    const rows = await rowsOf(gw, "conc-2");
    expect(rows.filter((r) => r["status"] === "error" && r["status_code"] === 500).length).toBe(5);
    expect(rows.filter((r) => r["status"] === "error").every((r) => r["cost"] === null)).toBe(true);
  });

  test("the reservation scales with `n`: n=128 x max_tokens=500 (64 USD at most) is refused on a 1 USD budget", async () => {
    const { key } = await budgetUser(gw, "conc-n", 1);
    const ask = (n: number) =>
      post(gw, "/v1/chat/completions", key, { model: "openai:priced", messages: hi, max_tokens: 500, n });
    const one = await ask(1);
    await one.arrayBuffer();
    expect(one.status).toBe(200);
    const many = await ask(128);
    expect(many.status).toBe(403);
    expect(((await many.json()) as { detail: string }).detail).toBe("User 'conc-n' has exceeded budget limit");
    // Within the budget, n still counts: 2 x 400 output tokens (0.8 USD) fit, 3 x 400 (1.2 USD) do not.
    const fits = await post(gw, "/v1/chat/completions", key, {
      model: "openai:priced",
      messages: hi,
      max_tokens: 400,
      n: 2,
    });
    await fits.arrayBuffer();
    expect(fits.status).toBe(200);
    const over = await post(gw, "/v1/chat/completions", key, {
      model: "openai:priced",
      messages: hi,
      max_tokens: 400,
      n: 3,
    });
    await over.arrayBuffer();
    expect(over.status).toBe(403);
    expect(
      gw.openai.requests.filter(
        (r) => (r.body as { n?: number } | null)?.n === 128 || (r.body as { n?: number } | null)?.n === 3,
      ),
    ).toHaveLength(0);
  });

  test("max_budget 0 refuses priced and unpriced models, allows a 0/0-priced one (§13 item 30)", async () => {
    const { key } = await budgetUser(gw, "conc-zero", 0);
    const client = openaiClient(gw, key);
    for (const model of ["openai:priced", "openai:unpriced"]) {
      const err = await failure(client.chat.completions.create({ model, messages: hi }));
      expect((err as { status?: number }).status).toBe(403);
      expect(String((err as Error).message)).toContain("budget");
    }
    const free = await client.chat.completions.create({ model: "openai:free-model", messages: hi });
    expect(free.choices.length).toBe(1);
    const rows = await rowsOf(gw, "conc-zero");
    expect(rows.map((r) => r["status_code"]).sort()).toEqual([200, 403, 403]);
    expect(rows.find((r) => r["status"] === "success")?.["cost"]).toBe(0);
  });
});

describe("budgets across two gateways sharing Postgres", () => {
  let db: TestDatabase;
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    db = await createPgDatabase();
    a = await startTestGateway(db);
    await price(a, "openai:gpt-4o-mini+interval-5", RATE, RATE);
    b = await startTestGateway(db);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await db.drop();
  });

  test("50 concurrent requests split over two replicas never overshoot the shared budget", async () => {
    const { key } = await budgetUser(a, "repl-1", CAP);
    // b learns of the price and the user through the change feed / its caches within ~1 s
    const seen = await waitFor(async () => {
      const res = await post(b, "/v1/chat/completions", key, {
        model: "openai:gpt-4o-mini+interval-5",
        messages: PROMPT,
        max_tokens: 10,
      });
      await res.arrayBuffer();
      return res.status === 200;
    }, 3000);
    expect(seen).toBe(true);
    const statuses = [200, ...(await fire([a, b], key, 49))];
    await checkNoOvershoot(a, "repl-1", statuses, [b]);
    // the other replica sees the same spend within 1 s
    const spendA = Number((await a.admin<Row>("GET", "/v1/users/repl-1"))["spend"]);
    expect(
      await waitFor(
        async () => Math.abs(Number((await b.admin<Row>("GET", "/v1/users/repl-1"))["spend"]) - spendA) < 1e-6,
        1500,
      ),
    ).toBe(true);
  });
});
