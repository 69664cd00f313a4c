/**
 * Spend alerts through the cost-control engine: each (rule, subject, window, threshold) delivered once with three
 * replicas and a restart, a webhook down then up (retried, delivered once), a hanging webhook (requests go on),
 * the signature, and a refusing budget.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import type { Store } from "../../db/client";
import { hmacSha256Hex } from "../../runtime/crypto";
import { createTestDb, DIALECTS, seedBudget, type TestDb } from "./_test-db";
import type { AlertOutcome } from "./alerts";
import { type CostControl, createCostControl, type PathInput } from "./cost-control";

interface Received {
  id: string;
  body: Record<string, unknown>;
  signature: string | null;
  raw: string;
}

/** A webhook: answers with `mode()` (a status, or "hang" to never answer); records what it was sent. */
function webhook() {
  let mode: number | "hang" = 200;
  const received: Received[] = [];
  const hanging: (() => void)[] = [];
  const server: Server<undefined> = Bun.serve({
    port: 0,
    async fetch(req) {
      const raw = await req.text();
      received.push({
        id: req.headers.get("x-gateway-alert-id") ?? "",
        body: JSON.parse(raw),
        signature: req.headers.get("x-gateway-signature"),
        raw,
      });
      if (mode === "hang") return new Promise<Response>((resolve) => hanging.push(() => resolve(new Response("late"))));
      return new Response(null, { status: mode });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/hook`,
    received,
    set: (m: number | "hang") => {
      mode = m;
    },
    /** Deliveries the webhook accepted (2xx), by alert id. */
    close: () => {
      for (const h of hanging) h();
      server.stop(true);
    },
  };
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await Bun.sleep(50);
  }
}

for (const dialect of DIALECTS) {
  describe(`spend alerts (${dialect})`, () => {
    let tdb: TestDb;
    let store: Store;
    const engines: CostControl[] = [];
    const outcomes: AlertOutcome[] = [];
    const engineOn = (s: Store) => {
      const e = createCostControl({
        store: s,
        strategy: "for_update",
        reservationTtlSeconds: 900,
        journalId: null,
        defaultRpm: null,
        defaultTpm: null,
        rateLimits: [],
        hooks: { alert: (o) => outcomes.push(o) },
        alerts: { pollMs: 200, sendTimeoutMs: 500, claimMs: 5_000 },
      });
      engines.push(e);
      return e;
    };
    const replica = () => (dialect === "pg" ? tdb.open() : store);
    const p = (i: number) => (dialect === "pg" ? `$${i}` : `?${i}`);

    beforeAll(async () => {
      tdb = await createTestDb(dialect);
      store = tdb.open();
    });
    afterAll(async () => {
      for (const e of engines) await e.close().catch(() => undefined);
      await tdb.cleanup();
    });

    /** A team with a budget of `cap` µ$ and a user in it; the path of that user's requests. */
    async function teamPath(cap: number): Promise<{ teamId: string; path: PathInput }> {
      const now = new Date();
      const tag = crypto.randomUUID().slice(0, 8);
      const teamId = `team-${tag}`;
      const budgetId = await seedBudget(store, cap);
      await store.db
        .insert(store.t.teams)
        .values({ teamId, budgetId, budgetStartedAt: now, createdAt: now, updatedAt: now });
      const userId = `user-${tag}`;
      await store.db.insert(store.t.users).values({ userId, teamId, createdAt: now, updatedAt: now });
      const user = {
        userId,
        budgetId: null,
        nextResetAt: null,
        teamId,
        maxConcurrent: null,
        endUserBudgetId: null,
        rpmLimit: null,
        tpmLimit: null,
        allowedModels: null,
      };
      return { teamId, path: { key: null, user, endUserId: null } };
    }

    async function rule(teamId: string, url: string, thresholds: number[], secret: string | null = null) {
      const now = new Date();
      const id = crypto.randomUUID();
      await store.db.insert(store.t.alertRules).values({
        id,
        scope: "team",
        scopeId: teamId,
        thresholds,
        url,
        format: "json",
        secret,
        createdAt: now,
        updatedAt: now,
      });
      return id;
    }

    async function spend(e: CostControl, path: PathInput, micros: number) {
      const r = await e.reserve(await e.resolve(path), micros, false);
      e.settle(r, micros);
      await e.ledger.flush();
    }

    const deliveries = async (ruleId: string) =>
      store.query<{ threshold: string; status: string; attempts: unknown }>(
        `SELECT threshold, status, attempts FROM alert_deliveries WHERE rule_id = ${p(1)} ORDER BY threshold`,
        [ruleId],
      );

    test("3 replicas and a restart: each threshold and the refusal delivered exactly once, signed", async () => {
      const hook = webhook();
      try {
        const { teamId, path } = await teamPath(1_000);
        const ruleId = await rule(teamId, hook.url, [50, 90], "s3cret");
        const replicas = [engineOn(replica()), engineOn(replica()), engineOn(replica())];
        for (const e of replicas) await e.start();
        // Every replica spends and observes the team past 50%: one alert.
        for (const e of replicas) await spend(e, path, 200);
        await waitFor(() => hook.received.length >= 1);
        // A restart in the middle: one replica goes, a new one comes on the same database.
        await (replicas[0] as CostControl).close();
        const restarted = engineOn(replica());
        await restarted.start();
        await spend(restarted, path, 300);
        await spend(replicas[1] as CostControl, path, 50);
        // Then the budget refuses (on two replicas, many times): one refusal alert.
        for (const e of [restarted, replicas[2] as CostControl])
          for (let i = 0; i < 5; i++)
            await expect(e.reserve(await e.resolve(path), 200, false)).rejects.toMatchObject({ param: "team" });
        await waitFor(() => hook.received.length >= 3);
        await Bun.sleep(1_000); // anything extra would arrive by now
        const byKind = hook.received.map((r) => `${r.body.type}:${r.body.threshold}`).sort();
        expect(byKind).toEqual(["budget.refusing:null", "budget.threshold:50", "budget.threshold:90"]);
        expect(new Set(hook.received.map((r) => r.id)).size).toBe(3);
        for (const r of hook.received) {
          expect(r.body).toMatchObject({ rule_id: ruleId, level: "team", subject_id: teamId, max_budget: 0.001 });
          const [t, v1] = (r.signature ?? "").split(",");
          const ts = Number(t?.slice(2));
          expect(v1).toBe(`v1=${hmacSha256Hex("s3cret", `${ts}.${r.raw}`)}`);
        }
        expect((await deliveries(ruleId)).map((d) => [d.threshold, d.status])).toEqual([
          ["50", "delivered"],
          ["90", "delivered"],
          ["refusing", "delivered"],
        ]);
      } finally {
        hook.close();
      }
    });

    test("a webhook down then up: retried with backoff, delivered once; a rule pending at restart is sent by the next process", async () => {
      const hook = webhook();
      try {
        hook.set(503);
        const { teamId, path } = await teamPath(1_000);
        const ruleId = await rule(teamId, hook.url, [10]);
        const first = engineOn(replica());
        await first.start();
        await spend(first, path, 150);
        await waitFor(() => hook.received.length >= 2); // refused twice (the second after a 1 s backoff)
        await first.close(); // restart while the alert is still pending
        hook.set(200);
        const next = engineOn(replica());
        await next.start();
        await waitFor(async () => (await deliveries(ruleId))[0]?.status === "delivered");
        await Bun.sleep(500);
        const ids = new Set(hook.received.map((r) => r.id));
        expect(ids.size).toBe(1); // the same alert every time
        const [row] = await deliveries(ruleId);
        expect(Number(row?.attempts)).toBe(hook.received.length);
        expect(hook.received.length).toBeGreaterThanOrEqual(3);
        expect(outcomes).toContain("retry");
        expect(outcomes).toContain("delivered");
      } finally {
        hook.close();
      }
    });

    test("a hanging webhook: requests, settlements and refusals go on; the post times out and is retried", async () => {
      const hook = webhook();
      try {
        hook.set("hang");
        const { teamId, path } = await teamPath(100_000);
        const ruleId = await rule(teamId, hook.url, [1]);
        const e = engineOn(replica());
        await e.start();
        await spend(e, path, 2_000);
        await waitFor(() => hook.received.length >= 1);
        // The webhook holds the post open; the request path does not wait for it.
        const resolved = await e.resolve(path);
        for (let i = 0; i < 200; i++) e.settle(await e.reserve(resolved, 100, false), 100);
        await e.ledger.flush();
        expect(hook.received.length).toBeLessThanOrEqual(2);
        const [team] = await store.query<{ s: unknown }>(
          `SELECT spend_micros AS s FROM teams WHERE team_id = ${p(1)}`,
          [teamId],
        );
        expect(Number(team?.s)).toBe(22_000);
        // The post is cut at sendTimeoutMs (500 ms here) and retried.
        await waitFor(async () => Number((await deliveries(ruleId))[0]?.attempts) >= 2);
        expect((await deliveries(ruleId))[0]?.status).toBe("pending");
      } finally {
        hook.close();
      }
    });
  });
}
