/**
 * The compiled binary end to end, on SQLite and on Postgres: `serve` prints its first-start secrets once, and the
 * management commands (`keys`, `users`, `budgets`, `pricing`, `usage`) change what the running server answers,
 * through the same database and never over HTTP (SPEC §11, §13 item 80).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { SQL } from "bun";
import { PG_ADMIN_URL } from "../helpers/db";
import { ensureBinary, eventually, http, run, runJson, type Served, startServe, stopAll, tempDir } from "./_gateway";

const MASTER_LINE = /^Generated a master key[^\n]*: (\S+)$/m;
const BOOTSTRAP_LINE =
  /^(?:WARNING: )?No API keys found\. Created bootstrap key for first run\. Save this key now: (\S+)$/m;

interface Database {
  url: string;
  drop(): Promise<void>;
}

async function sqliteDatabase(): Promise<Database> {
  return { url: `sqlite:///${join(tempDir("gw-e2e-db-"), "gw.db")}`, drop: async () => undefined };
}

/** An empty Postgres database (the tests/helpers/db.ts approach, without migrating: the binary does that). */
async function pgDatabase(): Promise<Database> {
  const name = `gw_e2e_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new SQL(PG_ADMIN_URL);
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

beforeAll(ensureBinary, 120_000);
afterAll(stopAll);

interface KeyBody {
  id: string;
  key: string;
  user_id: string;
  is_active: boolean;
}

describe.each([
  { dialect: "sqlite", create: sqliteDatabase },
  { dialect: "pg", create: pgDatabase },
])("gateway on $dialect", ({ create }) => {
  const cwd = tempDir();
  let db: Database;
  let server: Served;
  let master = "";
  const env = () => ({ DATABASE_URL: db.url });
  const cli = (args: string[]) => run(args, { cwd, env: env() });
  const cliJson = <T>(args: string[]) => runJson<T>([...args, "--json"], { cwd, env: env() });

  beforeAll(async () => {
    db = await create();
  });

  afterAll(async () => {
    await server?.stop().catch(() => undefined);
    await stopAll();
    await db?.drop();
  });

  test("init-db --json applies every migration on the empty database", async () => {
    const result = await cliJson<{ applied: string[]; current: string }>(["init-db"]);
    expect(result.applied.length).toBeGreaterThan(0);
    expect(result.current).toBe(result.applied.at(-1)!);
    expect(await cliJson(["migrate"])).toEqual({ applied: [], current: result.current });
  });

  test("first serve prints the generated master key and the bootstrap key once; a second start prints neither", async () => {
    server = await startServe([], { cwd, env: env() });
    const first = server.output();
    const masterMatch = MASTER_LINE.exec(first);
    const bootstrapMatch = BOOTSTRAP_LINE.exec(first);
    expect(masterMatch).not.toBeNull();
    expect(bootstrapMatch).not.toBeNull();
    master = masterMatch![1]!;
    const bootstrap = bootstrapMatch![1]!;
    // Printed exactly once each, and nowhere else in the output.
    expect(first.split(master)).toHaveLength(2);
    expect(first.split(bootstrap)).toHaveLength(2);
    expect((await http(`${server.url}/v1/pricing`, { token: bootstrap })).status).toBe(200);
    expect((await http(`${server.url}/v1/keys`, { token: master })).status).toBe(200);
    expect(await server.stop()).toBe(0);

    server = await startServe([], { cwd, env: env() });
    const second = server.output();
    expect(second).not.toMatch(MASTER_LINE);
    expect(second).not.toMatch(BOOTSTRAP_LINE);
    expect(second).not.toContain(master);
    expect(second).not.toContain(bootstrap);
    // The stored master key hash still admits the key printed at first start.
    expect((await http(`${server.url}/v1/keys`, { token: master })).status).toBe(200);
  });

  test("keys create --json prints a key that works over HTTP; keys revoke makes it 401 API key is inactive", async () => {
    const created = await cliJson<KeyBody & Record<string, unknown>>([
      "keys",
      "create",
      "--name",
      "e2e",
      "--rpm",
      "100",
      "--metadata",
      '{"team":"qa"}',
    ]);
    expect(created).toMatchObject({ key_name: "e2e", rpm_limit: 100, metadata: { team: "qa" }, is_active: true });
    expect(created.key).toStartWith(String(created.key_prefix));
    const fromHttp = await http(`${server.url}/v1/keys/${created.id}`, { token: master });
    const { key: _secret, ...info } = created;
    expect(fromHttp.json).toMatchObject(info);
    expect((await http(`${server.url}/v1/pricing`, { token: created.key })).status).toBe(200);

    const revoked = await cliJson<KeyBody>(["keys", "revoke", created.id]);
    expect(revoked).toMatchObject({ id: created.id, is_active: false });
    await eventually(async () => (await http(`${server.url}/v1/pricing`, { token: created.key })).status === 401);
    const denied = await http(`${server.url}/v1/pricing`, { token: created.key });
    expect(denied.json).toMatchObject({ error: { message: "API key is inactive", type: "authentication_error" } });
  });

  test("keys rotate gives a new secret that works; the old one stops", async () => {
    const created = await cliJson<KeyBody>(["keys", "create", "--name", "to-rotate"]);
    const rotated = await cliJson<KeyBody>(["keys", "rotate", created.id]);
    expect(rotated.id).toBe(created.id);
    expect(rotated.key).not.toBe(created.key);
    await eventually(async () => (await http(`${server.url}/v1/pricing`, { token: created.key })).status === 401);
    expect((await http(`${server.url}/v1/pricing`, { token: rotated.key })).status).toBe(200);
  });

  test("keys revoke --delete prints {deleted, id} and the key is gone", async () => {
    const created = await cliJson<KeyBody>(["keys", "create"]);
    expect(await cliJson(["keys", "revoke", created.id, "--delete"])).toEqual({ deleted: true, id: created.id });
    expect((await http(`${server.url}/v1/keys/${created.id}`, { token: master })).status).toBe(404);
    const human = await cli(["keys", "list"]);
    expect(human.code).toBe(0);
    expect(human.stdout).not.toContain(created.id);
  });

  test("users create and budgets set --user change what the server returns", async () => {
    const user = await cliJson<Record<string, unknown>>([
      "users",
      "create",
      "alice",
      "--alias",
      "Alice",
      "--tpm",
      "5000",
    ]);
    expect(user).toMatchObject({ user_id: "alice", alias: "Alice", tpm_limit: 5000, budget_id: null, blocked: false });
    expect((await http(`${server.url}/v1/users/alice`, { token: master })).json).toMatchObject({
      alias: "Alice",
      tpm_limit: 5000,
    });

    const budget = await cliJson<{ budget_id: string; max_budget: number }>([
      "budgets",
      "set",
      "--max-budget",
      "12.5",
      "--duration-sec",
      "86400",
      "--user",
      "alice",
    ]);
    expect(budget).toMatchObject({ max_budget: 12.5, budget_duration_sec: 86400 });
    expect((await http(`${server.url}/v1/budgets/${budget.budget_id}`, { token: master })).json).toEqual(budget);
    const assigned = (await http(`${server.url}/v1/users/alice`, { token: master })).json as Record<string, unknown>;
    expect(assigned.budget_id).toBe(budget.budget_id);
    expect(assigned.next_budget_reset_at).not.toBeNull();

    const updated = await cliJson(["budgets", "set", "--id", budget.budget_id, "--max-budget", "20"]);
    expect(updated).toMatchObject({ budget_id: budget.budget_id, max_budget: 20, budget_duration_sec: 86400 });
    expect((await http(`${server.url}/v1/budgets/${budget.budget_id}`, { token: master })).json).toMatchObject({
      max_budget: 20,
    });

    // A missing user is refused before any budget is created.
    const before = (await http(`${server.url}/v1/budgets`, { token: master })).json as unknown[];
    const missing = await cli(["budgets", "set", "--max-budget", "1", "--user", "nobody"]);
    expect(missing.code).toBe(1);
    expect((await http(`${server.url}/v1/budgets`, { token: master })).json).toHaveLength(before.length);
  });

  test("rate-limits add and update (0 removes a limit) change GET /v1/rate-limits/{id}", async () => {
    const rule = await cliJson<{ id: string }>([
      "rate-limits",
      "add",
      "--scope",
      "user",
      "--rpm",
      "50",
      "--tpm",
      "900",
    ]);
    const updated = await cliJson(["rate-limits", "update", rule.id, "--tpm", "0", "--model", "openai:*"]);
    expect(updated).toMatchObject({ id: rule.id, rpm: 50, tpm: null, model: "openai:*" });
    expect((await http(`${server.url}/v1/rate-limits/${rule.id}`, { token: master })).json).toEqual(updated);
    // The last limit stays: the update is refused and nothing changes.
    expect((await cli(["rate-limits", "update", rule.id, "--rpm", "0"])).code).toBe(1);
    expect((await http(`${server.url}/v1/rate-limits/${rule.id}`, { token: master })).json).toEqual(updated);
    expect((await cli(["rate-limits", "rm", rule.id])).code).toBe(0);
  });

  test("alerts deliveries prints GET /v1/alerts/{id}/deliveries; an unknown rule exits 1", async () => {
    const rule = await cliJson<{ id: string }>(["alerts", "add", "--scope", "any", "--url", "http://127.0.0.1:9/hook"]);
    const rows = await cliJson(["alerts", "deliveries", rule.id, "--status", "failed"]);
    expect(rows).toEqual([]);
    expect((await http(`${server.url}/v1/alerts/${rule.id}/deliveries?status=failed`, { token: master })).json).toEqual(
      rows,
    );
    expect((await cli(["alerts", "deliveries", "no-such-rule"])).code).toBe(1);
  });

  test("pricing set changes GET /v1/pricing/{model_key}", async () => {
    const price = await cliJson(["pricing", "set", "openai:e2e-model", "--input", "1.25", "--output", "5"]);
    expect(price).toMatchObject({
      model_key: "openai:e2e-model",
      input_price_per_million: 1.25,
      output_price_per_million: 5,
    });
    expect((await http(`${server.url}/v1/pricing/openai:e2e-model`, { token: master })).json).toEqual(price);
    const bad = await cli(["pricing", "set", "no-colon", "--input", "1", "--output", "1"]);
    expect(bad.code).toBe(1);
  });

  test("list commands with --json print exactly the HTTP bodies", async () => {
    for (const [args, path] of [
      [["users", "list"], "/v1/users"],
      [["budgets", "list"], "/v1/budgets"],
      [["pricing", "list", "--limit", "1000"], "/v1/pricing?limit=1000"],
      [["usage", "--user-id", "alice"], "/v1/usage?user_id=alice"],
      [
        ["usage", "--start", "2020-01-01T00:00:00Z", "--limit", "5"],
        "/v1/usage?start_date=2020-01-01T00:00:00Z&limit=5",
      ],
    ] as const) {
      const body = (await http(`${server.url}${path}`, { token: master })).json;
      expect(await cliJson([...args])).toEqual(body);
    }
    const keys = await cliJson<{ id: string; last_used_at: string | null }[]>([
      "keys",
      "list",
      "--skip",
      "0",
      "--limit",
      "50",
    ]);
    const overHttp = (await http(`${server.url}/v1/keys?limit=50`, { token: master })).json as { id: string }[];
    expect(keys.map((k) => k.id)).toEqual(overHttp.map((k) => k.id));
  });

  test("teams, key budgets, rate-limit rules and alerts from the CLI: --json prints exactly the HTTP bodies", async () => {
    const get = async (path: string) => (await http(`${server.url}${path}`, { token: master })).json;
    const team = await cliJson<{ team_id: string }>([
      "teams",
      "create",
      "cli-team",
      "--rpm",
      "50",
      "--max-concurrent",
      "4",
    ]);
    expect(team).toMatchObject({ team_id: "cli-team", rpm_limit: 50, max_concurrent: 4, members: 0 });
    expect(await get("/v1/teams/cli-team")).toEqual(team);
    const updated = await cliJson(["teams", "update", "cli-team", "--alias", "CLI", "--blocked"]);
    expect(updated).toMatchObject({ alias: "CLI", blocked: true });
    expect(await cliJson(["teams", "list"])).toEqual(await get("/v1/teams"));
    const budget = await cliJson<{ budget_id: string }>(["budgets", "set", "--max-budget", "3", "--team", "cli-team"]);
    expect(((await get("/v1/teams/cli-team")) as { budget_id: string }).budget_id).toBe(budget.budget_id);

    const key = await cliJson<KeyBody & Record<string, unknown>>([
      "keys",
      "create",
      "--budget-id",
      budget.budget_id,
      "--max-concurrent",
      "2",
    ]);
    expect(key).toMatchObject({ budget_id: budget.budget_id, max_concurrent: 2, spend: 0, reserved: 0 });
    const { key: _secret, ...info } = key;
    expect(await get(`/v1/keys/${key.id}`)).toMatchObject(info);
    const keyBudget = await cliJson<{ budget_id: string }>(["budgets", "set", "--max-budget", "1", "--key", key.id]);
    expect(((await get(`/v1/keys/${key.id}`)) as { budget_id: string }).budget_id).toBe(keyBudget.budget_id);
    expect((await cli(["budgets", "set", "--max-budget", "1", "--team", "no-such-team"])).code).toBe(1);

    const rule = await cliJson<{ id: string }>([
      "rate-limits",
      "add",
      "--scope",
      "team",
      "--scope-id",
      "cli-team",
      "--rpm",
      "9",
    ]);
    expect(await get(`/v1/rate-limits/${rule.id}`)).toEqual(rule);
    expect(await cliJson(["rate-limits", "list"])).toEqual(await get("/v1/rate-limits"));
    expect(await cliJson(["rate-limits", "rm", rule.id])).toEqual({ deleted: true, id: rule.id });
    expect((await http(`${server.url}/v1/rate-limits/${rule.id}`, { token: master })).status).toBe(404);

    const alert = await cliJson<{ id: string }>([
      "alerts",
      "add",
      "--scope",
      "team",
      "--scope-id",
      "cli-team",
      "--url",
      "http://127.0.0.1:9/unreachable",
      "--thresholds",
      "50,90",
    ]);
    expect(alert).toMatchObject({ thresholds: [50, 90], has_secret: false });
    expect(await cliJson(["alerts", "list"])).toEqual(await get("/v1/alerts"));
    expect(await cliJson(["alerts", "test", alert.id])).toMatchObject({ delivered: false, status_code: null });
    const bad = await cli(["alerts", "add", "--scope", "team", "--url", "ftp://x"]);
    expect(bad.code).toBe(1);
  });

  test("human output is a short table or line", async () => {
    const users = await cli(["users", "list"]);
    expect(users.code).toBe(0);
    expect(users.stdout).toMatch(/^USER\s+ALIAS/m);
    expect(users.stdout).toMatch(/^alice\s+Alice/m);
    const created = await cli(["keys", "create", "--name", "human"]);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^gw-\S+$/m);
  });

  test("serve drains and exits 0 on SIGTERM", async () => {
    expect(await server.stop()).toBe(0);
  });
});
