/**
 * Cost control at every level across replicas (docs/behaviour/cost-control.md): one compiled binary on SQLite, then
 * three on one Postgres. 500 concurrent requests against a tiny key budget, team budget (shared by three users) and
 * end-user budget in turn, then (Postgres) against tiny budgets on every level at once (key, user, team, end user): no level's spend passes its cap, every
 * request has its row, and each level's spend equals the sum of its rows. Then a team's `max_concurrent` under
 * streams spread over the three replicas: never more in flight than the limit, and every slot back once the streams
 * end; and a replica SIGKILLed while holding the team's slots: they come back within the lease's 15 s.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createPgDatabase, createSqliteDatabase } from "../helpers/db";
import { admin, call, clusterFixture, report, until } from "./_harness";

const FIRED = 500;
/** Longer than the mock's 12 prompt tokens once divided by 4: each actual cost stays under its estimate. */
const PROMPT = [{ role: "user", content: "Please answer this question about budgets, leases and replicas briefly." }];
/** 1000 USD per million tokens: one token = 1000 µ$. */
const RATE = 1000;
const MODEL = "openai:gpt-4o-mini";

type Level = "key" | "user" | "team" | "end_user";
const TABLES: Record<Level, [string, string]> = {
  key: ["api_keys", "id"],
  user: ["users", "user_id"],
  team: ["teams", "team_id"],
  end_user: ["end_users", "end_user_id"],
};

/** The database and replicas of the describe block running. */
const cluster = clusterFixture({ prefix: "gw-rel-levels-", model: MODEL, rate: RATE });
const { first, budget } = cluster;

/** A level's spend and reserved (µ$); for end users, summed over every row of that end-user id. */
async function money(level: Level, id: string): Promise<{ spend: number; reserved: number }> {
  const [table, col] = TABLES[level];
  const [row] = await cluster.reader.all<{ s: unknown; r: unknown }>(
    `SELECT COALESCE(SUM(spend_micros), 0) AS s, COALESCE(SUM(reserved_micros), 0) AS r FROM ${table} WHERE ${col} = $1`,
    [id],
  );
  return { spend: Number(row?.s ?? 0), reserved: Number(row?.r ?? 0) };
}

/** Fires `FIRED` requests at once, round-robin over the replicas and `keys`, a third of them streamed. */
function burst(keys: string[], endUser: string | null) {
  return Promise.all(
    Array.from({ length: FIRED }, (_, i) => {
      const stream = i % 3 === 0;
      return call(`${cluster.replicas[i % cluster.replicas.length]!.url}/v1/chat/completions`, {
        token: keys[i % keys.length]!,
        body: {
          model: MODEL,
          messages: PROMPT,
          max_tokens: 10,
          ...(endUser ? { user: endUser } : {}),
          ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
        },
      });
    }),
  );
}

/** Served and refused add up, every request has its row, and each level's spend is its rows' sum, within its cap. */
async function check(
  label: string,
  replies: Awaited<ReturnType<typeof burst>>,
  rowsWhere: [string, string],
  levels: { level: Level; id: string; capMicros: number }[],
  refusals: string[],
) {
  const served = replies.filter((r) => r.status === 200);
  const refused = replies.filter((r) => r.status === 403);
  expect(served.length + refused.length).toBe(FIRED);
  expect(served.length).toBeGreaterThan(0);
  expect(refused.length).toBeGreaterThan(0);
  for (const r of refused) expect(refusals).toContain(JSON.parse(r.text).detail);
  let rows: { request_id: string; status_code: unknown; cost_micros: unknown }[] = [];
  await until(async () => {
    rows = await cluster.reader.all(
      `SELECT request_id, status_code, cost_micros FROM usage_logs WHERE ${rowsWhere[0]} = $1`,
      [rowsWhere[1]],
    );
    return rows.length >= FIRED;
  }, 10_000);
  expect(rows.length).toBe(FIRED);
  const byId = new Map(rows.map((r) => [r.request_id, r]));
  for (const r of served) expect(Number(byId.get(r.requestId!)?.status_code)).toBe(200);
  for (const r of refused) expect(Number(byId.get(r.requestId!)?.status_code)).toBe(403);
  const rowSpend = rows.reduce((a, r) => a + Number(r.cost_micros ?? 0), 0);
  const figures: Record<string, unknown> = { fired: FIRED, served: served.length, refused: refused.length };
  for (const { level, id, capMicros } of levels) {
    let m = await money(level, id);
    await until(async () => {
      m = await money(level, id);
      return m.reserved === 0 && m.spend === rowSpend;
    }, 10_000);
    figures[`${level}_spend_usd`] = (m.spend / 1e6).toFixed(6);
    figures[`${level}_cap_usd`] = (capMicros / 1e6).toFixed(6);
    expect({ level, spend: m.spend, reserved: m.reserved }).toEqual({ level, spend: rowSpend, reserved: 0 });
    expect(m.spend).toBeLessThanOrEqual(capMicros);
  }
  report(label, figures);
}

