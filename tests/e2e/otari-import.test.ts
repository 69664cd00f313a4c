/**
 * `gateway import otari` with the compiled binary, from an otari database at the baseline schema (built from our own
 * DDL of otari's models: tests/helpers/otari-db.ts) into an empty database of the same dialect, on SQLite and on
 * Postgres: a dry run writes nothing; the import takes every row it can and reports the broken ones; a second run
 * changes nothing; then `serve` on the imported database accepts otari's keys, refuses the revoked and expired ones,
 * shows each user's spend and window, enforces the imported spend, keeps the pricing history, and /v1/usage adds up
 * to the source. On SQLite also: a target that already holds data is refused without --merge, and --merge reports
 * the rows that differ and keeps the target's.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SQL } from "bun";
import { usdToMicros } from "../../src/core/money";
import type { ImportReport } from "../../src/core/schemas/import";
import { PG_ADMIN_URL } from "../helpers/db";
import { createOtariDb, type OtariDb, type Seeded, seedOtari } from "../helpers/otari-db";
import { ensureBinary, http, run, runJson, type Served, startServe, stopAll, tempDir } from "./_gateway";

const USAGE_ROWS = 100_000;
const MASTER = "import-test-master-key";

interface Target {
  url: string;
  /** Names of the tables in the target (empty when it does not exist or holds nothing). */
  tables(): Promise<string[]>;
  drop(): Promise<void>;
}

