/**
 * How fast `gateway import otari` takes a million usage rows: builds an otari database at the baseline schema
 * (tests/helpers/otari-db.ts) with N usage rows on SQLite and on Postgres, imports each into an empty database of the
 * same dialect with the compiled binary (dist/gateway; `bun run build` first), and prints rows per second.
 *
 *   bun scripts/import-speed.ts [rows=1000000] [sqlite|pg|both=both]
 *
 * Postgres: 127.0.0.1:5432 as the tests use it (GATEWAY_TEST_PG_URL overrides). Not part of the test suite.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL } from "bun";
import { PG_ADMIN_URL } from "../tests/helpers/db";
import { createOtariDb, seedOtari } from "../tests/helpers/otari-db";

const rows = Number(process.argv[2] ?? 1_000_000);
const which = process.argv[3] ?? "both";
const binary = join(import.meta.dir, "..", "dist", "gateway");
if (!existsSync(binary)) {
  console.error("dist/gateway is missing: run `bun run build` first");
  process.exit(1);
}

async function emptyTarget(dialect: "sqlite" | "pg"): Promise<{ url: string; drop(): Promise<void> }> {
  if (dialect === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "gw-import-speed-"));
    return { url: `sqlite:///${join(dir, "gw.db")}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `gw_import_speed_${process.pid}`;
  const admin = new SQL(PG_ADMIN_URL);
  await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.close();
  return {
    url: PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`),
    drop: async () => {
      const a = new SQL(PG_ADMIN_URL);
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.close();
    },
  };
}

for (const dialect of ["sqlite", "pg"] as const) {
  if (which !== "both" && which !== dialect) continue;
  const source = await createOtariDb(dialect);
  const seededAt = performance.now();
  await seedOtari(source, { usageRows: rows });
  console.log(
    `${dialect}: built an otari database with ${rows} usage rows in ${((performance.now() - seededAt) / 1000).toFixed(1)} s`,
  );
  const target = await emptyTarget(dialect);
  try {
    const started = performance.now();
    const proc = Bun.spawn([binary, "import", "otari", "--from", source.url, "--json"], {
      env: { ...process.env, DATABASE_URL: target.url },
      stdout: "pipe",
      stderr: "inherit",
    });
    const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    const wall = (performance.now() - started) / 1000;
    if (code !== 0) throw new Error(`import exited ${code}:\n${out}`);
    const report = JSON.parse(out) as { tables: { usage_logs: { imported: number } }; seconds: number };
    const imported = report.tables.usage_logs.imported;
    console.log(
      `${dialect}: imported ${imported} usage rows (and the management tables) in ${wall.toFixed(1)} s wall, ${report.seconds} s in the import; ${Math.round(imported / wall)} rows/s`,
    );
    const again = performance.now();
    const rerun = Bun.spawn([binary, "import", "otari", "--from", source.url, "--json"], {
      env: { ...process.env, DATABASE_URL: target.url },
      stdout: "pipe",
      stderr: "inherit",
    });
    const [out2] = await Promise.all([new Response(rerun.stdout).text(), rerun.exited]);
    const second = JSON.parse(out2) as { tables: { usage_logs: { imported: number; unchanged: number } } };
    console.log(
      `${dialect}: re-run took ${((performance.now() - again) / 1000).toFixed(1)} s, imported ${second.tables.usage_logs.imported}, unchanged ${second.tables.usage_logs.unchanged}`,
    );
  } finally {
    await source.close();
    await target.drop();
  }
}
