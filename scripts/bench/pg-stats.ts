/**
 * Postgres for the gateway-postgres scenario, and the count of statements it runs. Preferred: a private throwaway
 * cluster (initdb into a temp dir, stock settings plus shared_preload_libraries=pg_stat_statements), so
 * pg_stat_statements counts every statement the gateway sends. Fallback: an existing server (--pg), where
 * pg_stat_statements is used if it happens to be loaded and the gateway's own counter otherwise.
 */
import { SQL, spawnSync } from "bun";
import { chownSync, existsSync, mkdtempSync, readdirSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { onCleanup } from "./processes";

export interface Postgres {
  /** Server URL without a database name. */
  url: string;
  source: "private cluster" | "existing server";
  /** pg_stat_statements is loaded and readable. */
  statements: boolean;
  /** Why the private cluster was not used, when it was not. */
  note?: string;
}

function pgBinDir(): string | null {
  const candidates: string[] = [];
  const which = spawnSync(["which", "initdb"]).stdout.toString().trim();
  if (which) candidates.push(dirname(realpathSync(which)));
  if (existsSync("/usr/lib/postgresql")) {
    for (const v of readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a)))
      candidates.push(`/usr/lib/postgresql/${v}/bin`);
  }
  return candidates.find((d) => existsSync(join(d, "initdb")) && existsSync(join(d, "pg_ctl"))) ?? null;
}

/** initdb and the server refuse to run as root: as root, run them as the postgres OS user. */
function runAs(): { prefix: string[]; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return { prefix: [] };
  const id = (flag: string) => Number(spawnSync(["id", flag, "postgres"]).stdout.toString().trim());
  const uid = id("-u");
  if (!Number.isInteger(uid) || uid <= 0) throw new Error("running as root and there is no postgres OS user");
  return { prefix: ["runuser", "-u", "postgres", "--"], uid, gid: id("-g") };
}

async function canReadStatements(url: string): Promise<boolean> {
  const sql = new SQL(`${url}/postgres`);
  try {
    await sql.unsafe("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    await sql.unsafe("SELECT 1 FROM pg_stat_statements LIMIT 1");
    return true;
  } catch {
    return false;
  } finally {
    await sql.close();
  }
}

async function startPrivate(port: number): Promise<string> {
  const bin = pgBinDir();
  if (!bin) throw new Error("initdb/pg_ctl not found (Debian package postgresql)");
  const as = runAs();
  const dir = mkdtempSync(join(tmpdir(), "gw-bench-pg-"));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  if (as.uid !== undefined) chownSync(dir, as.uid, as.gid ?? as.uid);
  const data = join(dir, "data");
  const run = (args: string[]) => {
    const r = spawnSync([...as.prefix, ...args], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0)
      throw new Error(`${args[0]} failed: ${r.stderr.toString().trim().split("\n").slice(-3).join(" ")}`);
  };
  run([join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
  const options = [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${dir}`,
    "-c shared_preload_libraries=pg_stat_statements",
    "-c max_connections=300",
  ];
  run([
    join(bin, "pg_ctl"),
    "-D",
    data,
    "-l",
    join(dir, "server.log"),
    "-w",
    "-t",
    "30",
    "-o",
    options.join(" "),
    "start",
  ]);
  onCleanup(
    () =>
      void spawnSync([...as.prefix, join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop"], {
        stdout: "ignore",
        stderr: "ignore",
      }),
  );
  return `postgres://postgres@127.0.0.1:${port}`;
}

export async function startPostgres(o: { privatePort: number; fallbackUrl: string }): Promise<Postgres> {
  try {
    const url = await startPrivate(o.privatePort);
    if (await canReadStatements(url)) return { url, source: "private cluster", statements: true };
    throw new Error("pg_stat_statements did not load in the private cluster");
  } catch (err) {
    const note = err instanceof Error ? err.message : String(err);
    console.log(`private Postgres cluster not available (${note}); using ${o.fallbackUrl}`);
    return { url: o.fallbackUrl, source: "existing server", statements: await canReadStatements(o.fallbackUrl), note };
  }
}

/**
 * A fresh database for one gateway; dropped at cleanup (on an existing server it would otherwise stay behind), unless
 * `keep` (a seeded database measured again later).
 */
export async function createDatabase(pg: Postgres, name: string, o: { keep?: boolean } = {}): Promise<string> {
  const sql = new SQL(`${pg.url}/postgres`);
  await sql.unsafe(`CREATE DATABASE ${name}`);
  await sql.close();
  if (pg.source === "existing server" && !o.keep) {
    // Synchronous (cleanups also run from signal handlers): a short-lived bun process drops it.
    const script = `const s = new Bun.SQL(${JSON.stringify(`${pg.url}/postgres`)}); await s.unsafe("DROP DATABASE IF EXISTS ${name} WITH (FORCE)"); await s.close();`;
    onCleanup(() => void spawnSync([process.execPath, "-e", script], { stdout: "ignore", stderr: "ignore" }));
  }
  return `${pg.url}/${name}`;
}

/** Whether the server has a database of that name. */
export async function databaseExists(pg: Postgres, name: string): Promise<boolean> {
  const sql = new SQL(`${pg.url}/postgres`);
  try {
    return (await sql.unsafe("SELECT 1 FROM pg_database WHERE datname = $1", [name])).length > 0;
  } finally {
    await sql.close();
  }
}

/** Statements executed in database `name` so far (sum of pg_stat_statements calls, BEGIN/COMMIT included). */
export async function statementCalls(pg: Postgres, name: string): Promise<number> {
  // Run from the `postgres` database: the bench's own queries are recorded there, not under the gateway's database.
  const sql = new SQL(`${pg.url}/postgres`);
  try {
    const rows = await sql.unsafe(
      "SELECT COALESCE(SUM(s.calls), 0)::bigint AS n FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1",
      [name],
    );
    return Number((rows[0] as { n: string | number }).n);
  } finally {
    await sql.close();
  }
}