/**
 * 500 concurrent requests against a 0.30 USD budget on one level, the others uncapped: a team's shared by three users,
 * a single key's, or an end user's (the end-user budget on the key, every request sending that end user).
 */
async function levelRace(level: "key" | "team" | "end_user", label: string): Promise<void> {
  const CAP = 0.3;
  const tag = `race-${level.replace("_", "-")}-${cluster.replicas.length}`;
  const capped = await budget(CAP);
  if (level === "team") {
    await admin(first(), "POST", "/v1/teams", { team_id: tag, budget_id: capped });
    const keys: string[] = [];
    for (let i = 0; i < 3; i++) {
      await admin(first(), "POST", "/v1/users", { user_id: `${tag}-member-${i}`, team_id: tag });
      keys.push((await admin<{ key: string }>(first(), "POST", "/v1/keys", { user_id: `${tag}-member-${i}` })).key);
    }
    await Bun.sleep(1200); // the other replicas hear of the new team, users and keys through the change feed
    await check(
      label,
      await burst(keys, null),
      ["team_id", tag],
      [{ level: "team", id: tag, capMicros: CAP * 1e6 }],
      [`Team '${tag}' has exceeded budget limit`],
    );
    return;
  }
  await admin(first(), "POST", "/v1/users", { user_id: `${tag}-user` });
  const key = await admin<{ key: string; id: string }>(first(), "POST", "/v1/keys", {
    user_id: `${tag}-user`,
    ...(level === "key" ? { budget_id: capped } : { end_user_budget_id: capped }),
  });
  await Bun.sleep(1200);
  const endUser = `${tag}-eu`;
  const id = level === "key" ? key.id : endUser;
  await check(
    label,
    await burst([key.key], level === "key" ? null : endUser),
    level === "key" ? ["api_key_id", key.id] : ["end_user_id", endUser],
    [{ level, id, capMicros: CAP * 1e6 }],
    [`${level === "key" ? "Key" : "End user"} '${id}' has exceeded budget limit`],
  );
}

const RACED = ["key", "team", "end_user"] as const;

describe("cost control at every level, one binary on SQLite", () => {
  beforeAll(() => cluster.start(createSqliteDatabase, 1), 120_000);
  afterAll(cluster.stop);
  for (const level of RACED)
    test(
      `${FIRED} concurrent requests against a tiny ${level} budget: the ${level} never overshoots`,
      () => levelRace(level, `${level} budget, SQLite x1`),
      120_000,
    );
});

