/**
 * Rate limits through the SDK and raw HTTP (SPEC §3.0 headers, §7.6, §13 items 53-55): the global per-user RPM,
 * the tightest scope in the headers, headers on the stream head, TPM counted after settlement, and on Postgres one
 * counter shared by two gateways.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { createPgDatabase, DIALECTS, type TestDatabase } from "../helpers/db";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { failure, hi, openaiClient, post, rowsOf } from "./_helpers";

const body = { model: "openai:gpt-4o-mini", messages: hi };

describe.each(DIALECTS)("rate limits ($dialect)", ({ create }) => {
  let db: TestDatabase;
  let gw: TestGateway;

  beforeAll(async () => {
    db = await create();
    gw = await startTestGateway(db, { rate_limit_rpm: 3 });
  });
  afterAll(async () => {
    await gw.close();
    await db.drop();
  });

  test("rate_limit_rpm 3: Limit 3 / Remaining 2 / Reset epoch, the 4th call is a 429 with Retry-After (§13 item 53)", async () => {
    const client = openaiClient(gw, (await gw.createKey({ user_id: "rl-1" })).key);
    const first = await client.chat.completions.create(body).withResponse();
    expect(first.response.headers.get("x-ratelimit-limit")).toBe("3");
    expect(first.response.headers.get("x-ratelimit-remaining")).toBe("2");
    const reset = Number(first.response.headers.get("x-ratelimit-reset"));
    expect(reset).toBeGreaterThan(1e9);
    expect(reset).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 61);
    const second = await client.chat.completions.create(body).withResponse();
    expect(second.response.headers.get("x-ratelimit-remaining")).toBe("1");
    await client.chat.completions.create(body);
    const err = await failure(client.chat.completions.create(body));
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const retry = Number((err as InstanceType<typeof OpenAI.RateLimitError>).headers.get("retry-after"));
    expect(retry).toBeGreaterThanOrEqual(1);
    // two weighted minute buckets: the wait can pass 60 s (the full bucket must age into the previous one)
    expect(retry).toBeLessThanOrEqual(120);
    // the limit is per user: another user is not affected
    const other = openaiClient(gw, (await gw.createKey({ user_id: "rl-2" })).key);
    expect((await other.chat.completions.create(body)).choices.length).toBe(1);
    const rows = await rowsOf(gw, "rl-1");
    expect(rows.map((r) => r["status_code"]).sort()).toEqual([200, 200, 200, 429]);
  });

  test("a key's lower rpm_limit wins and is what the headers report; streams carry them on the head", async () => {
    const { key } = await gw.createKey({ user_id: "rl-3", rpm_limit: 2 });
    const res = await post(gw, "/v1/chat/completions", key, { ...body, stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(res.headers.get("x-ratelimit-limit")).toBe("2");
    expect(res.headers.get("x-ratelimit-remaining")).toBe("1");
    await res.text();
    expect((await post(gw, "/v1/chat/completions", key, body)).status).toBe(200);
    const refused = await post(gw, "/v1/chat/completions", key, { ...body, stream: true });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("content-type")).toStartWith("application/json");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // a second key of the same user still has the user's allowance (3 per minute, 2 used)
    const { key: sibling } = await gw.createKey({ user_id: "rl-3" });
    expect((await post(gw, "/v1/chat/completions", sibling, body)).status).toBe(200);
    expect((await post(gw, "/v1/chat/completions", sibling, body)).status).toBe(429);
  });

  test("TPM: tokens of settled requests count; Limit-Tokens headers; refused once the window holds the limit", async () => {
    await gw.admin("POST", "/v1/users", { user_id: "rl-tpm", tpm_limit: 30, rpm_limit: 100 });
    const { key } = await gw.createKey({ user_id: "rl-tpm" });
    const first = await post(gw, "/v1/chat/completions", key, body);
    expect(first.status).toBe(200);
    expect(first.headers.get("x-ratelimit-limit-tokens")).toBe("30");
    expect(first.headers.get("x-ratelimit-remaining-tokens")).toBe("30");
    const second = await post(gw, "/v1/chat/completions", key, body);
    expect(second.status).toBe(200);
    expect(second.headers.get("x-ratelimit-remaining-tokens")).toBe("13");
    const third = await post(gw, "/v1/chat/completions", key, body);
    expect(third.status).toBe(429);
    expect(((await third.json()) as { detail: string }).detail).toBe("Rate limit exceeded");
  });
});

describe("rate limits shared by two gateways on Postgres (§13 item 55)", () => {
  let db: TestDatabase;
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    db = await createPgDatabase();
    a = await startTestGateway(db);
    b = await startTestGateway(db);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await db.drop();
  });

  test("a key's rpm_limit is one counter across replicas", async () => {
    const { key } = await a.createKey({ user_id: "rl-shared", rpm_limit: 3 });
    const statuses: number[] = [];
    for (const gw of [a, b, a, b, a]) statuses.push((await post(gw, "/v1/chat/completions", key, body)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });
});
