/**
 * The import's safety, on SQLite and Postgres targets: a failure while writing the management tables leaves none of
 * them (one transaction); a failure in the usage batches keeps whole batches, and re-running completes the import
 * without --merge and without taking anything twice. Also: otari's stored master-key hash, and references to rows
 * otari's SQLite no longer holds (it never enforced foreign keys there).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sha256Hex } from "../../runtime/crypto";
import { createSqliteDatabase, DIALECTS, type TestDatabase } from "../../../tests/helpers/db";
import { createOtariDb, type OtariDb, type Seeded, seedOtari } from "../../../tests/helpers/otari-db";
import type { Db, Store } from "../../db/client";
import { openReadOnly } from "../../db/read-only";
import { storedMasterKeyHash } from "../master-key";
import { importOtari } from ".";

const USAGE = 1200;

async function count(store: Store, table: string): Promise<number> {
  const [row] = await store.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(row?.n ?? 0);
}

async function run(source: OtariDb, target: Store, extra: Partial<Parameters<typeof importOtari>[0]> = {}) {
  const db = openReadOnly(source.url);
  try {
    return await importOtari({
      source: db,
      target,
      targetDisplay: "target",
      dryRun: false,
      merge: false,
      usageBatchRows: 500,
      ...extra,
    });
  } finally {
    await db.close();
  }
}

/** The store, with inserts into `table` failing inside management transactions. */
function failingInserts(store: Store, table: object): Store {
  const wrap = (db: Db): Db =>
    new Proxy(db, {
      get: (target, prop, receiver) =>
        prop === "insert"
          ? (t: object) =>
              t === table
                ? { values: () => Promise.reject(new Error("disk full")) }
                : target.insert(t as Parameters<Db["insert"]>[0])
          : Reflect.get(target, prop, receiver),
    });
  return { ...store, tx: (fn) => store.tx((db) => fn(wrap(db))) };
}

/** The store, with the `n`-th usage batch's transaction failing (the first raw transaction is the migration run). */
function failingBatch(store: Store, n: number): Store {
  let calls = 0;
  return {
    ...store,
    rawTx: (fn) => (++calls === n + 1 ? Promise.reject(new Error("connection reset")) : store.rawTx(fn)),
  };
}

describe.each(DIALECTS)("import safety, $dialect target", ({ dialect, create }) => {
  let target: TestDatabase;
  let source: OtariDb;
  let seeded: Seeded;

  beforeAll(async () => {
    target = await create();
    source = await createOtariDb(dialect);
    seeded = await seedOtari(source, { usageRows: USAGE });
  }, 60_000);

  afterAll(async () => {
    await source?.close();
    await target?.drop();
  });

  test("a failure writing the management tables leaves none of them, and no marker", async () => {
    await expect(run(source, failingInserts(target.store, target.store.t.apiKeys))).rejects.toThrow("disk full");
    for (const table of ["budgets", "users", "api_keys", "budget_reset_logs", "model_pricing", "usage_logs"])
      expect([table, await count(target.store, table)]).toEqual([table, 0]);
    expect(await count(target.store, "settings")).toBe(0);
  });

  test("a failed usage batch keeps the whole batches before it; re-running completes without --merge, nothing twice", async () => {
    await expect(run(source, failingBatch(target.store, 2))).rejects.toThrow("connection reset");
    expect(await count(target.store, "users")).toBeGreaterThan(0);
    // Batches are 500 source rows in id order, less the one broken row. Batch 1 committed; on Postgres batch 3 may
    // have been under way beside batch 2 and committed too. Never part of a batch.
    const ids = (await source.query<{ id: string }>("SELECT id FROM usage_logs ORDER BY id")).map((r) => r.id);
    const sizes = [0, 1, 2].map(
      (b) => ids.slice(b * 500, b * 500 + 500).filter((id) => id !== seeded.brokenUsageId).length,
    );
    const kept = await count(target.store, "usage_logs");
    expect(dialect === "pg" ? [sizes[0], sizes[0]! + sizes[2]!] : [sizes[0]]).toContain(kept);

    const report = await run(source, target.store);
    expect(report.tables.usage_logs).toMatchObject({
      read: USAGE,
      imported: USAGE - 1 - kept,
      unchanged: kept,
      skipped: 1,
      conflicts: 0,
    });
    expect(report.tables.users.imported).toBe(0);
    expect(report.tables.users.unchanged).toBeGreaterThan(0);
    expect(await count(target.store, "usage_logs")).toBe(USAGE - 1);
  });
});

