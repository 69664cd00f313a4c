/**
 * otari's own configuration starts the compiled binary unmodified, on SQLite and on Postgres: otari's shipped
 * config.example.yml (fixtures/otari-config.example.yml, otari's file verbatim; the test swaps only its
 * database_url line), and otari's documented environment variables, each doing what it names.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SQL } from "bun";
import { PG_ADMIN_URL } from "../helpers/db";
import { createOtariDb } from "../helpers/otari-db";
import { startPlatformMock } from "../helpers/platform-mock";
import { ensureBinary, freePort, http, run, startServe, stopAll, tempDir } from "./_gateway";

const EXAMPLE = readFileSync(join(import.meta.dir, "fixtures", "otari-config.example.yml"), "utf8");
const SHIPPED_URL = 'database_url: "postgresql://gateway:gateway@postgres:5432/gateway"';

/** otari's example with only its database URL changed. */
function exampleConfig(dir: string, databaseUrl: string): string {
  expect(EXAMPLE).toContain(SHIPPED_URL);
  const path = join(dir, "config.yml");
  writeFileSync(path, EXAMPLE.replace(SHIPPED_URL, `database_url: "${databaseUrl}"`));
  return path;
}

/** Start-up lines that would mean the file or the environment was not fully understood. */
const COMPLAINTS = /Unknown config key|is ignored|Invalid configuration|ERROR/;

interface Database {
  url: string;
  /** Whether the gateway created its tables there. */
  migrated(): Promise<boolean>;
  drop(): Promise<void>;
}

function sqlite(dir: string, name: string): Database {
  const path = join(dir, name);
  return { url: `sqlite:///${path}`, migrated: async () => existsSync(path), drop: async () => undefined };
}

