/**
 * Applies the embedded migrations (migrations.gen.ts). Bookkeeping uses drizzle's own `__drizzle_migrations`
 * table (same hash and created_at), so `drizzle-kit migrate` and this runner agree on one database.
 * On Postgres an advisory lock makes replicas that start together apply each migration once.
 */
import { createHash } from "node:crypto";
import type { Store } from "./client";
import { embeddedMigrations } from "./migrations.gen";

export interface MigrationResult {
  applied: string[];
  current: string | null;
}

const MIGRATION_LOCK = 728_411_093;

/**
 * otari's own database (its alembic bookkeeping table) has tables of the same names as this gateway's: pointed at it
 * unchanged (e.g. otari's config as is), the first migration would fail on `users` with a bare SQL error.
 */
const OTARI_PROBE = {
  sqlite: `SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'`,
  pg: `SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'alembic_version'`,
};
const OTARI_DATABASE =
  "This database is otari's (it has otari's alembic_version table); this gateway keeps its data in tables of its own. Point database_url at a new, empty database and copy otari's data with `gateway import otari --from <this database's URL>` (see docs/migrating-from-otari.md).";

function matchesRevision(tag: string, revision: string): boolean {
  return tag === revision || tag.split("_")[0] === revision;
}

export async function migrate(store: Store, revision = "head"): Promise<MigrationResult> {
  if (!/^[a-zA-Z0-9_+-]+$/.test(revision)) throw new Error(`Invalid revision format: ${revision}`);
  const all = embeddedMigrations[store.dialect];
  let target = all.length;
  if (revision !== "head") {
    const idx = all.findIndex((m) => matchesRevision(m.tag, revision));
    if (idx < 0) throw new Error(`Unknown revision '${revision}'. Known: ${all.map((m) => m.tag).join(", ")}`);
    target = idx + 1;
  }
  const table = store.dialect === "pg" ? `"drizzle"."__drizzle_migrations"` : `"__drizzle_migrations"`;
  const applied: string[] = [];
  let current: string | null = null;

  await store.rawTx(async (exec, script) => {
    if (store.dialect === "pg") {
      await exec(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
      await exec(`CREATE SCHEMA IF NOT EXISTS "drizzle"`);
      await exec(`CREATE TABLE IF NOT EXISTS ${table} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`);
    } else {
      await exec(
        `CREATE TABLE IF NOT EXISTS ${table} (id INTEGER PRIMARY KEY AUTOINCREMENT, hash text NOT NULL, created_at numeric)`,
      );
    }
    const rows = (await exec(`SELECT created_at FROM ${table} ORDER BY created_at DESC LIMIT 1`)) as {
      created_at: unknown;
    }[];
    const last = rows[0] ? Number(rows[0].created_at) : null;
    if (last === null && (await exec(OTARI_PROBE[store.dialect])).length > 0) throw new Error(OTARI_DATABASE);
    for (const [i, m] of all.entries()) {
      if (last !== null && m.when <= last) {
        current = m.tag;
        continue;
      }
      if (i >= target) break;
      await script(m.sql.split("--> statement-breakpoint").filter((statement) => statement.trim()));
      const hash = createHash("sha256").update(m.sql).digest("hex");
      await exec(`INSERT INTO ${table} (hash, created_at) VALUES ('${hash}', ${m.when})`);
      applied.push(m.tag);
      current = m.tag;
    }
  });
  return { applied, current };
}

/** Tag of the newest applied migration, or null on an empty database. */
export async function currentRevision(store: Store): Promise<string | null> {
  const table = store.dialect === "pg" ? `"drizzle"."__drizzle_migrations"` : `"__drizzle_migrations"`;
  try {
    const rows = await store.query<{ created_at: unknown }>(
      `SELECT created_at FROM ${table} ORDER BY created_at DESC LIMIT 1`,
    );
    const when = rows[0] ? Number(rows[0].created_at) : null;
    return embeddedMigrations[store.dialect].find((m) => m.when === when)?.tag ?? null;
  } catch {
    return null;
  }
}