describe("from otari's SQLite, which never enforced foreign keys", () => {
  let target: TestDatabase;
  let source: OtariDb;

  beforeAll(async () => {
    target = await createSqliteDatabase();
    source = await createOtariDb("sqlite");
    await seedOtari(source, { usageRows: 10 });
    const ts = "2026-11-02 00:00:00.000000";
    await source.insert("usage_logs", [
      {
        id: "orphan",
        api_key_id: "deleted-key",
        user_id: "deleted-user",
        timestamp: ts,
        model: "m",
        provider: "openai",
        endpoint: "/v1/chat/completions",
        prompt_tokens: 1,
        completion_tokens: 1,
        total_tokens: 2,
        cost: 0.000002,
        status: "success",
        error_message: null,
      },
    ]);
    await source.insert("api_keys", [
      {
        id: "stray",
        key_hash: "c".repeat(64),
        key_name: null,
        user_id: "deleted-user",
        created_at: ts,
        last_used_at: null,
        expires_at: null,
        is_active: 1,
        metadata: "{}",
      },
    ]);
    await source.insert("users", [
      {
        user_id: "capless",
        alias: null,
        spend: 1,
        budget_id: "deleted-budget",
        budget_started_at: null,
        next_budget_reset_at: null,
        blocked: 0,
        deleted_at: null,
        created_at: ts,
        updated_at: ts,
        metadata: "{}",
      },
    ]);
  });

  afterAll(async () => {
    await source?.close();
    await target?.drop();
  });

  test("usage keeps its row with the gone reference cleared; a key of a gone user and a user of a gone budget stay out", async () => {
    const report = await run(source, target.store);
    expect(report.adjusted).toEqual([
      { table: "usage_logs", id: "orphan", reason: "its key 'deleted-key' does not exist: api_key_id cleared" },
      { table: "usage_logs", id: "orphan", reason: "its user 'deleted-user' does not exist: user_id cleared" },
    ]);
    expect(report.skipped).toContainEqual({
      table: "api_keys",
      id: "stray",
      reason: "its user 'deleted-user' does not exist",
    });
    // Without its budget the user would spend without a cap.
    expect(report.skipped).toContainEqual({
      table: "users",
      id: "capless",
      reason: "its budget 'deleted-budget' does not exist",
    });
    const [orphan] = await target.store.query<{ api_key_id: unknown; user_id: unknown; cost_micros: unknown }>(
      `SELECT api_key_id, user_id, cost_micros FROM usage_logs WHERE id = 'orphan'`,
    );
    expect(orphan).toEqual({ api_key_id: null, user_id: null, cost_micros: 2 });
  });
});

describe("otari's stored master-key hash", () => {
  let target: TestDatabase;
  let source: OtariDb;
  const hash = sha256Hex("otari-master-key");

  beforeAll(async () => {
    target = await createSqliteDatabase();
    source = await createOtariDb("sqlite");
    await seedOtari(source, { usageRows: 1 });
    const { Database } = await import("bun:sqlite");
    const db = new Database(source.url.replace("sqlite:///", ""));
    db.exec(
      "CREATE TABLE runtime_settings (key VARCHAR NOT NULL PRIMARY KEY, value VARCHAR NOT NULL, updated_at DATETIME NOT NULL)",
    );
    db.query("INSERT INTO runtime_settings VALUES ('master_key_hash', ?, '2026-11-01 00:00:00')").run(hash);
    db.close();
  });

  afterAll(async () => {
    await source?.close();
    await target?.drop();
  });

  test("is imported when the target has none, so the same master key keeps working; a re-run leaves it", async () => {
    expect((await run(source, target.store)).master_key).toBe("imported");
    expect(await storedMasterKeyHash(target.store)).toBe(hash);
    expect((await run(source, target.store)).master_key).toBe("unchanged");
  });
});
