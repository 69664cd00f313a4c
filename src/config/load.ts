/**
 * Loads the gateway's configuration (docs/configuration.md#sources-and-precedence): .env files, then the YAML file with
 * ${VAR} interpolation, then GATEWAY_ and OTARI_ env vars (OTARI_ wins), then CLI flags; validated once by the zod
 * schema and frozen. This is the only module that reads process.env.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { z } from "zod";
import { configSchema, type FileConfig, type InputShape, inputShape, SCALAR_KEYS, STANDARD_ENV } from "./schema";

export type Env = Readonly<Record<string, string | undefined>>;

/** Settings read only from the environment (docs/configuration.md#environment-only-variables), resolved once here. */
export interface EnvSettings {
  platformToken: string | null;
  sandboxUrl: string | null;
  sandboxPurposeHint: string | null;
  sandboxEmbedded: boolean;
  sandboxTimeoutS: number;
  sandboxMemoryMb: number;
  /** How long one sandbox call waits for a free worker; defaults to sandboxTimeoutS. */
  sandboxQueueTimeoutS: number;
  /** Refuse to run code where the embedded sandbox's workers cannot confine themselves with seccomp. */
  sandboxRequireConfinement: boolean;
  webSearchUrl: string | null;
  webSearchEngines: string | null;
  webSearchMaxResults: string | null;
  webSearchExtract: string | null;
  webSearchPurposeHint: string | null;
  webSearchAllowPrivateHosts: boolean;
  toolsHeader: string | null;
  mcpAllowLoopback: boolean;
  mcpAllowPrivateHosts: boolean;
}

export interface Config extends FileConfig {
  /** Path of the YAML file that was read, if any. */
  readonly configPath: string | null;
  readonly envSettings: EnvSettings;
  /**
   * Snapshot of the environment, for provider credential fallbacks
   * (docs/behaviour/providers.md#credentials-from-the-environment).
   */
  readonly env: Env;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export interface LoadOptions {
  /** `--config` */
  configPath?: string | null;
  /** CLI flags by config key (`--port` -> `port`), already typed by the CLI parser. */
  flags?: Partial<Record<keyof FileConfig, unknown>>;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Where unknown-key warnings go. */
  warn?: (message: string) => void;
}

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off"]);

function parseBool(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new ConfigError(`Invalid value for ${name}: '${raw}' is not a boolean (use true/false, 1/0, yes/no, on/off)`);
}

/** Parses a `.env` file: KEY=VALUE lines, optional `export `, quotes stripped; never overrides what is set. */
function loadDotEnv(path: string, env: Record<string, string | undefined>): void {
  if (!existsSync(path)) return;
  for (const line of readFileSync(path, "utf8").split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (!m?.[1]) continue;
    let value = m[2] ?? "";
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    else value = value.replace(/\s+#.*$/, "");
    if (env[m[1]] === undefined) env[m[1]] = value;
  }
}

function interpolate(value: unknown, env: Env): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const v = env[name];
      if (v === undefined)
        throw new ConfigError(`Environment variable '${name}' is not set (referenced in config as '\${${name}}')`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)]));
  }
  return value;
}

/** What shape each YAML position takes (built with the first config file read). */
let shape: InputShape | null = null;
const configShape = (): InputShape => {
  shape ??= inputShape(configSchema);
  return shape;
};

/** A map or list position that does not take null: where YAML's empty section (only comments under it) lands. */
function emptyKind(node: InputShape | undefined): "map" | "list" | null {
  return node?.type === "object" ? "map" : node?.type === "array" ? "list" : null;
}

/**
 * YAML reads a section holding only comments (`pricing:` above commented-out entries, as otari's example config
 * ships it) as null: such a section reads as empty, at any depth. A named section (`routing:`) is dropped so its
 * defaults apply; an entry of a map (`providers: {openai: }`) becomes an empty map or list.
 */
function emptyNullSections(value: unknown, node: InputShape): unknown {
  if (Array.isArray(value))
    return node.items ? value.map((v) => emptyNullSections(v, node.items as InputShape)) : value;
  if (!value || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const named = node.properties?.[key];
    const child = named ?? node.additionalProperties;
    const kind = v === null ? emptyKind(child) : null;
    if (kind && named) continue;
    out[key] = kind === "map" ? {} : kind === "list" ? [] : child ? emptyNullSections(v, child) : v;
  }
  return out;
}

function firstSet(env: Env, names: string[]): [string, string] | null {
  for (const name of names) {
    const v = env[name];
    if (v !== undefined && v !== "") return [name, v];
  }
  return null;
}

