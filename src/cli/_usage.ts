/**
 * Strict usage checking (bad usage exits 2: docs/cli.md#common-flags-and-exit-codes). citty ignores unknown flags and
 * reports a missing or unknown subcommand as an ordinary failure (exit 1), so the root command's `setup` walks the
 * command tree over argv first and stops with exit 2 on: an unknown or missing subcommand, an unknown flag, a flag
 * without its value (unless its value hint ends in `?`), `--no-x` on a non-boolean, and missing or extra positional
 * arguments. Number parsing helpers for flags live here too.
 */
import { type ArgDef, type ArgsDef, type CommandDef, type Resolvable, showUsage } from "citty";
import { fail, printError, UsageError } from "./_run";

type CommandShape = CommandDef<ArgsDef>;

async function resolve<T>(value: Resolvable<T> | undefined): Promise<T | undefined> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;
}

const kebab = (name: string) =>
  name
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/_/g, "-")
    .toLowerCase();

function findFlag(defs: ArgsDef, name: string): ArgDef | undefined {
  const wanted = kebab(name);
  for (const [key, def] of Object.entries(defs)) {
    if (def.type === "positional") continue;
    const alias = "alias" in def ? def.alias : undefined;
    const aliases = alias === undefined ? [] : Array.isArray(alias) ? alias : [alias];
    if (kebab(key) === wanted || aliases.includes(name)) return def;
  }
  return undefined;
}

const takesValue = (def: ArgDef) => def.type === "string" || def.type === "enum";

/** Checks one flag token; returns how many extra tokens it consumed (its value). */
function checkFlag(defs: ArgsDef, tokens: readonly string[], i: number, seen?: Set<ArgDef>): number {
  const token = tokens[i]!;
  const body = token.replace(/^--?/, "");
  const eq = body.indexOf("=");
  const name = eq >= 0 ? body.slice(0, eq) : body;
  let def = findFlag(defs, name);
  if (!def && name.startsWith("no-")) {
    def = findFlag(defs, name.slice(3));
    if (def && def.type !== "boolean")
      throw new UsageError(`Option --${name.slice(3)} takes a value and cannot be negated`);
    if (def) {
      seen?.add(def);
      return 0;
    }
  }
  if (!def) throw new UsageError(`Unknown option: ${token.split("=")[0]}`);
  seen?.add(def);
  if (!takesValue(def) || eq >= 0) return 0;
  // citty (node:util parseArgs) takes the next token as the value, whatever it looks like.
  if (i + 1 >= tokens.length) {
    // A value hint ending in `?` (`--write=<PATH?>`) marks a value that may be left out.
    if ("valueHint" in def && def.valueHint?.endsWith("?")) return 0;
    throw new UsageError(`Option ${token} needs a value`);
  }
  return 1;
}

/** Validates argv against the command tree; returns the command whose usage to show and the error, or null. */
export async function findUsageError(
  root: CommandShape,
  rawArgs: readonly string[],
): Promise<{ cmd: CommandShape; parent?: CommandShape; error: UsageError } | null> {
  let cmd = root;
  let parent: CommandShape | undefined;
  let tokens = rawArgs;
  for (;;) {
    const defs = (await resolve(cmd.args)) ?? {};
    const subs = await resolve(cmd.subCommands);
    try {
      if (subs && Object.keys(subs).length > 0) {
        let i = 0;
        for (; i < tokens.length; i++) {
          const token = tokens[i]!;
          if (token === "--" || !token.startsWith("-") || token === "-") break;
          i += checkFlag(defs, tokens, i);
        }
        const name = tokens[i];
        if (name === undefined || name === "--") {
          if (cmd.run) return null;
          // A group with a default subcommand runs it with the same arguments (citty does the same).
          const fallback = await resolve(cmd.default);
          if (fallback && subs[fallback]) {
            parent = cmd;
            cmd = (await resolve(subs[fallback])) as CommandShape;
            continue;
          }
          throw new UsageError(`No command specified. Choose one of: ${Object.keys(subs).join(", ")}`);
        }
        const sub = subs[name];
        if (!sub) throw new UsageError(`Unknown command '${name}'. Choose one of: ${Object.keys(subs).join(", ")}`);
        parent = cmd;
        cmd = (await resolve(sub)) as CommandShape;
        tokens = tokens.slice(i + 1);
        continue;
      }
      const positionals = Object.entries(defs).filter(([, def]) => def.type === "positional");
      const given: string[] = [];
      const seen = new Set<ArgDef>();
      for (let i = 0; i < tokens.length; i++) {
        const token = tokens[i]!;
        if (token === "--") {
          given.push(...tokens.slice(i + 1));
          break;
        }
        if (token.startsWith("-") && token !== "-" && !/^-\d/.test(token)) i += checkFlag(defs, tokens, i, seen);
        else given.push(token);
      }
      const missing = positionals
        .slice(given.length)
        .find(([, def]) => def.required !== false && def.default === undefined);
      if (missing) throw new UsageError(`Missing required argument: ${missing[0].toUpperCase()}`);
      const option = Object.entries(defs).find(
        ([, def]) => def.type !== "positional" && def.required && def.default === undefined && !seen.has(def),
      );
      if (option) throw new UsageError(`Missing required option: --${option[0]}`);
      if (given.length > positionals.length) throw new UsageError(`Unexpected argument: ${given[positionals.length]}`);
      return null;
    } catch (err) {
      if (err instanceof UsageError) return { cmd, parent, error: err };
      throw err;
    }
  }
}

/** Root `setup` hook: on bad usage prints the usage and the error, exits 2. */
export async function enforceUsage(root: CommandShape, rawArgs: readonly string[]): Promise<void> {
  const found = await findUsageError(root, rawArgs);
  if (!found) return;
  await showUsage(found.cmd, found.parent).catch(() => undefined);
  printError(found.error.message);
  process.exit(2);
}

/** A non-negative integer flag (`--skip`, `--limit`, `--rpm`): anything else is bad usage (exit 2). */
export function intFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\s*-?\d+\s*$/.test(value)) throw new UsageError(`--${name} must be an integer, got '${value}'`);
  return Number(value);
}

/** A number flag (`--max-budget`, `--input`): anything non-numeric is bad usage (exit 2). */
export function numberFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got '${value}'`);
  return n;
}

/** A JSON object flag (`--metadata`). */
export function jsonFlag(name: string, value: string | undefined): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    throw new UsageError(`--${name} must be valid JSON, got '${value}'`);
  }
}

/** Reads `--skip`/`--limit` as numbers (validated for range by the route's own schema). */
export function pageFlags(args: { skip?: string; limit?: string }): {
  skip: number | undefined;
  limit: number | undefined;
} {
  return { skip: intFlag("skip", args.skip), limit: intFlag("limit", args.limit) };
}

/** Runs flag parsing before the database is opened; a bad flag exits 2 (or 1 for validation) via the CLI's one error path. */
export function parseFlags<T>(flags: { json?: boolean }, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    fail(err, flags.json ?? false);
  }
}
