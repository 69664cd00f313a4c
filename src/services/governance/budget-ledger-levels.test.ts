/**
 * The ledger at every level (key, user, team, end user): reservations taken on all levels of a path or none, under
 * 500 concurrent requests spread over replicas, with the refusal naming the level; spend on each level equal to the
 * sum settled; resets and crash recovery per level.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { GatewayError } from "../../core/errors";
import type { Store } from "../../db/client";
import { createTestDb, DIALECTS, type SeededLevels, seedBudget, seedLevels, type TestDb } from "./_test-db";
import { type BudgetLedger, createBudgetLedger, type Reservation } from "./budget-ledger";
import { type BudgetSubject, endUserSubjectId, type SubjectKind } from "./subjects";

type Caps = { key: number | null; user: number | null; team: number | null; endUser: number | null };

const TABLE: Record<SubjectKind, [string, string]> = {
  key: ["api_keys", "id"],
  user: ["users", "user_id"],
  team: ["teams", "team_id"],
  end_user: ["end_users", "id"],
};

function pathOf(ids: SeededLevels, caps: Caps, endUserId = "eu-1"): BudgetSubject[] {
  return [
    { kind: "key", id: ids.keyId, label: ids.keyId, maxMicros: caps.key },
    { kind: "user", id: ids.userId, label: ids.userId, maxMicros: caps.user },
    { kind: "team", id: ids.teamId, label: ids.teamId, maxMicros: caps.team },
    {
      kind: "end_user",
      id: endUserSubjectId(ids.userId, endUserId),
      label: endUserId,
      maxMicros: caps.endUser,
      endUser: { userId: ids.userId, endUserId, budgetId: ids.endUserBudgetId, durationSec: null },
    },
  ];
}

async function level(store: Store, kind: SubjectKind, id: string) {
  const [table, col] = TABLE[kind];
  const [row] = await store.query<{ s: unknown; r: unknown }>(
    `SELECT spend_micros AS s, reserved_micros AS r FROM ${table} WHERE ${col} = ${store.dialect === "pg" ? "$1" : "?1"}`,
    [id],
  );
  return { spend: Number(row?.s ?? Number.NaN), reserved: Number(row?.r ?? Number.NaN) };
}

for (const dialect of DIALECTS) {
  describe(`budget ledger at every level (${dialect})`, () => {
    let tdb: TestDb;
    let store: Store;
    const ledgers: BudgetLedger[] = [];
    const make = (s: Store, extra: Partial<Parameters<typeof createBudgetLedger>[0]> = {}) => {
      const l = createBudgetLedger({ store: s, reservationTtlSeconds: 900, strategy: "for_update", ...extra });
      ledgers.push(l);
      return l;
    };
    // Replicas: their own pools on Postgres; on SQLite (one serving process per file) ledgers share the store.
    const replica = () => (dialect === "pg" ? tdb.open() : store);
    beforeAll(async () => {
      tdb = await createTestDb(dialect);
      store = tdb.open();
    });
    afterAll(async () => {
      for (const l of ledgers) await l.close().catch(() => undefined);
      await tdb.cleanup();
    });

    const TINY = 5_000;
    const BIG = 100_000_000;
    const scenarios: [string, Caps, SubjectKind[]][] = [
      ["a tiny key budget", { key: TINY, user: BIG, team: BIG, endUser: BIG }, ["key"]],
      ["a tiny team budget", { key: BIG, user: BIG, team: TINY, endUser: BIG }, ["team"]],
      ["a tiny end-user budget", { key: BIG, user: BIG, team: BIG, endUser: TINY }, ["end_user"]],
      ["tiny budgets on every level", { key: TINY, user: TINY + 700, team: TINY + 300, endUser: TINY + 500 }, []],
    ];

    for (const [name, caps, named] of scenarios) {
      test(`500 concurrent reservations on 3 replicas against ${name}: no level overshoots, spend = sum settled`, async () => {
        const ids = await seedLevels(store, caps);
        const path = pathOf(ids, caps);
        const replicas = [make(replica()), make(replica()), make(replica())];
        let charged = 0;
        let granted = 0;
        const refusals = new Map<string, number>();
        await Promise.all(
          Array.from({ length: 500 }, async (_, i) => {
            const ledger = replicas[i % 3] as BudgetLedger;
            let r: Reservation;
            try {
              r = await ledger.reservePath(path, 100, false);
            } catch (err) {
              expect(err).toBeInstanceOf(GatewayError);
              const e = err as GatewayError;
              expect(e.status).toBe(403);
              expect(e.code).toBe("budget_exceeded");
              refusals.set(e.param as string, (refusals.get(e.param as string) ?? 0) + 1);
              return;
            }
            granted++;
            await Bun.sleep(Math.random() * 15);
            const actual = 50 + Math.floor(Math.random() * 51);
            charged += actual;
            ledger.settlePath(r, actual);
          }),
        );
        for (const l of replicas) await l.close();
        const tightest = Math.min(...Object.values(caps).map((c) => c ?? Number.POSITIVE_INFINITY));
        for (const s of path) {
          const row = await level(store, s.kind, s.id);
          expect(row.spend).toBe(charged);
          expect(row.reserved).toBe(0);
          expect(row.spend).toBeLessThanOrEqual(tightest);
        }
        expect(granted).toBeGreaterThanOrEqual(tightest / 100 / 2); // refused only when a level was really used up
        expect(granted + [...refusals.values()].reduce((a, b) => a + b, 0)).toBe(500);
        if (named.length) expect([...refusals.keys()]).toEqual(named);
        console.log(
          `[ledger ${dialect}] ${name}: ${granted}/500 granted, refused by ${JSON.stringify(Object.fromEntries(refusals))}, spend ${charged}/${tightest}`,
        );
      });
    }

    test("the refusal names the level: message and param per level, the user message as before", async () => {
      const cases: [Caps, string, SubjectKind][] = [
        [{ key: 0, user: null, team: null, endUser: null }, "Key '%k' has exceeded budget limit", "key"],
        [{ key: null, user: 0, team: null, endUser: null }, "User '%u' has exceeded budget limit", "user"],
        [{ key: null, user: null, team: 0, endUser: null }, "Team '%t' has exceeded budget limit", "team"],
        [{ key: null, user: null, team: null, endUser: 0 }, "End user 'eu-1' has exceeded budget limit", "end_user"],
      ];
      const ledger = make(store);
      for (const [caps, message, param] of cases) {
        const ids = await seedLevels(store, caps);
        const err = await ledger.reservePath(pathOf(ids, caps), 10, false).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(GatewayError);
        const e = err as GatewayError;
        expect(e.message).toBe(message.replace("%k", ids.keyId).replace("%u", ids.userId).replace("%t", ids.teamId));
        expect(e.param).toBe(param);
      }
    });

    test("a refusal on one level holds nothing on the others; levels without a cap count spend only", async () => {
      const caps = { key: 10_000, user: null, team: 150, endUser: null };
      const ids = await seedLevels(store, caps);
      const path = pathOf(ids, caps);
      const ledger = make(store);
      const held = await ledger.reservePath(path, 100, false);
      await expect(ledger.reservePath(path, 100, false)).rejects.toMatchObject({ param: "team" });
      ledger.settlePath(held, 80);
      // The key's lease still serves: nothing of the refused request was left in flight on it.
      const again = await ledger.reservePath([path[0] as BudgetSubject], 9_900, false);
      ledger.release(again);
      await ledger.flush();
      for (const s of path) expect((await level(store, s.kind, s.id)).spend).toBe(80);
      // A free model holds nothing and its cost is 0; a settlement without caps still counts on every level.
      const free = await ledger.reservePath(path, 1_000_000, true);
      ledger.settlePath(free, 0);
      await ledger.close();
      expect(await level(store, "end_user", endUserSubjectId(ids.userId, "eu-1"))).toEqual({ spend: 80, reserved: 0 });
      expect(await level(store, "key", ids.keyId)).toEqual({ spend: 80, reserved: 0 });
    });

    test("an end user's row is created on first sight with its budget's window; resets per level write a reset log", async () => {
      const p = dialect === "pg" ? (i: number) => `$${i}` : (i: number) => `?${i}`;
      const budgetId = await seedBudget(store, 1_000, 60);
      const ids = await seedLevels(store, { key: null, user: null, team: null, endUser: null });
      const before = Date.now();
      const subject: BudgetSubject = {
        kind: "end_user",
        id: endUserSubjectId(ids.userId, "first-sight"),
        label: "first-sight",
        maxMicros: 1_000,
        endUser: { userId: ids.userId, endUserId: "first-sight", budgetId, durationSec: 60 },
      };
      const ledger = make(store);
      ledger.settlePath(await ledger.reservePath([subject], 400, false), 400);
      await ledger.flush();
      const [row] = await store.query<{ b: string; n: unknown; s: unknown }>(
        `SELECT budget_id AS b, next_budget_reset_at AS n, spend_micros AS s FROM end_users WHERE user_id = ${p(1)} AND end_user_id = ${p(2)}`,
        [ids.userId, "first-sight"],
      );
      expect(row?.b).toBe(budgetId);
      expect(Number(row?.s)).toBe(400);
      const next = row?.n instanceof Date ? row.n.getTime() : Number(row?.n);
      expect(next).toBeGreaterThanOrEqual(before + 60_000);
      // The window passes: the sweep resets the end user and logs it under its own id and its user.
      await store.query(`UPDATE end_users SET next_budget_reset_at = ${p(1)} WHERE id = ${p(2)}`, [
        dialect === "pg" ? new Date(Date.now() - 1000) : Date.now() - 1000,
        subject.id,
      ]);
      const swept = await ledger.sweep();
      expect(swept.resets).toBeGreaterThanOrEqual(1);
      const logs = await store.query<{ k: string; s: string; u: string; p: unknown }>(
        `SELECT subject_kind AS k, subject_id AS s, user_id AS u, previous_spend_micros AS p FROM budget_reset_logs WHERE budget_id = ${p(1)}`,
        [budgetId],
      );
      expect(logs.map((l) => ({ ...l, p: Number(l.p) }))).toEqual([
        { k: "end_user", s: "first-sight", u: ids.userId, p: 400 },
      ]);
      expect((await level(store, "end_user", subject.id)).spend).toBe(0);
    });

    test("crash recovery: journaled settlements a killed process had not committed are added on every level once", async () => {
      const caps = { key: null, user: null, team: null, endUser: null };
      const ids = await seedLevels(store, caps);
      const path = pathOf(ids, caps);
      await seedLevels(store, caps); // another path, untouched
      const journalId = crypto.randomUUID();
      // A process that settled and was killed before its write-back (flushes every hour, never closed).
      const dead = createBudgetLedger({
        store: replica(),
        reservationTtlSeconds: 900,
        strategy: "for_update",
        journalId,
        flushMs: 3_600_000,
      });
      const stamp = dead.settlePath(await dead.reservePath(path, 10, false), 250);
      expect(stamp).toEqual({ seq: 1, levels: 15 });
      const alone = dead.settlePath(await dead.reservePath([path[1] as BudgetSubject], 10, false), 30);
      expect(alone).toEqual({ seq: 2, levels: 2 });
      // The restarted process replays the journal (twice: replay is idempotent).
      const next = make(replica(), { journalId });
      await next.resume();
      const entries = [
        { costMicros: 250, seq: 1, subjects: path.map(({ kind, id }) => ({ kind, id })) },
        { costMicros: 30, seq: 2, subjects: [{ kind: "user" as const, id: ids.userId }] },
      ];
      expect(await next.recover(entries)).toBe(2);
      expect(await next.recover(entries)).toBe(0);
      expect((await level(store, "key", ids.keyId)).spend).toBe(250);
      expect((await level(store, "user", ids.userId)).spend).toBe(280);
      expect((await level(store, "team", ids.teamId)).spend).toBe(250);
      expect((await level(store, "end_user", path[3]?.id as string)).spend).toBe(250);
    });
  });
}