function coerceScalar(key: string, name: string, raw: string): unknown {
  const kind = SCALAR_KEYS[key];
  if (kind === "boolean") return parseBool(name, raw);
  if (kind === "number") {
    const n = Number(raw.trim());
    if (raw.trim() === "" || !Number.isFinite(n))
      throw new ConfigError(`Invalid value for ${name}: '${raw}' is not a number`);
    return n;
  }
  return raw;
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const key = issue.path.join(".") || "(root)";
      return `  ${key}: ${issue.message}`;
    })
    .join("\n");
}

function readEnvSettings(env: Env): EnvSettings {
  // OTARI_<suffix> wins over GATEWAY_<suffix> (docs/configuration.md#environment-only-variables).
  const str = (suffix: string): string | null => firstSet(env, [`OTARI_${suffix}`, `GATEWAY_${suffix}`])?.[1] ?? null;
  const bool = (suffix: string, fallback: boolean): boolean => {
    const hit = firstSet(env, [`OTARI_${suffix}`, `GATEWAY_${suffix}`]);
    return hit ? parseBool(hit[0], hit[1]) : fallback;
  };
  const num = (suffix: string, fallback: number): number => {
    const hit = firstSet(env, [`OTARI_${suffix}`, `GATEWAY_${suffix}`]);
    if (!hit) return fallback;
    const n = Number(hit[1]);
    if (!Number.isFinite(n) || n <= 0)
      throw new ConfigError(`Invalid value for ${hit[0]}: '${hit[1]}' is not a positive number`);
    return n;
  };
  const sandboxTimeoutS = num("SANDBOX_TIMEOUT_S", 30);
  return {
    platformToken:
      firstSet(env, ["OTARI_AI_TOKEN", "OTARI_PLATFORM_TOKEN", "ANY_LLM_PLATFORM_TOKEN"])?.[1]?.trim() || null,
    sandboxUrl: str("SANDBOX_URL")?.replace(/\/+$/, "") || null,
    sandboxPurposeHint: str("SANDBOX_PURPOSE_HINT"),
    sandboxEmbedded: bool("SANDBOX_EMBEDDED", true),
    sandboxTimeoutS,
    sandboxMemoryMb: num("SANDBOX_MEMORY_MB", 256),
    sandboxQueueTimeoutS: num("SANDBOX_QUEUE_TIMEOUT_S", sandboxTimeoutS),
    sandboxRequireConfinement: bool("SANDBOX_REQUIRE_CONFINEMENT", true),
    webSearchUrl: str("WEB_SEARCH_URL")?.replace(/\/+$/, "") || null,
    webSearchEngines: str("WEB_SEARCH_ENGINES"),
    webSearchMaxResults: str("WEB_SEARCH_MAX_RESULTS"),
    webSearchExtract: str("WEB_SEARCH_EXTRACT"),
    webSearchPurposeHint: str("WEB_SEARCH_PURPOSE_HINT"),
    webSearchAllowPrivateHosts: bool("WEB_SEARCH_ALLOW_PRIVATE_HOSTS", false),
    toolsHeader: str("TOOLS_HEADER"),
    mcpAllowLoopback: bool("MCP_ALLOW_LOOPBACK", true),
    mcpAllowPrivateHosts: bool("MCP_ALLOW_PRIVATE_HOSTS", false),
  };
}

