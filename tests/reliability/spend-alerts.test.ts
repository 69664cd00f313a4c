/**
 * Spend alerts on the compiled binary (docs/behaviour/cost-control.md#spend-alerts), with `alert_delivery` shortened
 * for the test. Three binaries on one Postgres and one of them restarted in the middle: each (rule, subject, window,
 * threshold) reaches the webhook exactly once. A webhook down (connection refused) then up: the alert is retried
 * with backoff and accepted once. A webhook that accepts connections and never answers: every request is served
 * and has its row, every alert is recorded in the database, and no replica holds more than its 4 posts open.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server, TCPSocketListener } from "bun";
import { createPgDatabase, createSqliteDatabase } from "../helpers/db";
import { admin, call, clusterFixture, freePort, report, until } from "./_harness";

const MODEL = "openai:gpt-4o-mini";
/** 1000 USD per million tokens: the mock's 17 tokens cost 0.017 USD a request. */
const RATE = 1000;
/** Posts cut after 1 s; due retries looked for every 200 ms. */
const DELIVERY = { poll_interval_ms: 200, send_timeout_ms: 1000 };

interface Hit {
  id: string;
  /** rule | level | subject | window | threshold: what is delivered once. */
  key: string;
  status: number;
  at: number;
}

/** A webhook on `port` answering `answer(n)` to its n-th request (0-based); records every request. */
function webhook(port: number, answer: (n: number) => number = () => 200) {
  const hits: Hit[] = [];
  const server: Server<undefined> = Bun.serve({
    port,
    hostname: "127.0.0.1",
    async fetch(req) {
      const b = (await req.json()) as Record<string, unknown>;
      const status = answer(hits.length);
      hits.push({
        id: req.headers.get("x-gateway-alert-id") ?? "",
        key: [b.rule_id, b.level, b.subject_id, b.window_start, b.type === "budget.refusing" ? "refusing" : b.threshold]
          .map(String)
          .join("|"),
        status,
        at: performance.now(),
      });
      return new Response(null, { status });
    },
  });
  return {
    url: `http://127.0.0.1:${port}/hook`,
    hits,
    /** Accepted (2xx) posts per delivery key. */
    accepted(): Map<string, number> {
      const out = new Map<string, number>();
      for (const h of hits) if (h.status < 300) out.set(h.key, (out.get(h.key) ?? 0) + 1);
      return out;
    },
    stop: () => server.stop(true),
  };
}

const cluster = clusterFixture({
  prefix: "gw-rel-alerts-",
  model: MODEL,
  rate: RATE,
  extra: { alert_delivery: DELIVERY },
});
const { first, budget } = cluster;

const chat = (base: string, key: string) =>
  call(`${base}/v1/chat/completions`, {
    token: key,
    body: { model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 5 },
  });

const deliveries = (ruleId: string) =>
  cluster.reader.all<{ threshold: string; status: string; attempts: unknown; last_error: string | null }>(
    "SELECT threshold, status, attempts, last_error FROM alert_deliveries WHERE rule_id = $1 ORDER BY threshold",
    [ruleId],
  );

