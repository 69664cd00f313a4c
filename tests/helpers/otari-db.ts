/**
 * An otari database at the baseline schema, for import tests and scripts/import-speed.ts: the DDL is what otari's
 * SQLAlchemy models and alembic migrations create (users, api_keys, budgets, budget_reset_logs, model_pricing,
 * usage_logs; FLOAT money, SQLAlchemy's naive-UTC text timestamps and 0/1 booleans on SQLite, JSON metadata), and
 * `seedOtari` fills it with what a running otari holds: users with and without budgets in the middle of their
 * window, active, expired and revoked keys, a pricing history, usage rows priced and unpriced, and two broken rows
 * (a key whose hash is not a SHA-256 digest, a usage row whose cost is not a number).
 */
import { Database } from "bun:sqlite";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL } from "bun";
import { PG_ADMIN_URL } from "./db";

const SQLITE_DDL = `
CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
CREATE TABLE budgets (
  budget_id VARCHAR NOT NULL, max_budget FLOAT, budget_duration_sec INTEGER,
  created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL, PRIMARY KEY (budget_id));
CREATE TABLE model_pricing (
  model_key VARCHAR NOT NULL, effective_at DATETIME NOT NULL, input_price_per_million FLOAT NOT NULL,
  output_price_per_million FLOAT NOT NULL, created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL,
  PRIMARY KEY (model_key, effective_at));
CREATE TABLE users (
  user_id VARCHAR NOT NULL, alias VARCHAR, spend FLOAT NOT NULL, budget_id VARCHAR, budget_started_at DATETIME,
  next_budget_reset_at DATETIME, blocked BOOLEAN NOT NULL, deleted_at DATETIME, created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL, metadata JSON NOT NULL, PRIMARY KEY (user_id),
  FOREIGN KEY(budget_id) REFERENCES budgets (budget_id));
CREATE INDEX ix_users_deleted_at ON users (deleted_at);
CREATE TABLE api_keys (
  id VARCHAR NOT NULL, key_hash VARCHAR NOT NULL, key_name VARCHAR, user_id VARCHAR, created_at DATETIME NOT NULL,
  last_used_at DATETIME, expires_at DATETIME, is_active BOOLEAN NOT NULL, metadata JSON NOT NULL, PRIMARY KEY (id),
  FOREIGN KEY(user_id) REFERENCES users (user_id) ON DELETE CASCADE);
CREATE UNIQUE INDEX ix_api_keys_key_hash ON api_keys (key_hash);
CREATE INDEX ix_api_keys_user_id ON api_keys (user_id);
CREATE TABLE budget_reset_logs (
  id INTEGER NOT NULL, user_id VARCHAR, budget_id VARCHAR NOT NULL, previous_spend FLOAT NOT NULL,
  reset_at DATETIME NOT NULL, next_reset_at DATETIME, PRIMARY KEY (id),
  FOREIGN KEY(user_id) REFERENCES users (user_id) ON DELETE SET NULL, FOREIGN KEY(budget_id) REFERENCES budgets (budget_id));
CREATE INDEX ix_budget_reset_logs_user_id ON budget_reset_logs (user_id);
CREATE TABLE usage_logs (
  id VARCHAR NOT NULL, api_key_id VARCHAR, user_id VARCHAR, timestamp DATETIME NOT NULL, model VARCHAR NOT NULL,
  provider VARCHAR, endpoint VARCHAR NOT NULL, prompt_tokens INTEGER, completion_tokens INTEGER, total_tokens INTEGER,
  cost FLOAT, status VARCHAR NOT NULL, error_message VARCHAR, PRIMARY KEY (id),
  FOREIGN KEY(api_key_id) REFERENCES api_keys (id) ON DELETE SET NULL,
  FOREIGN KEY(user_id) REFERENCES users (user_id) ON DELETE SET NULL);
CREATE INDEX ix_usage_logs_api_key_id ON usage_logs (api_key_id);
CREATE INDEX ix_usage_logs_user_id ON usage_logs (user_id);
CREATE INDEX ix_usage_logs_timestamp ON usage_logs (timestamp);
CREATE INDEX ix_usage_logs_user_id_timestamp ON usage_logs (user_id, timestamp);
`;