/** Which file: --config > OTARI_CONFIG > GATEWAY_CONFIG > ./config.yml if it exists > none. */
function pickConfigFile(opts: LoadOptions, env: Env, cwd: string): string | null {
  const explicit = opts.configPath ?? firstSet(env, ["OTARI_CONFIG", "GATEWAY_CONFIG"])?.[1] ?? null;
  if (explicit) {
    const path = resolve(cwd, explicit);
    if (!existsSync(path)) throw new ConfigError(`Config file not found: ${explicit}`);
    return path;
  }
  const fallback = resolve(cwd, "config.yml");
  return existsSync(fallback) ? fallback : null;
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const cwd = opts.cwd ?? process.cwd();
  const env: Record<string, string | undefined> = { ...(opts.env ?? process.env) };
  const warn = opts.warn ?? ((m: string) => console.warn(m));

  const preliminary = pickConfigFile(opts, env, cwd);
  if (preliminary) loadDotEnv(resolve(dirname(preliminary), ".env"), env);
  if (!preliminary || resolve(dirname(preliminary)) !== resolve(cwd)) loadDotEnv(resolve(cwd, ".env"), env);
  // .env may itself name the config file.
  const configPath = preliminary ?? pickConfigFile(opts, env, cwd);

  let raw: Record<string, unknown> = {};
  if (configPath) {
    let parsed: unknown;
    try {
      // Loaded only when there is a file to read: a start configured by env vars and flags never evaluates it.
      parsed = (require("yaml") as typeof import("yaml")).parse(readFileSync(configPath, "utf8"));
    } catch (err) {
      throw new ConfigError(`Cannot parse ${configPath}: ${(err as Error).message.split("\n")[0]}`);
    }
    if (parsed !== null && parsed !== undefined && (typeof parsed !== "object" || Array.isArray(parsed))) {
      throw new ConfigError(`${configPath}: the top level must be a mapping of config keys`);
    }
    raw = emptyNullSections(interpolate(parsed ?? {}, env), configShape()) as Record<string, unknown>;
    for (const [key, value] of Object.entries(raw)) {
      if (!(key in configSchema.shape)) warn(`Unknown config key '${key}' in ${configPath} is ignored`);
      // `port: ${PORT}` interpolates to a string: read it as the key's kind.
      else if (typeof value === "string" && SCALAR_KEYS[key] !== "string") raw[key] = coerceScalar(key, key, value);
    }
  }

  const merged: Record<string, unknown> = { ...raw };
  // otari's settings class read every field from GATEWAY_<FIELD>, maps and lists as JSON; here those come only
  // from the file, so such a variable would otherwise be dropped without a word.
  for (const key of Object.keys(configSchema.shape)) {
    if (key in SCALAR_KEYS) continue;
    for (const name of [`OTARI_${key.toUpperCase()}`, `GATEWAY_${key.toUpperCase()}`]) {
      if (env[name]) warn(`Environment variable '${name}' is ignored: '${key}' is read only from the config file`);
    }
  }
  for (const key of Object.keys(SCALAR_KEYS)) {
    const upper = key.toUpperCase();
    const names = [`OTARI_${upper}`, `GATEWAY_${upper}`, ...(STANDARD_ENV[key as keyof FileConfig] ?? [])];
    const hit = firstSet(env, names);
    if (hit) merged[key] = coerceScalar(key, hit[0], hit[1]);
  }
  // Platform env knobs override the matching platform.* keys (docs/configuration.md#environment-only-variables).
  const platformEnv: [string, string][] = [
    ["PLATFORM_BASE_URL", "base_url"],
    ["PLATFORM_RESOLVE_TIMEOUT_MS", "resolve_timeout_ms"],
    ["PLATFORM_USAGE_TIMEOUT_MS", "usage_timeout_ms"],
    ["PLATFORM_USAGE_MAX_RETRIES", "usage_max_retries"],
    ["STREAMING_FALLBACK_FIRST_CHUNK_TIMEOUT_MS", "streaming_first_chunk_timeout_ms"],
  ];
  for (const [name, key] of platformEnv) {
    const v = env[name];
    if (v === undefined || v === "") continue;
    const platform = { ...((merged.platform as Record<string, unknown> | undefined) ?? {}) };
    platform[key] = key === "base_url" ? v : coerceScalar("port", name, v);
    merged.platform = platform;
  }
  for (const [key, value] of Object.entries(opts.flags ?? {})) {
    if (value !== undefined && value !== null) merged[key] = value;
  }

  // Parsed once per process: zod's compiled fast path (code generated on an object schema's first parse) would
  // cost more than it saves.
  const result = configSchema.safeParse(merged, { jitless: true });
  if (!result.success) {
    throw new ConfigError(
      `Invalid configuration${configPath ? ` in ${configPath}` : ""}:\n${formatIssues(result.error)}`,
    );
  }
  const envSettings = readEnvSettings(env);
  const data = resolveMode(result.data, envSettings.platformToken);
  const config: Config = { ...data, configPath, envSettings, env: Object.freeze({ ...env }) };
  return Object.freeze(config);
}

/**
 * The platform's API when platform mode is on and `platform.base_url` is unset
 * (docs/behaviour/platform-mode.md#activation).
 */
export const DEFAULT_PLATFORM_BASE_URL = "https://api.otari.ai/api/v1";

/**
 * A platform token turns platform mode on (even with `mode: standalone`, as the baseline does);
 * `mode: platform` without one, or with local `providers`, stops start-up. Platform mode gets the default base URL
 * (docs/behaviour/platform-mode.md#activation).
 */
function resolveMode(data: FileConfig, token: string | null): FileConfig {
  if (!token) {
    if (data.mode === "platform") {
      throw new ConfigError(
        "GATEWAY_MODE=platform requires OTARI_AI_TOKEN to be set (legacy aliases: OTARI_PLATFORM_TOKEN, ANY_LLM_PLATFORM_TOKEN).",
      );
    }
    return data;
  }
  if (Object.keys(data.providers).length > 0) {
    throw new ConfigError(
      "Local provider credentials are not supported in platform mode. Remove configured providers.",
    );
  }
  return {
    ...data,
    mode: "platform",
    platform: { ...data.platform, base_url: data.platform.base_url || DEFAULT_PLATFORM_BASE_URL },
  };
}
