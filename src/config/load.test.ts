/**
 * Config loading (docs/configuration.md#sources-and-precedence). Every test uses its own temp dir and an explicit env.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the YAML `${VAR}` syntax is what these tests feed the loader.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { ConfigError, type LoadOptions, loadConfig } from "./load";
import { configSchema, type InputShape, inputShape, SCALAR_KEYS } from "./schema";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh directory holding the given files. */
function sandbox(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "gw-config-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** Loads with `cwd` = a sandbox, collecting warnings. */
function load(files: Record<string, string>, opts: Omit<LoadOptions, "cwd" | "warn"> = {}) {
  const cwd = sandbox(files);
  const warnings: string[] = [];
  const config = loadConfig({ env: {}, ...opts, cwd, warn: (m) => warnings.push(m) });
  return { config, warnings, cwd };
}

function loadError(files: Record<string, string>, opts: Omit<LoadOptions, "cwd" | "warn"> = {}): ConfigError {
  try {
    load(files, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("defaults", () => {
  test("no file, empty env: the documented defaults (item 60)", () => {
    const { config, warnings } = load({});
    expect(config.database_url).toBe("sqlite:///./otari-gateway.db");
    expect(config.configPath).toBeNull();
    expect(config).toMatchObject({
      host: "0.0.0.0",
      port: 8000,
      auto_migrate: true,
      bootstrap_api_key: true,
      enable_docs: true,
      enable_metrics: false,
      require_pricing: false,
      budget_strategy: "for_update",
      mode: "standalone",
      log_level: "info",
      max_request_body_bytes: 33554432,
      cors_allow_origins: [],
      providers: {},
      pricing: {},
    });
    expect(config.master_key ?? null).toBeNull();
    expect(warnings).toEqual([]);
  });

  test("the result is frozen", () => {
    const { config } = load({});
    expect(Object.isFrozen(config)).toBe(true);
  });
});

describe("the schema's input shape, read from zod's definitions, is what z.toJSONSchema gives", () => {
  type Json = {
    type?: string | string[];
    anyOf?: Json[];
    properties?: Record<string, Json>;
    additionalProperties?: Json | boolean;
    items?: Json;
  };
  const typesOf = (json: Json): string[] => [
    ...(json.type ? [json.type].flat() : []),
    ...(json.anyOf ?? []).flatMap(typesOf),
  ];
  const kindOf = (types: string[]) =>
    types.includes("boolean")
      ? "boolean"
      : types.some((t) => t === "number" || t === "integer")
        ? "number"
        : types.includes("string")
          ? "string"
          : null;
  /** What the loader reads of a position: its one type, its named keys, its other keys' shape, its items. */
  type Read = { type?: string; properties?: Record<string, Read>; rest?: Read; items?: Read };
  const fromJson = (json: Json): Read => ({
    ...(typeof json.type === "string" ? { type: json.type === "integer" ? "number" : json.type } : {}),
    ...(json.properties
      ? { properties: Object.fromEntries(Object.entries(json.properties).map(([k, v]) => [k, fromJson(v)])) }
      : {}),
    ...(typeof json.additionalProperties === "object" ? { rest: fromJson(json.additionalProperties) } : {}),
    ...(json.items ? { items: fromJson(json.items) } : {}),
  });
  const fromShape = (shape: InputShape): Read => ({
    ...(shape.type ? { type: shape.type } : {}),
    ...(shape.properties
      ? { properties: Object.fromEntries(Object.entries(shape.properties).map(([k, v]) => [k, fromShape(v)])) }
      : {}),
    ...(shape.additionalProperties ? { rest: fromShape(shape.additionalProperties) } : {}),
    ...(shape.items ? { items: fromShape(shape.items) } : {}),
  });
  const json = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as Json;

  test("every position's type, keys and items (where an empty YAML section lands)", () => {
    expect(fromShape(inputShape(configSchema))).toEqual(fromJson(json));
  });

  test("SCALAR_KEYS: every key's kind is the one its JSON Schema types give", () => {
    const expected: Record<string, string> = {};
    for (const [key, field] of Object.entries(json.properties ?? {})) {
      const kind = kindOf(typesOf(field));
      if (kind) expected[key] = kind;
    }
    expect({ ...SCALAR_KEYS } as Record<string, string>).toEqual(expected);
    // Each kind occurs, and list and map keys are left to YAML.
    expect(new Set(Object.values(SCALAR_KEYS))).toEqual(new Set(["boolean", "number", "string"]));
    for (const key of ["providers", "pricing", "rate_limits", "aliases", "routing", "otel_redact_patterns"])
      expect(SCALAR_KEYS[key]).toBeUndefined();
  });
});

describe("precedence (item 58)", () => {
  test("OTARI_PORT beats GATEWAY_PORT beats YAML", () => {
    const files = { "config.yml": "port: 8001\n" };
    expect(load(files, { env: { OTARI_PORT: "9001", GATEWAY_PORT: "7000" } }).config.port).toBe(9001);
    expect(load(files, { env: { GATEWAY_PORT: "7000" } }).config.port).toBe(7000);
    expect(load(files).config.port).toBe(8001);
  });

  test("an empty env value counts as unset", () => {
    expect(load({ "config.yml": "port: 8001\n" }, { env: { OTARI_PORT: "", GATEWAY_PORT: "7000" } }).config.port).toBe(
      7000,
    );
    expect(load({ "config.yml": "port: 8001\n" }, { env: { OTARI_PORT: "" } }).config.port).toBe(8001);
  });

  test("nullable string keys are read from env too: OTARI_MASTER_KEY, GATEWAY_METRICS_TOKEN, OTARI_USAGE_JOURNAL_PATH", () => {
    const { config } = load(
      { "config.yml": "master_key: from-yaml\n" },
      { env: { OTARI_MASTER_KEY: "from-env", GATEWAY_METRICS_TOKEN: "mt", OTARI_USAGE_JOURNAL_PATH: "/tmp/j" } },
    );
    expect(config.master_key).toBe("from-env");
    expect(config.metrics_token).toBe("mt");
    expect(config.usage_journal_path).toBe("/tmp/j");
    expect(load({}, { env: { GATEWAY_MASTER_KEY: "g", OTARI_MASTER_KEY: "o" } }).config.master_key).toBe("o");
  });

  test("CLI flags beat every env var", () => {
    expect(load({}, { env: { OTARI_PORT: "9001" }, flags: { port: 9100 } }).config.port).toBe(9100);
    expect(
      load({}, { env: { OTARI_MASTER_KEY: "from-env" }, flags: { master_key: "from-flag" } }).config.master_key,
    ).toBe("from-flag");
  });

  test("booleans: 1/true/yes/on and 0/false/no/off, any case (OTARI_AUTO_MIGRATE=false -> false)", () => {
    expect(load({}, { env: { OTARI_AUTO_MIGRATE: "false" } }).config.auto_migrate).toBe(false);
    for (const v of ["0", "false", "no", "off", "FALSE", "Off"])
      expect(load({}, { env: { OTARI_AUTO_MIGRATE: v } }).config.auto_migrate).toBe(false);
    for (const v of ["1", "true", "yes", "on", "TRUE", "Yes"])
      expect(load({}, { env: { GATEWAY_ENABLE_METRICS: v } }).config.enable_metrics).toBe(true);
    expect(
      load({ "config.yml": "auto_migrate: true\n" }, { env: { GATEWAY_AUTO_MIGRATE: "no" } }).config.auto_migrate,
    ).toBe(false);
  });

  test("OTARI_PORT=abc or a bad boolean fails start-up, naming the variable", () => {
    expect(loadError({}, { env: { OTARI_PORT: "abc" } }).message).toContain("OTARI_PORT");
    expect(loadError({}, { env: { GATEWAY_PORT: "80x" } }).message).toContain("GATEWAY_PORT");
    const bool = loadError({}, { env: { OTARI_AUTO_MIGRATE: "maybe" } });
    expect(bool.message).toContain("OTARI_AUTO_MIGRATE");
    expect(bool.message).toContain("maybe");
    expect(loadError({}, { env: { OTARI_PORT: "70000" } }).message).toContain("port");
    expect(loadError({}, { env: { OTARI_PORT: "1.5" } }).message).toContain("port");
  });

  test("database_url: flag > OTARI_ > GATEWAY_ > DATABASE_URL > YAML", () => {
    const files = { "config.yml": "database_url: sqlite:///yaml.db\n" };
    const env = {
      OTARI_DATABASE_URL: "sqlite:///otari.db",
      GATEWAY_DATABASE_URL: "sqlite:///gateway.db",
      DATABASE_URL: "sqlite:///plain.db",
    };
    expect(load(files, { env, flags: { database_url: "sqlite:///flag.db" } }).config.database_url).toBe(
      "sqlite:///flag.db",
    );
    expect(load(files, { env }).config.database_url).toBe("sqlite:///otari.db");
    expect(
      load(files, { env: { GATEWAY_DATABASE_URL: env.GATEWAY_DATABASE_URL, DATABASE_URL: env.DATABASE_URL } }).config
        .database_url,
    ).toBe("sqlite:///gateway.db");
    expect(load(files, { env: { DATABASE_URL: env.DATABASE_URL } }).config.database_url).toBe("sqlite:///plain.db");
    expect(load(files).config.database_url).toBe("sqlite:///yaml.db");
  });

  test("which file: --config > OTARI_CONFIG > GATEWAY_CONFIG > ./config.yml", () => {
    const files = {
      "config.yml": "port: 1001\n",
      "a.yml": "port: 1002\n",
      "b.yml": "port: 1003\n",
      "c.yml": "port: 1004\n",
    };
    expect(
      load(files, { configPath: "a.yml", env: { OTARI_CONFIG: "b.yml", GATEWAY_CONFIG: "c.yml" } }).config.port,
    ).toBe(1002);
    expect(load(files, { env: { OTARI_CONFIG: "b.yml", GATEWAY_CONFIG: "c.yml" } }).config.port).toBe(1003);
    expect(load(files, { env: { GATEWAY_CONFIG: "c.yml" } }).config.port).toBe(1004);
    const { config, cwd } = load(files);
    expect(config.port).toBe(1001);
    expect(config.configPath).toBe(join(cwd, "config.yml"));
    expect(loadError({}, { configPath: "missing.yml" }).message).toContain("missing.yml");
  });

  test("list and map keys come only from YAML", () => {
    const { config } = load(
      { "config.yml": "cors_allow_origins: [https://a.example]\nproviders:\n  openai:\n    api_key: sk-1\n" },
      { env: { OTARI_CORS_ALLOW_ORIGINS: "https://b.example" } },
    );
    expect(config.cors_allow_origins).toEqual(["https://a.example"]);
    expect(config.providers.openai?.api_key).toBe("sk-1");
  });
});

describe("${VAR} interpolation (item 59)", () => {
  test("replaced in any string value, several per string, nested too", () => {
    const yaml = [
      "master_key: ${MK}",
      "database_url: postgresql://${DB_USER}:${DB_PASS}@db:5432/gw",
      "port: ${PORT}",
      "providers:",
      "  openai:",
      "    api_key: ${OPENAI_KEY}",
      "cors_allow_origins: ['https://${HOST}']",
    ].join("\n");
    const { config } = load(
      { "config.yml": yaml },
      { env: { MK: "m-1", DB_USER: "u", DB_PASS: "p", PORT: "8123", OPENAI_KEY: "sk-x", HOST: "h.example" } },
    );
    expect(config.master_key).toBe("m-1");
    expect(config.database_url).toBe("postgresql://u:p@db:5432/gw");
    expect(config.port).toBe(8123);
    expect(config.providers.openai?.api_key).toBe("sk-x");
    expect(config.cors_allow_origins).toEqual(["https://h.example"]);
  });

  test("an unset variable fails start-up naming it", () => {
    const err = loadError({ "config.yml": "master_key: ${NOT_SET_ANYWHERE}\n" });
    expect(err.message).toBe(
      "Environment variable 'NOT_SET_ANYWHERE' is not set (referenced in config as '${NOT_SET_ANYWHERE}')",
    );
  });

  test("an empty variable is set (replaced by the empty string)", () => {
    expect(load({ "config.yml": "host: '${EMPTY}'\n" }, { env: { EMPTY: "" } }).config.host).toBe("");
  });
});

describe(".env files (item 59)", () => {
  test(".env next to the config file is loaded and never overrides an existing env var", () => {
    const files = {
      "conf/config.yml": "master_key: ${MK}\nport: ${PORT}\n",
      "conf/.env": "MK=from-dotenv\nPORT=8200\n",
    };
    expect(load(files, { configPath: "conf/config.yml" }).config).toMatchObject({
      master_key: "from-dotenv",
      port: 8200,
    });
    expect(load(files, { configPath: "conf/config.yml", env: { MK: "from-env" } }).config).toMatchObject({
      master_key: "from-env",
      port: 8200,
    });
  });

  test("./.env is loaded too, after the config dir's .env (which wins)", () => {
    const files = {
      "conf/config.yml": "host: ${H}\n",
      "conf/.env": "H=conf-host\n",
      ".env": "H=cwd-host\nOTARI_PORT=8300\n",
    };
    const { config } = load(files, { configPath: "conf/config.yml" });
    expect(config.host).toBe("conf-host");
    expect(config.port).toBe(8300);
  });

  test(".env sets OTARI_ variables without a config file; quotes, export and comments are handled", () => {
    const { config } = load({
      ".env":
        "# comment\nexport OTARI_MASTER_KEY='quoted key'\nOTARI_PORT=8400 # trailing\nGATEWAY_HOST=\"127.0.0.1\"\n",
    });
    expect(config).toMatchObject({ master_key: "quoted key", port: 8400, host: "127.0.0.1" });
  });

  test("a real env var beats .env", () => {
    expect(load({ ".env": "OTARI_PORT=8400\n" }, { env: { OTARI_PORT: "8500" } }).config.port).toBe(8500);
  });
});

describe("validation of the file", () => {
  test("an unknown key is a warning naming it, not an error", () => {
    const { config, warnings } = load({ "config.yml": "port: 8001\nnot_a_key: 1\n" });
    expect(config.port).toBe(8001);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("not_a_key");
  });

  test("an unknown enum value stops start-up naming the key", () => {
    expect(loadError({ "config.yml": "log_writer_strategy: sometimes\n" }).message).toContain("log_writer_strategy");
    expect(loadError({ "config.yml": "budget_strategy: yolo\n" }).message).toContain("budget_strategy");
    expect(loadError({ "config.yml": "log_format: xml\n" }).message).toContain("log_format");
    expect(loadError({ "config.yml": "log_level: loud\n" }).message).toContain("log_level");
    expect(loadError({}, { env: { OTARI_MODE: "hybrid" } }).message).toContain("mode");
  });

  test("enum spellings that are accepted: warn -> warning, mode case-insensitive", () => {
    expect(load({ "config.yml": "log_level: warn\n" }).config.log_level).toBe("warning");
    expect(load({}, { env: { GATEWAY_LOG_LEVEL: "DEBUG" } }).config.log_level).toBe("debug");
    expect(load({}, { env: { GATEWAY_MODE: "Standalone" } }).config.mode).toBe("standalone");
  });

  test("a wrong type stops start-up naming the key", () => {
    expect(loadError({ "config.yml": "port: eighty\n" }).message).toContain("port");
    expect(loadError({ "config.yml": "port: [1]\n" }).message).toContain("port");
    expect(loadError({ "config.yml": "enable_docs: 'maybe'\n" }).message).toContain("enable_docs");
    expect(loadError({ "config.yml": "cors_allow_origins: https://a\n" }).message).toContain("cors_allow_origins");
    expect(loadError({ "config.yml": "rate_limit_rpm: 0\n" }).message).toContain("rate_limit_rpm");
  });

  test("negative config prices fail start-up (item 22); zero is accepted", () => {
    const err = loadError({
      "config.yml": "pricing:\n  openai:gpt-4o:\n    input_price_per_million: -1\n    output_price_per_million: 1\n",
    });
    expect(err.message).toContain("input_price_per_million");
    const ok = load({
      "config.yml": "pricing:\n  openai:gpt-4o:\n    input_price_per_million: 0\n    output_price_per_million: 0\n",
    });
    expect(ok.config.pricing["openai:gpt-4o"]).toMatchObject({
      input_price_per_million: 0,
      output_price_per_million: 0,
    });
  });

  test("unparseable YAML or a non-mapping top level fails start-up", () => {
    expect(loadError({ "config.yml": "port: [unclosed\n" }).message).toContain("config.yml");
    expect(loadError({ "config.yml": "- a\n- b\n" }).message).toContain("mapping");
    expect(load({ "config.yml": "" }).config.port).toBe(8000);
  });
});

describe("environment-only settings", () => {
  test("OTARI_ wins over GATEWAY_; platform token precedence", () => {
    const { config } = load(
      {},
      {
        env: {
          OTARI_SANDBOX_URL: "http://otari/",
          GATEWAY_SANDBOX_URL: "http://gateway",
          OTARI_PLATFORM_TOKEN: "legacy",
          ANY_LLM_PLATFORM_TOKEN: "older",
          OTARI_AI_TOKEN: "new",
        },
      },
    );
    expect(config.envSettings.sandboxUrl).toBe("http://otari");
    expect(config.envSettings.platformToken).toBe("new");
    expect(
      load({}, { env: { ANY_LLM_PLATFORM_TOKEN: "older", OTARI_PLATFORM_TOKEN: "legacy" } }).config.envSettings
        .platformToken,
    ).toBe("legacy");
    expect(loadError({}, { env: { GATEWAY_WEB_SEARCH_ALLOW_PRIVATE_HOSTS: "perhaps" } }).message).toContain(
      "GATEWAY_WEB_SEARCH_ALLOW_PRIVATE_HOSTS",
    );
  });

  test("sandbox queue timeout follows the call timeout unless set; confinement is required unless turned off", () => {
    const defaults = load({}).config.envSettings;
    expect(defaults).toMatchObject({ sandboxTimeoutS: 30, sandboxQueueTimeoutS: 30, sandboxRequireConfinement: true });
    expect(load({}, { env: { GATEWAY_SANDBOX_TIMEOUT_S: "12" } }).config.envSettings.sandboxQueueTimeoutS).toBe(12);
    const set = load(
      {},
      { env: { GATEWAY_SANDBOX_QUEUE_TIMEOUT_S: "5", GATEWAY_SANDBOX_REQUIRE_CONFINEMENT: "false" } },
    ).config.envSettings;
    expect(set).toMatchObject({ sandboxTimeoutS: 30, sandboxQueueTimeoutS: 5, sandboxRequireConfinement: false });
    expect(loadError({}, { env: { GATEWAY_SANDBOX_QUEUE_TIMEOUT_S: "0" } }).message).toContain(
      "GATEWAY_SANDBOX_QUEUE_TIMEOUT_S",
    );
  });

  test("platform env knobs override platform.* keys", () => {
    const { config } = load(
      { "config.yml": "platform:\n  base_url: http://yaml\n  resolve_timeout_ms: 100\n" },
      { env: { PLATFORM_BASE_URL: "http://env", PLATFORM_RESOLVE_TIMEOUT_MS: "250" } },
    );
    expect(config.platform.base_url).toBe("http://env");
    expect(config.platform.resolve_timeout_ms).toBe(250);
  });
});

describe("otari's config files start unmodified", () => {
  test("a section holding only comments (YAML null) reads as empty: maps, lists and named sections", () => {
    const yaml = [
      "providers:",
      "  openai:",
      "    api_key: sk-1",
      "    client_args:",
      "    #   timeout: 60",
      "  anthropic:",
      "  # api_key: later",
      "pricing:",
      "  # openai:gpt-5:",
      "  #   input_price_per_million: 0.25",
      "cors_allow_origins:",
      "aliases:",
      "routing:",
      "platform:",
      "sandbox:",
    ].join("\n");
    const { config, warnings } = load({ "config.yml": yaml });
    expect(warnings).toEqual([]);
    expect(config.pricing).toEqual({});
    expect(config.cors_allow_origins).toEqual([]);
    expect(config.aliases).toEqual({});
    expect(config.routing).toEqual({ retries: 2, deadline_ms: 60000, cooldown_seconds: 30 });
    expect(config.platform.resolve_timeout_ms).toBe(5000);
    expect(config.sandbox.embedded).toBe(true);
    expect(config.providers).toEqual({ openai: { api_key: "sk-1" }, anthropic: {} });
  });

  test("a null where a value is required still stops start-up naming the key", () => {
    expect(loadError({ "config.yml": "pricing:\n  openai:gpt-4o:\n" }).message).toContain(
      "pricing.openai:gpt-4o.input_price_per_million",
    );
    expect(loadError({ "config.yml": "port:\n" }).message).toContain("port");
  });

  test("every key otari's config accepted at the baseline is read, with no warning", () => {
    const yaml = [
      "database_url: postgresql+asyncpg://u:p@db:5432/gw",
      "auto_migrate: false",
      "db_pool_size: 3",
      "db_max_overflow: 4",
      "db_pool_timeout: 5.5",
      "db_pool_recycle: 600",
      "host: 127.0.0.1",
      "port: 8111",
      "master_key: mk",
      "rate_limit_rpm: 60",
      "cors_allow_origins: ['https://app.example']",
      "providers:",
      "  openai:",
      "    api_key: sk-1",
      "    api_base: https://api.openai.com/v1",
      "    client_args: {custom_headers: {X-Team: a}, timeout: 60}",
      "  vertexai: {credentials: /app/sa.json, project: p, location: us-central1}",
      "pricing:",
      "  openai:gpt-4o: {input_price_per_million: 2.5, output_price_per_million: 10, effective_at: '2025-01-01T00:00:00Z'}",
      "enable_metrics: true",
      "enable_docs: false",
      "bootstrap_api_key: false",
      "log_writer_strategy: single",
      "budget_strategy: cas",
      "model_discovery: false",
      "model_cache_ttl_seconds: 0",
      "mode: standalone",
      "platform:",
      "  base_url: https://platform.example/api/v1",
      "  resolve_timeout_ms: 100",
      "  usage_timeout_ms: 200",
      "  usage_max_retries: 4",
      "  streaming_first_chunk_timeout_ms: 300",
    ].join("\n");
    const { config, warnings } = load({ "config.yml": yaml });
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      database_url: "postgresql+asyncpg://u:p@db:5432/gw",
      auto_migrate: false,
      db_pool_size: 3,
      db_max_overflow: 4,
      db_pool_timeout: 5.5,
      db_pool_recycle: 600,
      host: "127.0.0.1",
      port: 8111,
      master_key: "mk",
      rate_limit_rpm: 60,
      cors_allow_origins: ["https://app.example"],
      enable_metrics: true,
      enable_docs: false,
      bootstrap_api_key: false,
      log_writer_strategy: "single",
      budget_strategy: "cas",
      model_discovery: false,
      model_cache_ttl_seconds: 0,
      mode: "standalone",
      platform: {
        base_url: "https://platform.example/api/v1",
        resolve_timeout_ms: 100,
        usage_timeout_ms: 200,
        usage_max_retries: 4,
        streaming_first_chunk_timeout_ms: 300,
      },
    });
    expect(config.providers.openai).toMatchObject({
      api_key: "sk-1",
      client_args: { custom_headers: { "X-Team": "a" }, timeout: 60 },
    });
    expect(config.providers.vertexai).toMatchObject({
      credentials: "/app/sa.json",
      project: "p",
      location: "us-central1",
    });
    expect(config.pricing["openai:gpt-4o"]).toMatchObject({
      input_price_per_million: 2.5,
      output_price_per_million: 10,
    });
  });

  test("otari's documented environment variables set what they name", () => {
    const env = {
      OTARI_MASTER_KEY: "mk-otari",
      OTARI_DATABASE_URL: "sqlite:///otari.db",
      OTARI_HOST: "127.0.0.2",
      OTARI_PORT: "8123",
      OTARI_AUTO_MIGRATE: "false",
      OTARI_BOOTSTRAP_API_KEY: "false",
      GATEWAY_DB_POOL_SIZE: "7",
      GATEWAY_DB_MAX_OVERFLOW: "1",
      GATEWAY_DB_POOL_TIMEOUT: "2.5",
      GATEWAY_DB_POOL_RECYCLE: "30",
      GATEWAY_RATE_LIMIT_RPM: "90",
      GATEWAY_ENABLE_METRICS: "true",
      GATEWAY_ENABLE_DOCS: "false",
      GATEWAY_LOG_WRITER_STRATEGY: "single",
      GATEWAY_BUDGET_STRATEGY: "disabled",
      GATEWAY_MODEL_DISCOVERY: "false",
      GATEWAY_MODEL_CACHE_TTL_SECONDS: "60",
      GATEWAY_MODE: "standalone",
      GATEWAY_SANDBOX_URL: "http://sandbox:8080/",
      GATEWAY_SANDBOX_PURPOSE_HINT: "numbers",
      GATEWAY_WEB_SEARCH_URL: "http://searxng:8080",
      GATEWAY_WEB_SEARCH_ENGINES: "duckduckgo",
      GATEWAY_WEB_SEARCH_MAX_RESULTS: "3",
      GATEWAY_WEB_SEARCH_EXTRACT: "false",
      GATEWAY_WEB_SEARCH_PURPOSE_HINT: "news",
      GATEWAY_WEB_SEARCH_ALLOW_PRIVATE_HOSTS: "true",
      GATEWAY_TOOLS_HEADER: "Tools:",
      GATEWAY_MCP_ALLOW_LOOPBACK: "false",
      GATEWAY_MCP_ALLOW_PRIVATE_HOSTS: "true",
      OPENAI_API_KEY: "sk-env",
    };
    const { config, warnings } = load({}, { env });
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      master_key: "mk-otari",
      database_url: "sqlite:///otari.db",
      host: "127.0.0.2",
      port: 8123,
      auto_migrate: false,
      bootstrap_api_key: false,
      db_pool_size: 7,
      db_max_overflow: 1,
      db_pool_timeout: 2.5,
      db_pool_recycle: 30,
      rate_limit_rpm: 90,
      enable_metrics: true,
      enable_docs: false,
      log_writer_strategy: "single",
      budget_strategy: "disabled",
      model_discovery: false,
      model_cache_ttl_seconds: 60,
      mode: "standalone",
    });
    expect(config.envSettings).toMatchObject({
      sandboxUrl: "http://sandbox:8080",
      sandboxPurposeHint: "numbers",
      webSearchUrl: "http://searxng:8080",
      webSearchEngines: "duckduckgo",
      webSearchMaxResults: "3",
      webSearchExtract: "false",
      webSearchPurposeHint: "news",
      webSearchAllowPrivateHosts: true,
      toolsHeader: "Tools:",
      mcpAllowLoopback: false,
      mcpAllowPrivateHosts: true,
    });
    expect(config.env.OPENAI_API_KEY).toBe("sk-env");
    // The GATEWAY_ spellings of otari's six OTARI_ variables, and DATABASE_URL (serve --database-url's variable).
    const gateway = load(
      {},
      {
        env: {
          GATEWAY_MASTER_KEY: "g",
          GATEWAY_DATABASE_URL: "sqlite:///g.db",
          GATEWAY_HOST: "::1",
          GATEWAY_PORT: "1",
          GATEWAY_AUTO_MIGRATE: "0",
          GATEWAY_BOOTSTRAP_API_KEY: "off",
        },
      },
    ).config;
    expect(gateway).toMatchObject({
      master_key: "g",
      database_url: "sqlite:///g.db",
      host: "::1",
      port: 1,
      auto_migrate: false,
      bootstrap_api_key: false,
    });
    expect(load({}, { env: { DATABASE_URL: "postgresql://d" } }).config.database_url).toBe("postgresql://d");
  });

  test("otari's platform variables: the token spellings and PLATFORM_* knobs", () => {
    const env = {
      ANY_LLM_PLATFORM_TOKEN: "legacy-token",
      PLATFORM_BASE_URL: "http://platform.example/api/v1",
      PLATFORM_RESOLVE_TIMEOUT_MS: "111",
      PLATFORM_USAGE_TIMEOUT_MS: "222",
      PLATFORM_USAGE_MAX_RETRIES: "5",
      STREAMING_FALLBACK_FIRST_CHUNK_TIMEOUT_MS: "333",
    };
    const { config, warnings } = load({}, { env });
    expect(warnings).toEqual([]);
    expect(config.mode).toBe("platform");
    expect(config.envSettings.platformToken).toBe("legacy-token");
    expect(config.platform).toMatchObject({
      base_url: "http://platform.example/api/v1",
      resolve_timeout_ms: 111,
      usage_timeout_ms: 222,
      usage_max_retries: 5,
      streaming_first_chunk_timeout_ms: 333,
    });
    expect(load({}, { env: { OTARI_PLATFORM_TOKEN: "t" } }).config.envSettings.platformToken).toBe("t");
    expect(load({}, { env: { OTARI_AI_TOKEN: "t2" } }).config.mode).toBe("platform");
  });

  test("a map or list given as an environment variable (otari read them as JSON) is ignored with one warning naming it", () => {
    const { config, warnings } = load(
      {},
      { env: { GATEWAY_PROVIDERS: '{"openai": {"api_key": "sk"}}', OTARI_CORS_ALLOW_ORIGINS: '["*"]' } },
    );
    expect(config.providers).toEqual({});
    expect(warnings).toHaveLength(2);
    expect(warnings.find((w) => w.includes("'GATEWAY_PROVIDERS'"))).toContain("'providers'");
    expect(warnings.find((w) => w.includes("'OTARI_CORS_ALLOW_ORIGINS'"))).toContain("'cors_allow_origins'");
  });
});
