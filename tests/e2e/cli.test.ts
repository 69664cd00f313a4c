/** The compiled binary's commands that need no running server: help, usage errors, openapi, migrations, config errors. */
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBinary, ROOT, run, runJson, tempDir } from "./_gateway";

const COMMITTED = join(ROOT, "docs", "openapi.json");
const SUBCOMMANDS = [
  "serve",
  "init-db",
  "migrate",
  "keys",
  "users",
  "budgets",
  "pricing",
  "usage",
  "import",
  "openapi",
  "teams",
  "rate-limits",
  "alerts",
];

beforeAll(ensureBinary, 120_000);

const sqlite = (cwd: string) => `sqlite:///${join(cwd, "gw.db")}`;

describe("gateway --help", () => {
  test("lists every subcommand", async () => {
    const { code, stdout } = await run(["--help"], { cwd: tempDir() });
    expect(code).toBe(0);
    for (const name of SUBCOMMANDS) expect(stdout).toContain(name);
  });

  test("each group lists its subcommands", async () => {
    const cwd = tempDir();
    const groups: Record<string, string[]> = {
      keys: ["create", "list", "revoke", "rotate"],
      users: ["create", "list"],
      budgets: ["set", "list"],
      pricing: ["set", "list"],
      teams: ["create", "list", "update"],
      "rate-limits": ["add", "update", "list", "rm"],
      alerts: ["add", "list", "test", "deliveries"],
      import: ["otari"],
    };
    for (const [group, subs] of Object.entries(groups)) {
      const { code, stdout } = await run([group, "--help"], { cwd });
      expect(code).toBe(0);
      for (const sub of subs) expect(stdout).toContain(sub);
    }
  });
});

describe("bad usage exits 2", () => {
  const cases: [string, string[], RegExp][] = [
    ["unknown command", ["frobnicate"], /Unknown command 'frobnicate'/],
    ["unknown subcommand", ["keys", "explode"], /Unknown command 'explode'/],
    ["group without subcommand", ["budgets"], /No command specified/],
    ["unknown flag", ["keys", "list", "--colour"], /Unknown option: --colour/],
    ["non-numeric --limit", ["keys", "list", "--limit", "ten"], /--limit must be an integer/],
    ["non-numeric --max-budget", ["budgets", "set", "--max-budget", "lots"], /--max-budget must be a number/],
    ["missing positional", ["users", "create"], /Missing required argument: USER_ID/],
    ["missing required flag", ["pricing", "set", "openai:gpt-4o", "--input", "1"], /Missing required option: --output/],
    ["import otari without --from", ["import", "otari", "--dry-run"], /Missing required option: --from/],
    ["extra positional", ["keys", "rotate", "a", "b"], /Unexpected argument: b/],
    ["option without its value", ["keys", "list", "-c"], /Option -c needs a value/],
    ["--no- on an option that takes a value", ["serve", "--no-port"], /--port takes a value and cannot be negated/],
    ["invalid --metadata JSON", ["keys", "create", "--metadata", "{nope"], /--metadata must be valid JSON/],
    ["--workers > 1", ["serve", "--workers", "4"], /--workers > 1 is not supported/],
    ["--write with --check", ["openapi", "--write", "a.json", "--check", "b.json"], /either --write or --check/],
  ];
  for (const [name, args, message] of cases) {
    test(name, async () => {
      const cwd = tempDir();
      const result = await run(args, { cwd, env: { DATABASE_URL: sqlite(cwd) } });
      expect(result.stderr).toMatch(message);
      expect(result.code).toBe(2);
    });
  }
});

