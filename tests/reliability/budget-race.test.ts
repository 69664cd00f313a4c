/**
 * Budget and rate-limit races against the compiled binary (SPEC §7.3 item 9, §0 overshoot rule, §7.6): 500
 * concurrent requests against a small budget on SQLite (one process) and on Postgres behind three replicas sharing
 * one database. Recorded spend (usage rows and users.spend) never passes the cap, and every request is either
 * served and billed or refused with 403. RPM and TPM limits hold across the three replicas (not limit × replicas).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createPgDatabase, createSqliteDatabase } from "../helpers/db";
import {
  admin,
  call,
  clusterFixture,
  type DbReader,
  type GatewayProc,
  report,
  until,
  usageRows,
  userMoney,
} from "./_harness";

const FIRED = 500;
/** Longer than the mock's 12 prompt tokens once divided by 4: each actual cost stays under its estimate. */
const PROMPT = [{ role: "user", content: "Please answer this question about budgets, leases and replicas briefly." }];
/** 1000 USD per million tokens: one token = 1000 µ$. */
const RATE = 1000;
const CAP_USD = 0.3;
const CAP = CAP_USD * 1e6;
const MODEL = "openai:gpt-4o-mini";

/** The database and replicas of the describe block running. */
const cluster = clusterFixture({ prefix: "gw-rel-race-", model: MODEL, rate: RATE });
const { first } = cluster;

/** Fires `FIRED` requests at once, round-robin over the replicas, a third of them streamed. */
async function burst(replicas: GatewayProc[], key: string) {
  return Promise.all(
    Array.from({ length: FIRED }, (_, i) => {
      const stream = i % 3 === 0;
      return call(`${replicas[i % replicas.length]!.url}/v1/chat/completions`, {
        token: key,
        body: {
          model: MODEL,
          messages: PROMPT,
          max_tokens: 10,
          ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
        },
      });
    }),
  );
}

async function checkBudget(label: string, db: DbReader, userId: string, replies: Awaited<ReturnType<typeof burst>>) {
  const served = replies.filter((r) => r.status === 200);
  const refused = replies.filter((r) => r.status === 403);
  expect(served.length + refused.length).toBe(FIRED);
  expect(served.length).toBeGreaterThan(0);
  expect(refused.length).toBeGreaterThan(0);
  for (const r of refused) expect(JSON.parse(r.text).detail).toBe(`User '${userId}' has exceeded budget limit`);
  // Every request has its row (the writer flushes within ~1 s) and leases drain back within ~1 s.
  let rows: Awaited<ReturnType<typeof usageRows>> = [];
  await until(async () => {
    rows = await usageRows(db, userId);
    return rows.length >= FIRED;
  }, 8000);
  const byId = new Map(rows.map((r) => [r.request_id, r]));
  expect(rows.length).toBe(FIRED);
  for (const r of served) {
    const row = byId.get(r.requestId);
    expect(row?.status).toBe("success");
    expect(row?.cost ?? 0).toBeGreaterThan(0);
  }
  for (const r of refused) expect(byId.get(r.requestId)?.status_code).toBe(403);
  const rowSpend = rows.reduce((a, r) => a + (r.cost ?? 0), 0);
  let money = await userMoney(db, userId);
  await until(async () => {
    money = await userMoney(db, userId);
    return money.reserved === 0 && money.spend === rowSpend;
  }, 8000);
  report(`budget race ${label}`, {
    fired: FIRED,
    served: served.length,
    refused: refused.length,
    cap_usd: CAP_USD,
    spend_usd: (rowSpend / 1e6).toFixed(6),
    overshoot_usd: (Math.max(0, rowSpend - CAP) / 1e6).toFixed(6),
  });
  expect(rowSpend).toBeLessThanOrEqual(CAP);
  expect(money.spend).toBe(rowSpend);
  expect(money.reserved).toBe(0);
}

async function budgetUser(userId: string): Promise<string> {
  await admin(first(), "POST", "/v1/users", { user_id: userId, budget_id: await cluster.budget(CAP_USD) });
  return (await admin<{ key: string }>(first(), "POST", "/v1/keys", { user_id: userId })).key;
}

