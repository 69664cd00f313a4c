/**
 * The CLI's one error boundary: commands throw typed errors, this prints them (the error envelope on stderr with
 * --json, a readable line otherwise) and picks the exit code: 0 ok, 1 operational error, 2 bad usage
 * (docs/behaviour/errors.md#in-the-cli).
 */
import { ZodError, type z } from "zod";
import { ConfigError, type Config, loadConfig } from "../config/load";
import { GatewayError } from "../core/errors";
import { openStore, type Store } from "../db/client";
import { errorBody, issuesToValidation } from "../http/errors";
import { providerChecker } from "../gateway";
import { createServices, type Services } from "../services";
import { createMasterKey, storedMasterKeyHash } from "../services/master-key";
import { sha256Hex } from "../runtime/crypto";

/** Bad command-line usage: exit code 2. */
export class UsageError extends Error {}

export interface CommonFlags {
  config?: string;
  "database-url"?: string;
  json?: boolean;
}

export function loadCliConfig(flags: CommonFlags, extra: Partial<Record<keyof Config, unknown>> = {}): Config {
  return loadConfig({ configPath: flags.config ?? null, flags: { database_url: flags["database-url"], ...extra } });
}

export interface CliRuntime {
  config: Config;
  store: Store;
  services: Services;
}

/** Opens the configured database and the same services the HTTP API uses. */
export async function openRuntime(flags: CommonFlags): Promise<CliRuntime> {
  const config = loadCliConfig(flags);
  const store = openStore(config.database_url, {
    poolSize: 2,
    maxOverflow: 0,
    poolTimeoutSeconds: config.db_pool_timeout,
    poolRecycleSeconds: config.db_pool_recycle,
  });
  const stored = config.master_key ? sha256Hex(config.master_key) : await storedMasterKeyHash(store).catch(() => null);
  const services = createServices({
    store,
    masterKey: createMasterKey(stored),
    isKnownProvider: providerChecker(config),
    rateLimits: config.rate_limits,
  });
  return { config, store, services };
}

/** Validates CLI input with the same zod schema as the HTTP route (a 422-style error, exit 1). */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw result.error;
  return result.data;
}

/**
 * Runs a command body and prints its result; never returns on failure. `json` picks what --json prints when it is
 * not the whole result (the HTTP twin's body).
 */
export async function runCommand<T>(
  flags: CommonFlags,
  body: (rt: CliRuntime) => Promise<T>,
  human: (result: T) => void,
  json: (result: T) => unknown = (r) => r,
): Promise<void> {
  let rt: CliRuntime | null = null;
  try {
    rt = await openRuntime(flags);
    const result = await body(rt);
    if (flags.json) process.stdout.write(`${JSON.stringify(json(result), null, 2)}\n`);
    else human(result);
    await rt.store.close();
  } catch (err) {
    await rt?.store.close().catch(() => undefined);
    fail(err, flags.json ?? false);
  }
}

/**
 * consola's main entry inspects the terminal when imported (node:tty and the stream modules, ~2 MB): this module is
 * on `serve`'s path, which only needs it to report a failure, so it is required then.
 */
export const printError = (message: string): void =>
  (require("consola") as typeof import("consola")).consola.error(message);

export function fail(err: unknown, json: boolean): never {
  if (err instanceof ZodError) err = issuesToValidation("args", err.issues);
  if (err instanceof GatewayError) {
    if (json) process.stderr.write(`${JSON.stringify(errorBody(err, false))}\n`);
    else printError(err.status === 422 && Array.isArray(err.detail) ? `Invalid input: ${err.message}` : err.message);
    process.exit(1);
  }
  if (err instanceof UsageError) {
    printError(err.message);
    process.exit(2);
  }
  if (err instanceof ConfigError) {
    printError(err.message);
    process.exit(1);
  }
  printError(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