function sqliteTarget(): Target {
  const path = join(tempDir("gw-import-target-"), "gw.db");
  return {
    url: `sqlite:///${path}`,
    tables: async () => {
      if (!existsSync(path)) return [];
      const { Database } = await import("bun:sqlite");
      const db = new Database(path, { readonly: true });
      const names = db.query("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
      db.close();
      return names.map((n) => n.name);
    },
    drop: async () => undefined,
  };
}

async function pgTarget(): Promise<Target> {
  const name = `gw_import_${process.pid}_${Date.now()}`;
  const admin = new SQL(PG_ADMIN_URL);
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.close();
  const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  return {
    url,
    tables: async () => {
      const sql = new SQL(url);
      const rows = (await sql.unsafe(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
      )) as { table_name: string }[];
      await sql.close();
      return rows.map((r) => r.table_name);
    },
    drop: async () => {
      const a = new SQL(PG_ADMIN_URL);
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.close();
    },
  };
}

/** A config for `serve` on the imported database: openai is configured (never reached: the tests stop before). */
function writeConfig(cwd: string): string {
  const path = join(cwd, "gateway.yml");
  writeFileSync(
    path,
    [
      `master_key: ${MASTER}`,
      "model_discovery: false",
      "providers:",
      "  openai:",
      "    api_key: sk-test",
      "    api_base: http://127.0.0.1:9/v1",
      "",
    ].join("\n"),
  );
  return path;
}

beforeAll(ensureBinary, 180_000);
afterAll(stopAll);

describe.each([
  { dialect: "sqlite" as const, target: async () => sqliteTarget() },
  { dialect: "pg" as const, target: pgTarget },
])("import from otari on $dialect", ({ dialect, target: makeTarget }) => {
  const cwd = tempDir("gw-import-");
  let source: OtariDb;
  let seeded: Seeded;
  let target: Target;
  let first: ImportReport;
  const env = () => ({ DATABASE_URL: target.url });
  const importJson = (...flags: string[]) =>
    runJson<ImportReport>(["import", "otari", "--from", source.url, "--json", ...flags], { cwd, env: env() });

  beforeAll(async () => {
    source = await createOtariDb(dialect);
    seeded = await seedOtari(source, { usageRows: USAGE_ROWS });
    target = await makeTarget();
  }, 120_000);

  afterAll(async () => {
    await source?.close();
    await target?.drop();
  });

  test("--dry-run reports what would be imported and writes nothing", async () => {
    const report = await importJson("--dry-run");
    expect(report.dry_run).toBe(true);
    expect(report.tables.usage_logs).toMatchObject({ read: USAGE_ROWS, imported: USAGE_ROWS - 1, skipped: 1 });
    expect(report.tables.users.imported).toBe(Object.keys(seeded.users).length);
    expect(await target.tables()).toEqual([]);
  }, 60_000);

  test("imports every readable row; the broken ones are reported with their reason and skipped", async () => {
    first = await importJson();
    const users = Object.keys(seeded.users).length;
    const keys = Object.keys(seeded.keys).length;
    const prices = Object.values(seeded.pricing).flat().length;
    expect(first.tables).toEqual({
      budgets: { read: 3, imported: 3, unchanged: 0, conflicts: 0, skipped: 0, adjusted: 0 },
      users: { read: users, imported: users, unchanged: 0, conflicts: 0, skipped: 0, adjusted: 0 },
      api_keys: { read: keys + 1, imported: keys, unchanged: 0, conflicts: 0, skipped: 1, adjusted: 0 },
      budget_reset_logs: { read: 4, imported: 4, unchanged: 0, conflicts: 0, skipped: 0, adjusted: 0 },
      model_pricing: { read: prices, imported: prices, unchanged: 0, conflicts: 0, skipped: 0, adjusted: 0 },
      usage_logs: { read: USAGE_ROWS, imported: USAGE_ROWS - 1, unchanged: 0, conflicts: 0, skipped: 1, adjusted: 0 },
    });
    expect(first.skipped).toEqual([
      {
        table: "api_keys",
        id: seeded.brokenKeyId,
        reason: "key_hash is not a SHA-256 hex digest: 'not-a-sha256-digest'",
      },
      {
        table: "usage_logs",
        id: seeded.brokenUsageId,
        reason: `cost is not a number: ${dialect === "pg" ? "NaN" : "'n/a'"}`,
      },
    ]);
    expect(first.conflicts).toEqual([]);
  }, 60_000);

  test("a second import changes nothing: every row is already there", async () => {
    const again = await importJson();
    for (const [table, counts] of Object.entries(again.tables)) {
      const before = first.tables[table as keyof ImportReport["tables"]];
      expect([table, counts]).toEqual([table, { ...before, imported: 0, unchanged: before.imported }]);
    }
  }, 60_000);

  describe("serve on the imported database", () => {
    let server: Served;
    beforeAll(async () => {
      server = await startServe(["--config", writeConfig(cwd)], { cwd, env: env() });
    }, 30_000);
    afterAll(() => server?.stop());

    test("otari's keys authenticate; the revoked and the expired one do not", async () => {
      for (const name of ["alice-main", "bob-main", "carol-main", "ci", "user-3-key"]) {
        const res = await http(`${server.url}/v1/models`, { token: seeded.keys[name]!.token });
        expect([name, res.status]).toEqual([name, 200]);
      }
      expect(await http(`${server.url}/v1/models`, { token: seeded.keys["alice-leaked"]!.token })).toMatchObject({
        status: 401,
        json: { error: { message: "API key is inactive" } },
      });
      expect(await http(`${server.url}/v1/models`, { token: seeded.keys["alice-old"]!.token })).toMatchObject({
        status: 401,
        json: { error: { message: "API key has expired" } },
      });
      const key = await http(`${server.url}/v1/keys/${seeded.keys["carol-main"]!.id}`, { token: MASTER });
      expect(key.json).toMatchObject({
        key_name: "carol-main",
        user_id: "carol",
        is_active: true,
        metadata: { team: "ops", tags: ["a", "b"] },
      });
    });

    test("each user's spend (micro-dollars, half-up) and budget window match the source", async () => {
      for (const user of Object.values(seeded.users)) {
        if (user.userId === "erin") continue; // soft-deleted in otari: not listed, as there
        const res = await http(`${server.url}/v1/users/${user.userId}`, { token: MASTER });
        expect(res.status).toBe(200);
        const body = res.json as {
          spend: number;
          budget_id: string | null;
          budget_started_at: string | null;
          next_budget_reset_at: string | null;
        };
        expect([user.userId, Math.round(body.spend * 1e6)]).toEqual([user.userId, usdToMicros(user.spend)]);
        expect(body.budget_id).toBe(user.budgetId);
        expect(body.budget_started_at && new Date(body.budget_started_at).getTime()).toBe(
          user.budgetStartedAt?.getTime() ?? null,
        );
        expect(body.next_budget_reset_at && new Date(body.next_budget_reset_at).getTime()).toBe(
          user.nextBudgetResetAt?.getTime() ?? null,
        );
      }
      expect((await http(`${server.url}/v1/users/alice`, { token: MASTER })).json).toMatchObject({
        spend: 1.234568,
        alias: "Alice",
        metadata: { team: "research" },
      });
      expect((await http(`${server.url}/v1/users/dave`, { token: MASTER })).json).toMatchObject({ blocked: true });
      expect((await http(`${server.url}/v1/users/erin`, { token: MASTER })).status).toBe(404);
    });

    test("the pricing history is intact, every version", async () => {
      for (const [modelKey, versions] of Object.entries(seeded.pricing)) {
        const res = await http(`${server.url}/v1/pricing/${encodeURIComponent(modelKey)}/history`, { token: MASTER });
        expect(res.status).toBe(200);
        const got = (
          res.json as { effective_at: string; input_price_per_million: number; output_price_per_million: number }[]
        )
          .map((p) => ({
            at: new Date(p.effective_at).getTime(),
            input: p.input_price_per_million,
            output: p.output_price_per_million,
          }))
          .sort((a, b) => a.at - b.at);
        expect(got).toEqual(versions.map((v) => ({ at: v.effectiveAt.getTime(), input: v.input, output: v.output })));
      }
    });

    test("/v1/usage adds up to the source: rows, tokens and cost", async () => {
      const src = await source.query<{ cost: unknown; total_tokens: number | null; status: string }>(
        "SELECT cost, total_tokens, status FROM usage_logs",
      );
      const readable = src.filter(
        (r) => r.cost === null || Number.isFinite(typeof r.cost === "number" ? r.cost : Number.NaN),
      );
      const want = {
        rows: readable.length,
        tokens: readable.reduce((n, r) => n + (r.total_tokens ?? 0), 0),
        micros: readable.reduce((n, r) => n + (r.cost === null ? 0 : usdToMicros(r.cost as number)), 0),
        unpriced: readable.filter((r) => r.cost === null).length,
        errors: readable.filter((r) => r.status === "error").length,
      };
      const got = { rows: 0, tokens: 0, micros: 0, unpriced: 0, errors: 0 };
      // Read in six-hour windows (the seeded rows span 30 days): each request sorts a few hundred rows, not 100k.
      const window = 6 * 3_600_000;
      const from = Date.now() - 31 * 86_400_000;
      for (let start = from; start < Date.now() + 86_400_000; start += window) {
        const range = `start_date=${new Date(start).toISOString()}&end_date=${new Date(start + window).toISOString()}`;
        for (let skip = 0; ; skip += 1000) {
          const page = await http(`${server.url}/v1/usage?${range}&limit=1000&skip=${skip}`, { token: MASTER });
          const rows = page.json as { cost: number | null; total_tokens: number | null; status: string }[];
          for (const r of rows) {
            got.rows++;
            got.tokens += r.total_tokens ?? 0;
            got.micros += r.cost === null ? 0 : Math.round(r.cost * 1e6);
            if (r.cost === null) got.unpriced++;
            if (r.status === "error") got.errors++;
          }
          if (rows.length < 1000) break;
        }
      }
      expect(got).toEqual(want);
      expect(want.unpriced).toBeGreaterThan(0);
      // Per-row rounding to the micro-dollar moves the total by at most half a micro-dollar a row.
      const floatTotal = readable.reduce((n, r) => n + ((r.cost as number | null) ?? 0), 0);
      expect(Math.abs(got.micros / 1e6 - floatTotal)).toBeLessThanOrEqual(readable.length * 0.5e-6);
    }, 60_000);

    // Last: the refused request adds a usage row of its own.
    test("the imported spend is enforced: a user over budget is refused before any provider call", async () => {
      const res = await http(`${server.url}/v1/chat/completions`, {
        method: "POST",
        token: seeded.keys["bob-main"]!.token,
        body: { model: "openai:gpt-4o", messages: [{ role: "user", content: "hi" }] },
      });
      expect(res).toMatchObject({ status: 403, json: { error: { message: "User 'bob' has exceeded budget limit" } } });
    });
  });

  if (dialect === "sqlite") {
    test("a target holding other data is refused without --merge; with --merge the differing rows are reported and kept", async () => {
      const other = sqliteTarget();
      const otherEnv = { DATABASE_URL: other.url };
      expect((await run(["init-db"], { cwd, env: otherEnv })).code).toBe(0);
      expect((await run(["users", "create", "alice", "--alias", "Someone else"], { cwd, env: otherEnv })).code).toBe(0);

      const refused = await run(["import", "otari", "--from", source.url], { cwd, env: otherEnv });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("already holds data (users)");
      expect(refused.stderr).toContain("--merge");

      const merged = await runJson<ImportReport>(["import", "otari", "--from", source.url, "--merge", "--json"], {
        cwd,
        env: otherEnv,
      });
      expect(merged.tables.users).toMatchObject({ imported: Object.keys(seeded.users).length - 1, conflicts: 1 });
      expect(merged.conflicts).toHaveLength(1);
      expect(merged.conflicts[0]).toMatchObject({ table: "users", id: "alice" });
      expect(merged.conflicts[0]!.reason).toContain("alias");
      expect(merged.conflicts[0]!.reason).toContain("spend_micros");
      // alice's keys come across (her user row exists), and her row stays the target's.
      expect(merged.tables.api_keys.imported).toBe(Object.keys(seeded.keys).length);
      const users = await runJson<{ user_id: string; alias: string | null; spend: number }[]>(
        ["users", "list", "--json", "--limit", "1000"],
        { cwd, env: otherEnv },
      );
      expect(users.find((u) => u.user_id === "alice")).toMatchObject({ alias: "Someone else", spend: 0 });
    }, 60_000);
  }
});