describe("budget race on SQLite (one binary)", () => {
  beforeAll(() => cluster.start(createSqliteDatabase, 1), 60_000);
  afterAll(cluster.stop);

  test(`${FIRED} concurrent requests never push spend past the cap; each is billed or refused with 403`, async () => {
    const key = await budgetUser("race-sqlite");
    await checkBudget("sqlite x1", cluster.reader, "race-sqlite", await burst(cluster.replicas, key));
  }, 60_000);
});

describe("budget and rate-limit races on Postgres (three binaries, one database)", () => {
  beforeAll(() => cluster.start(createPgDatabase, 3), 90_000);
  afterAll(cluster.stop);

  test(`${FIRED} concurrent requests over 3 replicas never push the shared spend past the cap`, async () => {
    const key = await budgetUser("race-pg");
    await Bun.sleep(1200); // the other replicas hear of the new price, user and key through the change feed
    await checkBudget("postgres x3", cluster.reader, "race-pg", await burst(cluster.replicas, key));
  }, 90_000);

  /** Waits out the last seconds of a minute: the sliding window's weighted previous bucket would blur the count. */
  async function awayFromMinuteEdge() {
    const into = Date.now() % 60_000;
    if (into > 50_000) await Bun.sleep(60_000 - into + 200);
  }

  test("RPM: 300 concurrent requests over 3 replicas admit at most the limit", async () => {
    const LIMIT = 40;
    await admin(first(), "POST", "/v1/users", { user_id: "rpm-pg", rpm_limit: LIMIT });
    const { key } = await admin<{ key: string }>(first(), "POST", "/v1/keys", { user_id: "rpm-pg" });
    await Bun.sleep(1200);
    await awayFromMinuteEdge();
    const replies = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        call(`${cluster.replicas[i % 3]!.url}/v1/chat/completions`, {
          token: key,
          body: { model: MODEL, messages: PROMPT },
        }),
      ),
    );
    const admitted = replies.filter((r) => r.status === 200).length;
    const limited = replies.filter((r) => r.status === 429).length;
    report("rpm across 3 replicas", {
      fired: 300,
      limit: LIMIT,
      admitted,
      refused_429: limited,
      overshoot: Math.max(0, admitted - LIMIT),
    });
    expect(admitted + limited).toBe(300);
    expect(admitted).toBeLessThanOrEqual(LIMIT);
    expect(admitted).toBeGreaterThanOrEqual(LIMIT / 2);
    for (const r of replies.filter((x) => x.status === 429))
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  }, 60_000);

  test("TPM: paced traffic over 3 replicas stops near the limit, far from limit × replicas", async () => {
    const LIMIT = 400;
    const PACE_MS = 100;
    await admin(first(), "POST", "/v1/users", { user_id: "tpm-pg", tpm_limit: LIMIT });
    const { key } = await admin<{ key: string }>(first(), "POST", "/v1/keys", { user_id: "tpm-pg" });
    await Bun.sleep(1200);
    await awayFromMinuteEdge();
    const stopAt = Date.now() + 4000;
    const statuses: number[] = [];
    await Promise.all(
      cluster.replicas.map(async (r) => {
        while (Date.now() < stopAt) {
          statuses.push(
            (await call(`${r.url}/v1/chat/completions`, { token: key, body: { model: MODEL, messages: PROMPT } }))
              .status,
          );
          await Bun.sleep(PACE_MS);
        }
      }),
    );
    await until(async () => (await usageRows(cluster.reader, "tpm-pg")).length >= statuses.length, 5000);
    const rows = await usageRows(cluster.reader, "tpm-pg");
    const tokens = rows.filter((r) => r.status === "success").reduce((a, r) => a + (r.total_tokens ?? 0), 0);
    const perRequest = 17;
    // A replica learns the others' tokens at its next sync (250 ms, plus the statement): one sync lag of paced
    // requests per replica is the allowance, as one lease per replica is for budgets (SPEC §0).
    const allowance = 3 * Math.ceil(600 / PACE_MS + 1) * perRequest;
    report("tpm across 3 replicas", {
      fired: statuses.length,
      limit_tokens: LIMIT,
      admitted: statuses.filter((s) => s === 200).length,
      refused_429: statuses.filter((s) => s === 429).length,
      tokens_admitted: tokens,
      overshoot_tokens: Math.max(0, tokens - LIMIT),
      allowance_tokens: allowance,
    });
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(tokens).toBeLessThanOrEqual(LIMIT + allowance);
    expect(tokens).toBeLessThan(LIMIT * 3);
  }, 60_000);
});