/** A series of the replica's /metrics (0 when absent). */
async function metric(base: string, series: string): Promise<number> {
  const text = (await call(`${base}/metrics`)).text;
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe("spend alerts, three binaries on one Postgres", () => {
  beforeAll(() => cluster.start(createPgDatabase, 3), 120_000);
  afterAll(cluster.stop);

  test("a replica restarted in the middle: each threshold and the refusal delivered exactly once", async () => {
    const hook = webhook(freePort());
    try {
      await admin(first(), "POST", "/v1/teams", { team_id: "al-team", budget_id: await budget(0.2) });
      const keys: string[] = [];
      for (let i = 0; i < 3; i++) {
        await admin(first(), "POST", "/v1/users", { user_id: `al-member-${i}`, team_id: "al-team" });
        keys.push((await admin<{ key: string }>(first(), "POST", "/v1/keys", { user_id: `al-member-${i}` })).key);
      }
      const rule = await admin<{ id: string }>(first(), "POST", "/v1/alerts", {
        scope: "team",
        scope_id: "al-team",
        thresholds: [25, 50],
        url: hook.url,
      });
      await Bun.sleep(1200); // every replica hears of the team, users, keys and rule through the change feed
      let fired = 0;
      let served = 0;
      const send = async (i: number) => {
        fired++;
        const r = await chat(cluster.replicas[i % 3]!.url, keys[i % 3]!);
        expect([200, 403]).toContain(r.status);
        if (r.status === 200) served++;
        return r.status;
      };
      // Spend round-robin until the 25% alert is out.
      for (let i = 0; hook.hits.length === 0 && i < 12; i++) {
        await send(i);
        await until(() => hook.hits.length > 0, 300, 20);
      }
      expect(hook.hits.length).toBeGreaterThan(0);
      // The restart: replica 1 stops (SIGTERM) and a new process takes its place on the same database.
      await cluster.replicas[1]!.stop();
      cluster.replicas[1] = await cluster.spawn();
      // Spend on until every replica refuses.
      let refusing = 0;
      for (let i = 0; refusing < 3 && i < 120; i++) refusing = (await send(i)) === 403 ? refusing + 1 : 0;
      expect(refusing).toBe(3);
      const expected = ["25", "50", "refusing"];
      const done = await until(async () => {
        const rows = await deliveries(rule.id);
        return rows.length === 3 && rows.every((r) => r.status === "delivered");
      }, 20_000);
      expect(done).toBe(true);
      await Bun.sleep(1_500); // several poll rounds: a second post of any alert would arrive by now
      const accepted = hook.accepted();
      report("alerts, 3 replicas and a restart", {
        fired,
        served,
        refused: fired - served,
        posts: hook.hits.length,
        alerts: accepted.size,
      });
      expect([...accepted.keys()].map((k) => k.split("|")[4]).sort()).toEqual(expected);
      for (const [key, n] of accepted) expect({ key, n }).toEqual({ key, n: 1 });
      expect(new Set(hook.hits.map((h) => h.id)).size).toBe(3);
      expect((await deliveries(rule.id)).map((d) => d.threshold)).toEqual(expected);
    } finally {
      hook.stop();
    }
  }, 120_000);
});

describe("spend alerts, one binary on SQLite", () => {
  beforeAll(() => cluster.start(createSqliteDatabase, 1), 120_000);
  afterAll(cluster.stop);

  test("a webhook down then up: retried with backoff, delivered once", async () => {
    const port = freePort(); // nothing listens there yet: connections are refused
    await admin(first(), "POST", "/v1/teams", { team_id: "down-team", budget_id: await budget(1) });
    await admin(first(), "POST", "/v1/users", { user_id: "down-user", team_id: "down-team" });
    const { key } = await admin<{ key: string }>(first(), "POST", "/v1/keys", { user_id: "down-user" });
    const rule = await admin<{ id: string }>(first(), "POST", "/v1/alerts", {
      scope: "team",
      scope_id: "down-team",
      thresholds: [1],
      url: `http://127.0.0.1:${port}/hook`,
    });
    expect((await chat(first(), key)).status).toBe(200);
    // Two attempts fail while the webhook is down (the second one backoff's 1 s later).
    expect(await until(async () => Number((await deliveries(rule.id))[0]?.attempts ?? 0) >= 2, 15_000)).toBe(true);
    const [down] = await deliveries(rule.id);
    expect(down?.status).toBe("pending");
    expect(down?.last_error).toBeTruthy();
    // The API's delivery history says the same, with when the next try is due.
    type Delivery = {
      status: string;
      attempts: number;
      last_error: string | null;
      next_attempt_at: string | null;
      delivered_at: string | null;
    };
    const history = (query = "") => admin<Delivery[]>(first(), "GET", `/v1/alerts/${rule.id}/deliveries${query}`);
    const [pending] = await history();
    expect(pending).toMatchObject({ status: "pending", level: "team", subject_id: "down-team", threshold: 1 });
    expect(pending!.last_error).toBeTruthy();
    expect(pending!.next_attempt_at).not.toBeNull();
    expect(await history("?status=delivered")).toEqual([]);
    // Up: its first answer is a 503, then it accepts.
    const hook = webhook(port, (n) => (n === 0 ? 503 : 200));
    try {
      expect(await until(async () => (await deliveries(rule.id))[0]?.status === "delivered", 20_000)).toBe(true);
      await Bun.sleep(1_000);
      const [row] = await deliveries(rule.id);
      report("alert, webhook down then up", {
        attempts: Number(row?.attempts),
        posts_received: hook.hits.length,
        retry_gap_s: ((hook.hits[1]!.at - hook.hits[0]!.at) / 1000).toFixed(1),
      });
      expect(hook.hits.map((h) => h.status)).toEqual([503, 200]);
      expect(new Set(hook.hits.map((h) => h.id)).size).toBe(1); // the same alert each time
      expect([...hook.accepted().values()]).toEqual([1]);
      expect(Number(row?.attempts)).toBe(4);
      const [delivered] = await history("?status=delivered");
      expect(delivered).toMatchObject({ status: "delivered", attempts: 4, last_error: null, next_attempt_at: null });
      expect(delivered!.delivered_at).not.toBeNull();
      // The backoff doubles: the 4th attempt waits 4 s after the 3rd failed (a lower bound, not a timing).
      expect(hook.hits[1]!.at - hook.hits[0]!.at).toBeGreaterThanOrEqual(3_500);
      expect(await metric(first(), 'gateway_spend_alerts_total{result="retry"}')).toBeGreaterThanOrEqual(3);
      expect(await metric(first(), 'gateway_spend_alerts_total{result="delivered"}')).toBeGreaterThanOrEqual(1);
    } finally {
      hook.stop();
    }
  }, 60_000);

  test("a webhook that never answers: requests unaffected, alerts recorded, posts in flight bounded", async () => {
    // Accepts every connection and never writes a byte.
    let open = 0;
    let peakOpen = 0;
    let accepted = 0;
    const hang: TCPSocketListener<undefined> = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open() {
          accepted++;
          open++;
          peakOpen = Math.max(peakOpen, open);
        },
        data() {},
        close() {
          open--;
        },
      },
    });
    try {
      const USERS = 10;
      const PER_USER = 10;
      const eachBudget = await budget(1);
      const keys: string[] = [];
      for (let i = 0; i < USERS; i++) {
        await admin(first(), "POST", "/v1/users", { user_id: `hang-user-${i}`, budget_id: eachBudget });
        keys.push((await admin<{ key: string }>(first(), "POST", "/v1/keys", { user_id: `hang-user-${i}` })).key);
      }
      // Two thresholds each user passes with its first requests (1.7% a request): 20 alerts, all hanging.
      const rule = await admin<{ id: string }>(first(), "POST", "/v1/alerts", {
        scope: "user",
        thresholds: [1, 3],
        url: `http://127.0.0.1:${hang.port}/hook`,
      });
      const replies: Awaited<ReturnType<typeof chat>>[] = [];
      let peakInFlight = 0;
      for (let round = 0; round < PER_USER; round++) {
        replies.push(...(await Promise.all(keys.map((k) => chat(first(), k)))));
        peakInFlight = Math.max(peakInFlight, await metric(first(), "gateway_spend_alerts_in_flight"));
      }
      expect(replies.every((r) => r.status === 200)).toBe(true);
      // Every request has its row.
      const ids = new Set<string>();
      await until(async () => {
        const rows = await cluster.reader.all<{ request_id: string }>(
          "SELECT request_id FROM usage_logs WHERE user_id LIKE 'hang-user-%' AND status_code = 200",
        );
        for (const r of rows) ids.add(r.request_id);
        return ids.size >= replies.length;
      }, 10_000);
      for (const r of replies) expect(ids.has(r.requestId!)).toBe(true);
      // Every alert is recorded (in the database, not in memory) and stays pending; posts time out and count.
      expect(
        await until(async () => {
          const rows = await cluster.reader.all<{ n: unknown }>(
            "SELECT COUNT(*) AS n FROM alert_deliveries WHERE rule_id = $1 AND status = 'pending'",
            [rule.id],
          );
          return Number(rows[0]?.n) === USERS * 2;
        }, 10_000),
      ).toBe(true);
      expect(
        await until(async () => (await metric(first(), 'gateway_spend_alerts_total{result="retry"}')) >= 4, 10_000),
      ).toBe(true);
      peakInFlight = Math.max(peakInFlight, await metric(first(), "gateway_spend_alerts_in_flight"));
      const queued = await metric(first(), "gateway_spend_alerts_queue_depth");
      report("alerts, hanging webhook", {
        fired: replies.length,
        served: replies.filter((r) => r.status === 200).length,
        alerts_pending: USERS * 2,
        connections_accepted: accepted,
        peak_open_connections: peakOpen,
        peak_in_flight_metric: peakInFlight,
      });
      expect(accepted).toBeGreaterThan(0);
      expect(peakOpen).toBeLessThanOrEqual(4);
      expect(peakInFlight).toBeLessThanOrEqual(4);
      expect(queued).toBeLessThanOrEqual(1000);
    } finally {
      hang.stop(true);
    }
  }, 90_000);
});