/** The same tables as otari's migrations create them on Postgres (FLOAT is double precision). */
const PG_DDL = SQLITE_DDL.replaceAll("DATETIME", "TIMESTAMP WITH TIME ZONE").replaceAll("FLOAT", "FLOAT(53)");

export interface OtariDb {
  dialect: "sqlite" | "pg";
  /** What `gateway import otari --from` takes. */
  url: string;
  /** Inserts rows into a table (column order of the first row); values are JS values, converted per dialect. */
  insert(table: string, rows: Record<string, unknown>[]): Promise<void>;
  query<R>(statement: string): Promise<R[]>;
  close(): Promise<void>;
}

const JSON_COLUMNS = new Set(["metadata"]);

/** SQLAlchemy's SQLite DateTime text: naive, UTC, microseconds. */
const sqliteTime = (d: Date) => `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 23)}000`;

function sqliteValue(column: string, v: unknown): unknown {
  if (v instanceof Date) return sqliteTime(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  if (JSON_COLUMNS.has(column) && v !== null && typeof v === "object") return JSON.stringify(v);
  return v ?? null;
}

export async function createOtariDb(dialect: "sqlite" | "pg"): Promise<OtariDb> {
  if (dialect === "sqlite") {
    const path = join(mkdtempSync(join(tmpdir(), "otari-src-")), "otari.db");
    const db = new Database(path, { create: true });
    // Seeding speed only: otari's own file settings do not matter to the import.
    db.exec("PRAGMA cache_size = -262144; PRAGMA synchronous = OFF;");
    db.exec(SQLITE_DDL);
    db.exec("INSERT INTO alembic_version VALUES ('967575f779b7')");
    return {
      dialect,
      url: `sqlite:///${path}`,
      insert: async (table, rows) => {
        if (!rows.length) return;
        const columns = Object.keys(rows[0]!);
        const stmt = db.prepare(
          `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
        );
        db.transaction(() => {
          for (const row of rows)
            stmt.run(...(columns.map((c) => sqliteValue(c, row[c])) as import("bun:sqlite").SQLQueryBindings[]));
        })();
      },
      query: async <R>(statement: string) => db.query(statement).all() as R[],
      close: async () => db.close(),
    };
  }
  const name = `otari_src_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new SQL(PG_ADMIN_URL);
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.close();
  const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  const sql = new SQL({ url, max: 1, onnotice: () => undefined } as ConstructorParameters<typeof SQL>[0]);
  await sql.unsafe(PG_DDL);
  await sql.unsafe("INSERT INTO alembic_version VALUES ('967575f779b7')");
  return {
    dialect,
    url: url.replace(/^postgres:/, "postgresql:"),
    insert: async (table, rows) => {
      if (!rows.length) return;
      const columns = Object.keys(rows[0]!);
      const per = Math.max(1, Math.floor(30000 / columns.length));
      for (let i = 0; i < rows.length; i += per) {
        const chunk = rows.slice(i, i + per);
        const params: unknown[] = [];
        const tuples = chunk.map(
          (row) =>
            `(${columns
              .map((c) => {
                const v = row[c];
                params.push(
                  JSON_COLUMNS.has(c) && v !== null && typeof v === "object"
                    ? JSON.stringify(v)
                    : v instanceof Date
                      ? v.toISOString()
                      : (v ?? null),
                );
                return JSON_COLUMNS.has(c) ? `$${params.length}::text::json` : `$${params.length}`;
              })
              .join(", ")})`,
        );
        await sql.unsafe(`INSERT INTO ${table} (${columns.join(", ")}) VALUES ${tuples.join(", ")}`, params);
      }
    },
    query: async <R>(statement: string) => (await sql.unsafe(statement)) as R[],
    close: async () => {
      await sql.close();
      const a = new SQL(PG_ADMIN_URL);
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.close();
    },
  };
}

/** An otari-minted key: `gw-` + 48 random bytes, base64url; otari stored its unsalted SHA-256 hex. */
export function otariKey(): { token: string; hash: string } {
  const token = `gw-${randomBytes(48).toString("base64url")}`;
  return { token, hash: createHash("sha256").update(token).digest("hex") };
}

/** A small deterministic PRNG, so a failing run can be reproduced. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY = 86_400_000;

export interface SeededKey {
  id: string;
  token: string;
  userId: string | null;
  state: "active" | "expired" | "revoked";
}

export interface SeededUser {
  userId: string;
  spend: number;
  budgetId: string | null;
  maxBudget: number | null;
  budgetStartedAt: Date | null;
  nextBudgetResetAt: Date | null;
}

export interface Seeded {
  keys: Record<string, SeededKey>;
  users: Record<string, SeededUser>;
  /** Pricing rows per model key, oldest first. */
  pricing: Record<string, { effectiveAt: Date; input: number; output: number }[]>;
  /** Usage rows written (the broken one included). */
  usageRows: number;
  brokenKeyId: string;
  brokenUsageId: string;
}

/**
 * Fills an otari database as a running otari would have. `now` anchors the budget windows (every window is in the
 * middle, so a reset never happens during a test); usage timestamps spread over the 30 days before it.
 */
export async function seedOtari(db: OtariDb, opts: { usageRows: number; now?: Date; seed?: number }): Promise<Seeded> {
  const now = opts.now ?? new Date();
  const rand = prng(opts.seed ?? 7);
  const at = (offsetMs: number) => new Date(now.getTime() + offsetMs);
  const created = at(-90 * DAY);

  await db.insert("budgets", [
    {
      budget_id: "b-monthly",
      max_budget: 5.0,
      budget_duration_sec: 30 * 86400,
      created_at: created,
      updated_at: created,
    },
    {
      budget_id: "b-weekly",
      max_budget: 1.0,
      budget_duration_sec: 7 * 86400,
      created_at: created,
      updated_at: created,
    },
    { budget_id: "b-total", max_budget: 250.0, budget_duration_sec: null, created_at: created, updated_at: created },
  ]);

  const users: Record<string, SeededUser> = {};
  const userRows: Record<string, unknown>[] = [];
  const addUser = (
    u: SeededUser & { alias?: string; blocked?: boolean; deletedAt?: Date | null; metadata?: Record<string, unknown> },
  ) => {
    users[u.userId] = u;
    userRows.push({
      user_id: u.userId,
      alias: u.alias ?? null,
      spend: u.spend,
      budget_id: u.budgetId,
      budget_started_at: u.budgetStartedAt,
      next_budget_reset_at: u.nextBudgetResetAt,
      blocked: u.blocked ?? false,
      deleted_at: u.deletedAt ?? null,
      created_at: created,
      updated_at: at(-DAY),
      metadata: u.metadata ?? {},
    });
  };
  // Mid-window: 10 of 30 days gone; a sub-micro-dollar float, as otari's running sums are.
  addUser({
    userId: "alice",
    alias: "Alice",
    spend: 1.2345675,
    budgetId: "b-monthly",
    maxBudget: 5,
    budgetStartedAt: at(-10 * DAY),
    nextBudgetResetAt: at(20 * DAY),
    metadata: { team: "research" },
  });
  // Over her budget: a request must be refused once imported.
  addUser({
    userId: "bob",
    alias: "Bob",
    spend: 1.5000004,
    budgetId: "b-weekly",
    maxBudget: 1,
    budgetStartedAt: at(-3 * DAY),
    nextBudgetResetAt: at(4 * DAY),
  });
  addUser({
    userId: "carol",
    spend: 3.3,
    budgetId: null,
    maxBudget: null,
    budgetStartedAt: null,
    nextBudgetResetAt: null,
  });
  addUser({
    userId: "dave",
    spend: 0,
    budgetId: "b-total",
    maxBudget: 250,
    budgetStartedAt: at(-40 * DAY),
    nextBudgetResetAt: null,
    blocked: true,
  });
  addUser({
    userId: "erin",
    spend: 0.25,
    budgetId: null,
    maxBudget: null,
    budgetStartedAt: null,
    nextBudgetResetAt: null,
    deletedAt: at(-2 * DAY),
  });
  for (let i = 0; i < 20; i++) {
    const budgeted = i % 2 === 0;
    addUser({
      userId: `user-${i}`,
      spend: Math.round(rand() * 4_000_000) / 1_000_000 + rand() / 10_000_000,
      budgetId: budgeted ? "b-monthly" : null,
      maxBudget: budgeted ? 5 : null,
      budgetStartedAt: budgeted ? at(-(i % 25) * DAY - DAY) : null,
      nextBudgetResetAt: budgeted ? at((30 - (i % 25) - 1) * DAY) : null,
    });
  }

  const keys: Record<string, SeededKey> = {};
  const keyRows: Record<string, unknown>[] = [];
  const addKey = (
    name: string,
    userId: string | null,
    state: SeededKey["state"],
    metadata: Record<string, unknown> = {},
  ) => {
    const { token, hash } = otariKey();
    const id = crypto.randomUUID();
    keys[name] = { id, token, userId, state };
    keyRows.push({
      id,
      key_hash: hash,
      key_name: name,
      user_id: userId,
      created_at: at(-60 * DAY),
      last_used_at: at(-DAY),
      expires_at: state === "expired" ? at(-5 * DAY) : state === "active" ? at(365 * DAY) : null,
      is_active: state !== "revoked",
      metadata,
    });
  };
  addKey("alice-main", "alice", "active", { app: "notebook" });
  addKey("alice-old", "alice", "expired");
  addKey("alice-leaked", "alice", "revoked");
  addKey("bob-main", "bob", "active");
  addKey("carol-main", "carol", "active", { team: "ops", tags: ["a", "b"] });
  for (let i = 0; i < 20; i++) addKey(`user-${i}-key`, `user-${i}`, "active");
  // A key minted without a user: otari made a virtual user for it.
  const virtualId = crypto.randomUUID();
  addUser({
    userId: `apikey-${virtualId}`,
    alias: "Virtual user for API key: ci",
    spend: 0.5,
    budgetId: null,
    maxBudget: null,
    budgetStartedAt: null,
    nextBudgetResetAt: null,
  });
  addKey("ci", `apikey-${virtualId}`, "active");
  await db.insert("users", userRows);
  const brokenKeyId = crypto.randomUUID();
  keyRows.push({
    id: brokenKeyId,
    key_hash: "not-a-sha256-digest",
    key_name: "broken",
    user_id: "carol",
    created_at: at(-DAY),
    last_used_at: null,
    expires_at: null,
    is_active: true,
    metadata: {},
  });
  await db.insert("api_keys", keyRows);

  await db.insert("budget_reset_logs", [
    {
      id: 1,
      user_id: "alice",
      budget_id: "b-monthly",
      previous_spend: 4.9999995,
      reset_at: at(-40 * DAY),
      next_reset_at: at(-10 * DAY),
    },
    {
      id: 2,
      user_id: "alice",
      budget_id: "b-monthly",
      previous_spend: 3.25,
      reset_at: at(-10 * DAY),
      next_reset_at: at(20 * DAY),
    },
    {
      id: 3,
      user_id: "bob",
      budget_id: "b-weekly",
      previous_spend: 1.0000001,
      reset_at: at(-3 * DAY),
      next_reset_at: at(4 * DAY),
    },
    {
      id: 4,
      user_id: null,
      budget_id: "b-weekly",
      previous_spend: 0.75,
      reset_at: at(-20 * DAY),
      next_reset_at: at(-13 * DAY),
    },
  ]);

  const pricing: Seeded["pricing"] = {
    "openai:gpt-4o": [
      { effectiveAt: at(-400 * DAY), input: 5, output: 15 },
      { effectiveAt: at(-200 * DAY), input: 2.5, output: 10 },
      { effectiveAt: at(-20 * DAY), input: 2.25, output: 9.5 },
    ],
    "anthropic:claude-3-5-sonnet-20241022": [
      { effectiveAt: at(-300 * DAY), input: 3, output: 15 },
      { effectiveAt: at(-15 * DAY), input: 2.75, output: 13.125 },
    ],
    "openai/gpt-4o-mini": [{ effectiveAt: at(-250 * DAY), input: 0.15, output: 0.6 }],
  };
  await db.insert(
    "model_pricing",
    Object.entries(pricing).flatMap(([model_key, versions]) =>
      versions.map((v) => ({
        model_key,
        effective_at: v.effectiveAt,
        input_price_per_million: v.input,
        output_price_per_million: v.output,
        created_at: v.effectiveAt,
        updated_at: v.effectiveAt,
      })),
    ),
  );

  // Usage: priced models carry otari's float cost; the unpriced one a null cost; some errors; some by the master key.
  const models = [
    { provider: "openai", model: "gpt-4o", key: "openai:gpt-4o" },
    { provider: "anthropic", model: "claude-3-5-sonnet-20241022", key: "anthropic:claude-3-5-sonnet-20241022" },
    { provider: "openai", model: "gpt-4o-mini", key: "openai/gpt-4o-mini" },
    { provider: "mistral", model: "mistral-small-latest", key: null },
  ];
  const spenders = Object.keys(keys).filter((k) => keys[k]!.userId !== null);
  const brokenUsageId = crypto.randomUUID();
  const batch = 20_000;
  for (let start = 0; start < opts.usageRows; start += batch) {
    const rows: Record<string, unknown>[] = [];
    for (let i = start; i < Math.min(start + batch, opts.usageRows); i++) {
      const m = models[i % models.length]!;
      const k = keys[spenders[Math.floor(rand() * spenders.length)]!]!;
      const timestamp = at(-Math.floor(rand() * 30 * DAY));
      const failed = i % 37 === 0;
      const prompt = failed ? null : 1 + Math.floor(rand() * 4000);
      const completion = failed ? null : Math.floor(rand() * 1500);
      const price = m.key
        ? (pricing[m.key]!.filter((p) => p.effectiveAt <= timestamp).at(-1) ?? pricing[m.key]![0]!)
        : null;
      rows.push({
        id: i === 1 ? brokenUsageId : crypto.randomUUID(),
        api_key_id: i % 50 === 0 ? null : k.id,
        user_id: k.userId,
        timestamp,
        model: m.model,
        provider: m.provider,
        endpoint: i % 5 === 0 ? "/v1/messages" : "/v1/chat/completions",
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt === null ? null : prompt + (completion ?? 0),
        // otari's cost: tokens × USD-per-million / 1e6, a float with sub-micro-dollar digits.
        cost:
          i === 1
            ? db.dialect === "pg"
              ? "NaN"
              : "n/a"
            : failed || !price
              ? null
              : (prompt! * price.input + completion! * price.output) / 1_000_000,
        status: failed ? "error" : "success",
        error_message: failed ? "Provider returned 503: overloaded" : null,
      });
    }
    await db.insert("usage_logs", rows);
  }
  return { keys, users, pricing, usageRows: opts.usageRows, brokenKeyId, brokenUsageId };
}