async function pg(): Promise<Database> {
  const name = `gw_otari_cfg_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new SQL(PG_ADMIN_URL);
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.close();
  const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  return {
    url: url.replace(/^postgres:/, "postgresql:"),
    migrated: async () => {
      const sql = new SQL(url);
      const [row] = (await sql.unsafe(
        `SELECT COUNT(*)::int AS n FROM information_schema.tables WHERE table_name = 'api_keys'`,
      )) as { n: number }[];
      await sql.close();
      return row?.n === 1;
    },
    drop: async () => {
      const a = new SQL(PG_ADMIN_URL);
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.close();
    },
  };
}

beforeAll(ensureBinary, 180_000);
afterAll(stopAll);

describe.each([
  {
    dialect: "sqlite" as const,
    databases: async (dir: string) => [sqlite(dir, "otari.db"), sqlite(dir, "from-env.db")],
  },
  { dialect: "pg" as const, databases: async () => [await pg(), await pg()] },
])("otari's config on $dialect", ({ dialect, databases }) => {
  const cwd = tempDir("gw-otari-config-");
  let yamlDb: Database;
  let envDb: Database;

  beforeAll(async () => {
    [yamlDb, envDb] = (await databases(cwd)) as [Database, Database];
  });
  afterAll(async () => {
    await stopAll();
    await yamlDb?.drop();
    await envDb?.drop();
  });

  test("config.example.yml as otari ships it starts and serves, with its master key and providers", async () => {
    const server = await startServe(["--config", exampleConfig(cwd, yamlDb.url)], {
      cwd,
      env: { OTARI_LOG_FORMAT: "pretty" },
    });
    try {
      expect(server.output()).not.toMatch(COMPLAINTS);
      expect(server.output()).toContain("Providers: vertexai, openai, anthropic, mistral");
      expect(await yamlDb.migrated()).toBe(true);
      expect((await http(`${server.url}/v1/keys`, { token: "YOUR_MASTER_KEY_HERE" })).status).toBe(200);
      expect((await http(`${server.url}/v1/pricing`, { token: "YOUR_MASTER_KEY_HERE" })).json).toEqual([]);
    } finally {
      await server.stop();
    }
  }, 30_000);

  test("otari's documented environment variables set what they name, over the same file", async () => {
    const port = freePort();
    const env = {
      OTARI_MASTER_KEY: "master-from-env",
      OTARI_DATABASE_URL: envDb.url,
      OTARI_HOST: "127.0.0.1",
      OTARI_PORT: String(port),
      OTARI_AUTO_MIGRATE: "true",
      OTARI_BOOTSTRAP_API_KEY: "false",
      GATEWAY_DB_POOL_SIZE: "3",
      GATEWAY_DB_MAX_OVERFLOW: "2",
      GATEWAY_DB_POOL_TIMEOUT: "10",
      GATEWAY_DB_POOL_RECYCLE: "300",
      GATEWAY_RATE_LIMIT_RPM: "1000",
      GATEWAY_ENABLE_METRICS: "true",
      GATEWAY_ENABLE_DOCS: "false",
      GATEWAY_LOG_WRITER_STRATEGY: "single",
      GATEWAY_BUDGET_STRATEGY: "cas",
      GATEWAY_MODEL_DISCOVERY: "false",
      GATEWAY_MODEL_CACHE_TTL_SECONDS: "60",
      GATEWAY_MODE: "standalone",
      GATEWAY_SANDBOX_URL: "http://127.0.0.1:9/sandbox",
      GATEWAY_SANDBOX_PURPOSE_HINT: "numbers",
      GATEWAY_WEB_SEARCH_URL: "http://127.0.0.1:9/search",
      GATEWAY_WEB_SEARCH_ENGINES: "duckduckgo",
      GATEWAY_WEB_SEARCH_MAX_RESULTS: "3",
      GATEWAY_WEB_SEARCH_EXTRACT: "false",
      GATEWAY_WEB_SEARCH_PURPOSE_HINT: "news",
      GATEWAY_WEB_SEARCH_ALLOW_PRIVATE_HOSTS: "false",
      GATEWAY_TOOLS_HEADER: "Tools:",
      GATEWAY_MCP_ALLOW_LOOPBACK: "true",
      GATEWAY_MCP_ALLOW_PRIVATE_HOSTS: "false",
      OPENAI_API_KEY: "sk-env",
      ANTHROPIC_API_KEY: "sk-ant-env",
      MISTRAL_API_KEY: "mistral-env",
      GEMINI_API_KEY: "gemini-env",
      OTARI_LOG_FORMAT: "pretty",
    };
    const server = await startServe(["--config", exampleConfig(cwd, yamlDb.url)], { cwd, env, port });
    try {
      expect(server.output()).not.toMatch(COMPLAINTS);
      expect(server.output()).toContain(`Starting otari-gateway on 127.0.0.1:${port}`);
      expect(server.output()).not.toContain("bootstrap key");
      expect(await envDb.migrated()).toBe(true);
      expect((await http(`${server.url}/v1/keys`, { token: "master-from-env" })).status).toBe(200);
      expect((await http(`${server.url}/v1/keys`, { token: "YOUR_MASTER_KEY_HERE" })).status).toBe(401);
      expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
      expect((await fetch(`${server.url}/docs`)).status).toBe(404);
    } finally {
      await server.stop();
    }
  }, 30_000);

  test("pointed at otari's own database (its URL left as it was), serve stops and says to import it into a new one", async () => {
    const otari = await createOtariDb(dialect);
    try {
      const result = await run(["serve", "--config", exampleConfig(cwd, otari.url)], {
        cwd,
        env: { OTARI_LOG_FORMAT: "pretty" },
      });
      expect(result.code).toBe(1);
      expect(result.stdout + result.stderr).toContain("This database is otari's");
      expect(result.stdout + result.stderr).toContain("gateway import otari --from");
    } finally {
      await otari.close();
    }
  }, 30_000);
});

test("otari's platform variables: the legacy token and the PLATFORM_* knobs", async () => {
  const platform = startPlatformMock();
  try {
    const server = await startServe([], {
      cwd: tempDir("gw-otari-platform-"),
      env: {
        OTARI_PLATFORM_TOKEN: "legacy-token",
        PLATFORM_BASE_URL: platform.baseUrl,
        PLATFORM_RESOLVE_TIMEOUT_MS: "3000",
        PLATFORM_USAGE_TIMEOUT_MS: "3000",
        PLATFORM_USAGE_MAX_RETRIES: "2",
        STREAMING_FALLBACK_FIRST_CHUNK_TIMEOUT_MS: "1500",
        OTARI_LOG_FORMAT: "pretty",
      },
    });
    expect(server.output()).not.toMatch(COMPLAINTS);
    expect(await http(`${server.url}/health`)).toEqual({
      status: 200,
      json: { status: "healthy", mode: "platform", platform_reachable: "yes" },
    });
    await server.stop();
  } finally {
    await platform.stop();
  }
}, 30_000);