describe("openapi", () => {
  test("prints the document; --write writes the same to docs/openapi.json by default", async () => {
    const cwd = tempDir();
    const printed = await runJson<{ openapi: string; paths: Record<string, unknown> }>(["openapi"], { cwd });
    expect(printed.openapi).toStartWith("3.1");
    expect(Object.keys(printed.paths)).toContain("/v1/keys");
    const written = await run(["openapi", "--write"], { cwd });
    expect(written.code).toBe(0);
    expect(JSON.parse(readFileSync(join(cwd, "docs", "openapi.json"), "utf8"))).toEqual(printed);
  });

  test("--check exits 0 on the committed file (on failure: bun run openapi:write)", async () => {
    const result = await run(["openapi", "--check", COMMITTED], { cwd: tempDir() });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });

  test("--check with no PATH reads docs/openapi.json in the working directory", async () => {
    const cwd = tempDir();
    expect((await run(["openapi", "--write"], { cwd })).code).toBe(0);
    const result = await run(["openapi", "--check"], { cwd });
    expect(result.stdout).toContain("docs/openapi.json is up to date");
    expect(result.code).toBe(0);
  });

  test("--check exits 1 and prints the differing JSON pointer with old and new values after one property changes", async () => {
    const cwd = tempDir();
    expect((await run(["openapi", "--write", "generated.json"], { cwd })).code).toBe(0);
    const doc = JSON.parse(readFileSync(join(cwd, "generated.json"), "utf8"));
    // Reorder keys too: only content counts.
    doc.info = { version: doc.info.version, description: doc.info.description, title: "not-otari" };
    writeFileSync(join(cwd, "drifted.json"), JSON.stringify(doc));
    const result = await run(["openapi", "--check", "drifted.json"], { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('~ /info/title: "not-otari" -> "otari-gateway"');
    expect(result.stderr.match(/^[~+-] \//gm)).toHaveLength(1);
  });

  test("--check on a missing file exits 1", async () => {
    const result = await run(["openapi", "--check", "nowhere.json"], { cwd: tempDir() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("nowhere.json does not exist");
  });
});

describe("init-db and migrate", () => {
  test("--json prints {applied, current}; a second run applies nothing", async () => {
    const cwd = tempDir();
    const first = await runJson<{ applied: string[]; current: string }>(
      ["init-db", "--json", "--database-url", sqlite(cwd)],
      { cwd },
    );
    expect(first.applied.length).toBeGreaterThan(0);
    expect(first.current).toBe(first.applied.at(-1)!);
    expect(Object.keys(first).sort()).toEqual(["applied", "current"]);
    const again = await runJson(["migrate", "--json", "--database-url", sqlite(cwd)], { cwd });
    expect(again).toEqual({ applied: [], current: first.current });
  });

  test("human output names the database and the outcome", async () => {
    const cwd = tempDir();
    const result = await run(["init-db"], { cwd, env: { DATABASE_URL: sqlite(cwd) } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Initializing database: ${sqlite(cwd)}`);
    expect(result.stdout).toContain("Database initialized successfully!");
  });

  test("--revision with a bad format exits 1 with Invalid revision format", async () => {
    const cwd = tempDir();
    const result = await run(["migrate", "--revision", "bad rev!", "--database-url", sqlite(cwd)], { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Invalid revision format: bad rev!");
  });
});

describe("config errors stop with a message naming the key, exit 1, no stack trace", () => {
  for (const [name, args] of [
    ["keys list", ["keys", "list"]],
    ["serve", ["serve"]],
  ] as const) {
    test(name, async () => {
      const cwd = tempDir();
      writeFileSync(join(cwd, "config.yml"), "log_level: loud\nport: 8000\n");
      const result = await run([...args, "--config", "config.yml", "--database-url", sqlite(cwd)], { cwd });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("log_level");
      expect(result.stderr).not.toMatch(/^\s+at /m);
    });
  }

  test("a --config that does not exist", async () => {
    const result = await run(["users", "list", "-c", "missing.yml"], { cwd: tempDir() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Config file not found: missing.yml");
  });
});

describe("operational errors exit 1", () => {
  test("not found, as the §4.1 envelope on stderr with --json", async () => {
    const cwd = tempDir();
    await runJson(["init-db", "--json", "--database-url", sqlite(cwd)], { cwd });
    const result = await run(["keys", "revoke", "no-such-key", "--json", "--database-url", sqlite(cwd)], { cwd });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(JSON.parse(result.stderr)).toMatchObject({
      error: { message: "API key with id 'no-such-key' not found", type: "not_found_error" },
    });
  });

  test("validation by the route's own schema", async () => {
    const cwd = tempDir();
    await runJson(["init-db", "--json", "--database-url", sqlite(cwd)], { cwd });
    const result = await run(
      ["pricing", "set", "openai:gpt-4o", "--input", "-1", "--output", "1", "--json", "--database-url", sqlite(cwd)],
      { cwd },
    );
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stderr)).toMatchObject({ error: { type: "invalid_request_error" } });
  });
});
