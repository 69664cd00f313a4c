/**
 * The tool loop under governance: every round reserves its budget before it starts, so a loop never spends past
 * the cap (the next round is refused with the protocol's error), and a client that leaves a JSON loop stops it at
 * once (no further model call or sandbox run; the rounds that ran are billed). Against the mock model
 * (`toolloop-N`), the mock remote sandbox and a real budget, on SQLite and Postgres.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { budgetUser, parseSse, post, type Row, rowsOf, waitFor } from "../inference/_helpers";
import { DIALECTS, type TestDatabase } from "../helpers/db";
import type { TestGateway } from "../helpers/gateway";
import { type MockSandbox, startMockSandbox, startToolGateway, upstreamBodies } from "./_helpers";

/** Output tokens only are priced: a JSON round (5 completion tokens, its max_tokens) costs exactly 0.11 USD. */
const OUTPUT_RATE = 22_000;
const ROUND_COST = 0.11;
const CAP = 1.2;
const CODE_TOOL = { type: "otari_code_execution" };
/** 24 tool rounds and the answer: 25 model calls, 2.75 USD without a cap. */
const MODEL = "toolloop-24";

describe.each(DIALECTS)("tool loops under a budget ($dialect)", ({ create }) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let sandbox: MockSandbox;

  beforeAll(async () => {
    db = await create();
    sandbox = startMockSandbox();
    gw = await startToolGateway(db, { sandbox });
    for (const m of [MODEL, `${MODEL}+slow-first-byte-150`]) {
      await gw.admin("POST", "/v1/pricing", {
        model_key: `openai:${m}`,
        input_price_per_million: 0,
        output_price_per_million: OUTPUT_RATE,
      });
    }
  });
  afterAll(async () => {
    await gw.close();
    sandbox.stop();
    await db.drop();
  });

  const loop = (key: string, extra: Record<string, unknown> = {}, signal?: AbortSignal) =>
    post(
      gw,
      "/v1/chat/completions",
      key,
      {
        model: `openai:${MODEL}`,
        messages: [{ role: "user", content: "print(1)" }],
        tools: [CODE_TOOL],
        max_tokens: 5,
        max_tool_iterations: 25,
        ...extra,
      },
      {},
      signal,
    );

  const settled = async (userId: string): Promise<Row> => {
    let user: Row = {};
    await waitFor(async () => {
      user = await gw.admin<Row>("GET", `/v1/users/${userId}`);
      return user["reserved"] === 0;
    }, 3000);
    return user;
  };

  test("a JSON loop on a 1.20 USD budget stops before the round that would pass it: 403, spend 1.10", async () => {
    gw.openai.reset();
    const { key } = await budgetUser(gw, "loop-json", CAP);
    const res = await loop(key);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { detail: string }).detail).toBe("User 'loop-json' has exceeded budget limit");
    // Ten rounds fit (1.10 USD); the eleventh was refused before its model call.
    expect(upstreamBodies(gw.openai.requests, "/v1/chat/completions")).toHaveLength(10);
    const user = await settled("loop-json");
    expect(user["spend"]).toBeCloseTo(10 * ROUND_COST, 9);
    expect(Number(user["spend"])).toBeLessThanOrEqual(CAP);
    const [row] = await rowsOf(gw, "loop-json");
    expect(row).toMatchObject({ status: "error", status_code: 403, completion_tokens: 50, prompt_tokens: 120 });
    expect(row?.["cost"]).toBeCloseTo(10 * ROUND_COST, 9);
    // Within the budget the same loop runs to its answer.
    const { key: rich } = await budgetUser(gw, "loop-rich", 5);
    const ok = await loop(rich);
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
    expect((await settled("loop-rich"))["spend"]).toBeCloseTo(25 * ROUND_COST, 9);
  });

  test("a streamed loop on the same budget ends with the in-stream error before the round that would pass it", async () => {
    gw.openai.reset();
    const { key } = await budgetUser(gw, "loop-stream", CAP);
    const res = await loop(key, { stream: true });
    expect(res.status).toBe(200);
    const { events } = parseSse(await res.text());
    expect(events.at(-2)?.json).toEqual({
      error: {
        message: "An error occurred during streaming",
        type: "server_error",
        param: null,
        code: "budget_exceeded",
      },
    });
    expect(events.at(-1)?.data).toBe("[DONE]");
    // Each streamed round reports 3 completion tokens (0.066 USD) against its estimate of 5 (0.11 USD).
    const rounds = upstreamBodies(gw.openai.requests, "/v1/chat/completions").length;
    if (process.env.GW_TEST_DEBUG) console.log(`streamed loop: ${rounds} rounds`);
    expect(rounds).toBeGreaterThanOrEqual(10);
    expect(rounds).toBeLessThan(25);
    const user = await settled("loop-stream");
    expect(Number(user["spend"])).toBeLessThanOrEqual(CAP);
    expect(user["spend"]).toBeCloseTo((rounds * 3 * OUTPUT_RATE) / 1e6, 9);
    const [row] = await rowsOf(gw, "loop-stream");
    expect(row).toMatchObject({ status: "error", status_code: 403, completion_tokens: rounds * 3 });
  });

  test("a client leaving a streamed loop during a tool run: the round after it never starts", async () => {
    gw.openai.reset();
    sandbox.calls.length = 0;
    const { key } = await budgetUser(gw, "loop-stream-gone", 100);
    const controller = new AbortController();
    const res = await loop(
      key,
      { stream: true, messages: [{ role: "user", content: "SLOW print(1)" }] },
      controller.signal,
    );
    const reader = res.body!.getReader();
    await reader.read();
    expect(await waitFor(() => sandbox.calls.some((c) => c.path.endsWith("/exec")), 5000, 5)).toBe(true);
    controller.abort();
    await reader.cancel().catch(() => undefined);
    expect(await waitFor(() => sandbox.calls.at(-1)?.method === "DELETE", 3000)).toBe(true);
    await Bun.sleep(600);
    expect(upstreamBodies(gw.openai.requests, "/v1/chat/completions")).toHaveLength(1);
    expect(await waitFor(async () => (await rowsOf(gw, "loop-stream-gone")).length === 1, 3000)).toBe(true);
    expect((await settled("loop-stream-gone"))["spend"]).toBeCloseTo((3 * OUTPUT_RATE) / 1e6, 9);
  });

  test("a client leaving a JSON loop stops it: no model call or sandbox run after the disconnect, the rounds run are billed", async () => {
    gw.openai.reset();
    sandbox.calls.length = 0;
    const { key } = await budgetUser(gw, "loop-gone", 100);
    const controller = new AbortController();
    const pending = loop(key, { model: `openai:${MODEL}+slow-first-byte-150` }, controller.signal).catch(
      (err: unknown) => err,
    );
    const calls = () => upstreamBodies(gw.openai.requests, "/v1/chat/completions").length;
    expect(await waitFor(() => calls() >= 8, 20_000, 10)).toBe(true);
    controller.abort();
    const atAbort = { model: calls(), execs: sandbox.calls.filter((c) => c.path.endsWith("/exec")).length };
    expect(await pending).toBeInstanceOf(Error);
    // The session is closed at once; nothing more runs after it.
    expect(await waitFor(() => sandbox.calls.at(-1)?.method === "DELETE", 3000)).toBe(true);
    await Bun.sleep(600);
    expect(calls()).toBe(atAbort.model);
    expect(sandbox.calls.filter((c) => c.path.endsWith("/exec")).length).toBe(atAbort.execs);
    expect(atAbort.model).toBeLessThanOrEqual(9);
    if (process.env.GW_TEST_DEBUG)
      console.log(
        `disconnect: ${atAbort.model} model calls, ${atAbort.execs} sandbox runs at abort; after: ${calls() - atAbort.model} calls`,
      );
    await settled("loop-gone");
    const rows = await rowsOf(gw, "loop-gone");
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row).toMatchObject({ status: "error", status_code: 499 });
    // The rounds that answered before the disconnect, and only those, are billed.
    const answered = Number(row["completion_tokens"]) / 5;
    expect(answered === atAbort.model || answered === atAbort.model - 1).toBe(true);
    expect(row["cost"]).toBeCloseTo(answered * ROUND_COST, 9);
    expect((await gw.admin<Row>("GET", "/v1/users/loop-gone"))["spend"]).toBeCloseTo(answered * ROUND_COST, 9);
  });
});