describe("cost control at every level, three binaries on one Postgres", () => {
  beforeAll(() => cluster.start(createPgDatabase, 3), 120_000);
  afterAll(cluster.stop);
  for (const level of RACED)
    test(
      `${FIRED} concurrent requests against a tiny ${level} budget: the ${level} never overshoots`,
      () => levelRace(level, `${level} budget, Postgres x3`),
      120_000,
    );

  test(`${FIRED} concurrent requests against tiny budgets on every level at once: no level overshoots`, async () => {
    const caps = { key: 0.3, user: 0.34, team: 0.32, end_user: 0.31 };
    await admin(first(), "POST", "/v1/teams", { team_id: "all-team", budget_id: await budget(caps.team) });
    await admin(first(), "POST", "/v1/users", {
      user_id: "all-user",
      team_id: "all-team",
      budget_id: await budget(caps.user),
    });
    const key = await admin<{ key: string; id: string }>(first(), "POST", "/v1/keys", {
      user_id: "all-user",
      budget_id: await budget(caps.key),
      end_user_budget_id: await budget(caps.end_user),
    });
    await Bun.sleep(1200);
    await check(
      "every level across 3 replicas",
      await burst([key.key], "all-eu"),
      ["user_id", "all-user"],
      [
        { level: "key", id: key.id, capMicros: caps.key * 1e6 },
        { level: "user", id: "all-user", capMicros: caps.user * 1e6 },
        { level: "team", id: "all-team", capMicros: caps.team * 1e6 },
        { level: "end_user", id: "all-eu", capMicros: caps.end_user * 1e6 },
      ],
      [
        `Key '${key.id}' has exceeded budget limit`,
        "User 'all-user' has exceeded budget limit",
        "Team 'all-team' has exceeded budget limit",
        "End user 'all-eu' has exceeded budget limit",
      ],
    );
  }, 120_000);

  test("a team's max_concurrent holds across the replicas under streams, and every slot comes back", async () => {
    const LIMIT = 6;
    await admin(first(), "POST", "/v1/teams", { team_id: "conc-team", max_concurrent: LIMIT });
    const keys: string[] = [];
    for (let i = 0; i < 3; i++) {
      await admin(first(), "POST", "/v1/users", { user_id: `conc-member-${i}`, team_id: "conc-team" });
      keys.push((await admin<{ key: string }>(first(), "POST", "/v1/keys", { user_id: `conc-member-${i}` })).key);
    }
    await Bun.sleep(1200);
    // Each admitted stream is in flight from its head to its last byte, as its client sees it.
    const spans: [number, number][] = [];
    const statuses = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const res = await fetch(`${cluster.replicas[i % 3]!.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${keys[i % 3]}`, "content-type": "application/json" },
          body: JSON.stringify({ model: `${MODEL}+interval-30`, messages: PROMPT, max_tokens: 10, stream: true }),
        });
        const start = performance.now();
        await res.text();
        if (res.status === 200) spans.push([start, performance.now()]);
        else expect(res.headers.get("x-ratelimit-limit-type")).toBe("concurrency");
        return res.status;
      }),
    );
    const events = spans.flatMap(([a, b]) => [
      [a, 1],
      [b, -1],
    ]);
    events.sort((x, y) => x[0]! - y[0]! || x[1]! - y[1]!);
    let inFlight = 0;
    let peak = 0;
    for (const [, d] of events) {
      inFlight += d!;
      peak = Math.max(peak, inFlight);
    }
    const admitted = statuses.filter((s) => s === 200).length;
    report("team max_concurrent across 3 replicas", { fired: 60, limit: LIMIT, admitted, peak_in_flight: peak });
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(LIMIT);
    expect(peak).toBeGreaterThanOrEqual(2);
    // Every slot comes back: the shared counter holds none once the streams ended and replicas synced.
    const held = async () =>
      Number(
        (
          await cluster.reader.all<{ h: unknown }>(
            "SELECT COALESCE(SUM(held), 0) AS h FROM concurrency_counters WHERE subject = 'conc-team'",
          )
        )[0]?.h ?? 0,
      );
    expect(await until(async () => (await held()) === 0, 10_000)).toBe(true);
  }, 120_000);

  test("a replica SIGKILLed while holding a team's slots: they come back within the lease's 15 s", async () => {
    const LIMIT = 2;
    await admin(first(), "POST", "/v1/teams", { team_id: "kill-team", max_concurrent: LIMIT });
    await admin(first(), "POST", "/v1/users", { user_id: "kill-member", team_id: "kill-team" });
    const { key } = await admin<{ key: string }>(first(), "POST", "/v1/keys", { user_id: "kill-member" });
    const doomed = await cluster.spawn();
    await Bun.sleep(1200);
    const chat = (base: string, model: string, signal?: AbortSignal) =>
      fetch(`${base}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model, messages: PROMPT, max_tokens: 10, stream: true }),
        signal,
      });
    // Two long streams on the doomed replica hold both slots; the survivors refuse.
    const ctrl = new AbortController();
    for (let i = 0; i < LIMIT; i++) {
      const res = await chat(doomed.url, `${MODEL}+chunks-200+interval-500`, ctrl.signal);
      expect(res.status).toBe(200);
      void res.body?.getReader().read();
    }
    const busy = await chat(first(), MODEL);
    await busy.text();
    expect(busy.status).toBe(429);
    doomed.kill("SIGKILL");
    await doomed.exited;
    ctrl.abort();
    const killedAt = performance.now();
    let waited = 0;
    const back = await until(
      async () => {
        const res = await chat(cluster.replicas[1]!.url, MODEL);
        await res.text();
        waited = (performance.now() - killedAt) / 1000;
        return res.status === 200;
      },
      25_000,
      250,
    );
    report("slots of a killed replica", { limit: LIMIT, seconds_until_served: waited.toFixed(1), lease_ttl_s: 15 });
    expect(back).toBe(true);
  }, 120_000);
});
