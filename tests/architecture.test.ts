/**
 * The house rules, run: which way the imports point. Every import of every file under src, tests and scripts is
 * parsed (tests/helpers/source-graph.ts) and checked against the tables below; a broken rule fails with the file, the
 * line, the import and the rule. The checker proves itself on planted violations (the last block).
 *
 *   main -> cli -> http -> services -> {providers, db, tools, metrics, telemetry} -> config -> runtime -> core
 *
 * `import type` counts like any import: a type import still ties a layer to the one it names. Privacy: a `_`-prefixed
 * file or folder under src is private to the folder holding it (its parent directory): only files in that directory
 * or below may import it; test code may also use `_mocks` and `_contract` (provider mocks, the contract suite) from
 * anywhere. tests/ keeps `_` for helper modules shared across its folders, which the rule leaves alone.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { type ImportTarget, importsOf, resolveImport, runtimeRefsOf } from "./helpers/source-graph";

type Layer =
  | "main"
  | "cli"
  | "client"
  | "ui"
  | "root"
  | "http"
  | "services"
  | "providers"
  | "db"
  | "tools"
  | "metrics"
  | "telemetry"
  | "config"
  | "runtime"
  | "core";

/** The layer of each folder under src. */
const FOLDERS: Record<string, Layer> = {
  cli: "cli",
  client: "client",
  ui: "ui",
  http: "http",
  services: "services",
  providers: "providers",
  db: "db",
  tools: "tools",
  metrics: "metrics",
  telemetry: "telemetry",
  config: "config",
  runtime: "runtime",
  core: "core",
};

/** The layer of each file directly in src. */
const TOP_FILES: Record<string, Layer> = {
  "main.ts": "main",
  // composition roots: they wire the store, services and the app for `serve` and the end-to-end tests
  "gateway.ts": "root",
  "gateway-platform.ts": "root",
  "openapi-document.ts": "root",
  // the version from package.json: a constant, as neutral as core
  "version.ts": "core",
};

const BELOW_SERVICES: Layer[] = ["providers", "db", "tools", "metrics", "telemetry", "config", "runtime", "core"];

/**
 * What each layer may import besides itself. A layer imports downward only; the five beside one another under
 * services never import each other; providers skip config (settings come as arguments); http skips db; only main
 * imports cli.
 */
const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  main: ["cli", "runtime"],
  cli: ["root", "http", "services", ...BELOW_SERVICES],
  // the typed tRPC client for callers of the gateway: the router's types and core's schemas
  client: ["http", "core"],
  // the operator console's browser code: the typed tRPC client (router types only) and core's schemas
  ui: ["client", "http", "core"],
  root: ["http", "services", ...BELOW_SERVICES],
  http: ["services", "providers", "tools", "metrics", "telemetry", "config", "runtime", "core"],
  services: BELOW_SERVICES,
  providers: ["runtime", "core"],
  db: ["config", "runtime", "core"],
  tools: ["config", "runtime", "core"],
  metrics: ["config", "runtime", "core"],
  telemetry: ["config", "runtime", "core"],
  config: ["runtime", "core"],
  runtime: ["core"],
  core: [],
};

/**
 * The layer each package belongs to: importing it is importing that layer (so http, which may not import db, may
 * not import drizzle either). `node:` built-ins belong to no layer and may be used anywhere but core; `bun` and
 * `node:process` are the runtime (the Bun/process rule); `bun:test` is for tests.
 */
const PACKAGES: Record<string, Layer> = {
  zod: "core",
  yaml: "config",
  consola: "runtime",
  "bun:ffi": "runtime",
  elysia: "http",
  "@elysiajs/openapi": "http",
  "@trpc/server": "http",
  "@trpc/client": "client",
  preact: "ui",
  "drizzle-orm": "db",
  "bun:sqlite": "db",
  "prom-client": "metrics",
  citty: "cli",
  pyodide: "tools",
  linkedom: "tools",
  turndown: "tools",
  "@mozilla/readability": "tools",
  "@modelcontextprotocol/sdk": "tools",
};
const RUNTIME_PACKAGES = new Set(["bun", "node:process", "process"]);

/** Outside src/providers, only this face of it is imported: adapters are reached through the registry. */
const PROVIDERS_FACE = [
  "src/providers/registry.ts",
  "src/providers/types.ts",
  "src/providers/capabilities.ts",
  "src/providers/failures.ts",
];

/** Where `Bun` and `process` may be used: the runtime edge, the config loader (env) and the process entry points. */
const RUNTIME_PLACES = ["src/runtime/", "src/config/load.ts", "src/main.ts", "src/cli/"];

/** Existing uses of `Bun`/`process` outside RUNTIME_PLACES, each with its reason. */
const RUNTIME_EXCEPTIONS: Record<string, string> = {
  "src/db/postgres.ts": "Bun's Postgres client (`SQL` from bun) is the db layer's driver, as bun:sqlite is",
  "src/db/read-only.ts": "the read-only Postgres connection of `gateway import`: Bun's SQL client, the db driver",
  "src/tools/code-execution/worker.ts":
    "the entry point of the sandbox child process: stdin/stdout protocol, exit codes, its own seccomp",
  "src/tools/code-execution/worker-process.ts": "spawns and supervises the sandbox child (Bun.spawn, its RSS)",
  "src/tools/code-execution/os-limits.ts":
    "builds the sandbox child's command line: the binary's own path, OS limit wrappers probed with Bun.spawnSync",
  "src/tools/web-search/extract-worker.ts":
    "the entry point of the page-extraction child process: JSON lines on stdin/stdout, exit",
  "src/tools/web-search/extractor.ts": "spawns and supervises the page-extraction child (Bun.spawn)",
  "src/http/ui/bundle.ts":
    "a build-time macro: bundles the console with `bun build` (Bun.spawnSync) as the binary is built",
};

/**
 * Test code: exempt from the layer and runtime rules, since tests wire whatever they exercise (a route test seeds the
 * database), but not from privacy. Test code inside src/providers keeps the providers' layer rule (no Elysia, tRPC,
 * drizzle, db, services or config there either), with tests/ helpers and dev-only packages besides.
 */
const isTestCode = (path: string): boolean =>
  path.endsWith(".test.ts") ||
  path.startsWith("tests/") ||
  /(^|\/)(_mocks|_contract|fixtures)\//.test(path) ||
  /(^|\/)_test-[^/]+\.ts$/.test(path);

/** Test infrastructure every test may use, wherever the test lives. */
const TEST_INFRA = /(^|\/)(_mocks|_contract)(\/|$)/;

function layerOf(path: string): Layer | null {
  if (!path.startsWith("src/")) return null;
  const parts = path.slice(4).split("/");
  return (parts.length === 1 ? TOP_FILES[parts[0]!] : FOLDERS[parts[0]!]) ?? null;
}

/** The part of src/providers a file is in: its folder (`gemini`, `_shared`) or, at the top, the file (`types.ts`). */
const providerPart = (path: string): string => path.split("/")[2] ?? "";

/** An adapter's folder: not `_`-prefixed shared code, not a top-level file. */
const isAdapter = (part: string): boolean => !part.startsWith("_") && !part.endsWith(".ts");

interface Violation {
  file: string;
  line: number;
  /** The import as written; null for a use of the `Bun`/`process` globals. */
  specifier: string | null;
  /** The resolved file or package, or `Bun`/`process`. */
  target: string;
  rule: string;
}

const targetName = (t: ImportTarget): string => (t.kind === "file" ? t.path : t.name);

/** The rules one import breaks (none, usually). */
function importRules(file: string, target: ImportTarget): string[] {
  const broken: string[] = [];
  const test = isTestCode(file);
  if (target.kind === "file" && target.path.startsWith("src/")) {
    // `_`-prefixed files and folders are private to the folder holding them; tests may use _mocks and _contract
    const parts = target.path.split("/");
    parts.forEach((part, i) => {
      if (!part.startsWith("_") || i === 0) return;
      const folder = parts.slice(0, i).join("/");
      if (file.startsWith(`${folder}/`) || (test && TEST_INFRA.test(target.path))) return;
      broken.push(`\`${part}\` is private to ${folder}/ ("_"-prefixed files and folders are private to their folder)`);
    });
  }
  const from = layerOf(file);
  if (!file.startsWith("src/") || (test && from !== "providers")) return broken;
  if (!from) return [...broken, `${file} is in no layer: add it to FOLDERS or TOP_FILES`];
  if (test && (target.kind === "file" ? !target.path.startsWith("src/") : !(target.name in PACKAGES))) return broken; // tests/ helpers, dev-only packages (fast-check, bun:test)

  if (target.kind === "package") {
    const name = target.name;
    if (RUNTIME_PACKAGES.has(name)) return broken; // the runtime rule reports it
    if (name.startsWith("node:")) {
      if (from === "core") broken.push("core imports only zod");
      return broken;
    }
    if (name === "bun:test") return [...broken, "bun:test is for tests only"];
    const owner = PACKAGES[name];
    if (!owner) return [...broken, `package ${name} belongs to no layer: add it to PACKAGES`];
    if (owner !== from && !MAY_IMPORT[from].includes(owner))
      broken.push(`${name} belongs to ${owner}; ${from} may import ${MAY_IMPORT[from].join(", ") || "nothing"}`);
    return broken;
  }

  const path = target.path;
  if (!path.startsWith("src/")) {
    if (/^(tests|scripts)\//.test(path)) broken.push("src never imports tests or scripts");
    return broken; // assets: package.json, drizzle migrations, vendored bundles
  }
  const to = layerOf(path);
  if (!to) return [...broken, `${path} is in no layer: add it to FOLDERS or TOP_FILES`];
  if (to !== from && !MAY_IMPORT[from].includes(to))
    broken.push(`${from} may not import ${to} (${from} may import ${MAY_IMPORT[from].join(", ") || "nothing"})`);
  if (to === "providers" && from !== "providers" && !PROVIDERS_FACE.includes(path))
    broken.push(`outside src/providers only ${PROVIDERS_FACE.join(", ")} are imported (no concrete provider)`);
  if (from === "providers" && to === "providers" && !test) {
    // the registry is the one place that knows every adapter
    const [a, b] = [providerPart(file), providerPart(path)];
    if (isAdapter(b) && a !== b && a !== "registry.ts")
      broken.push(`providers never import each other (${a} -> ${b}): what two share lives in providers/_shared`);
  }
  return broken;
}

/** The runtime rule for one file: `Bun`/`process` only in RUNTIME_PLACES and the listed exceptions. */
function runtimeRules(file: string, text: string): Violation[] {
  if (isTestCode(file) || !file.startsWith("src/") || RUNTIME_PLACES.some((p) => file.startsWith(p))) return [];
  if (RUNTIME_EXCEPTIONS[file] !== undefined) return [];
  const rule = `Bun/process only in ${RUNTIME_PLACES.join(", ")} (or RUNTIME_EXCEPTIONS with a reason)`;
  return runtimeRefsOf(file, text).map((r) => ({ file, line: r.line, specifier: null, target: r.name, rule }));
}

/** Import cycles among production files (each a strongly connected component of two or more files). */
function cycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const out: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      component.push(w);
    } while (w !== v);
    if (component.length > 1) out.push(component.sort());
  };
  for (const v of edges.keys()) if (!index.has(v)) connect(v);
  return out;
}

/** Every violation in a set of files (repo-relative path -> text); `exists` answers for paths outside the set. */
function checkArchitecture(
  files: ReadonlyMap<string, string>,
  exists: (path: string) => boolean = (p) => files.has(p),
): Violation[] {
  const out: Violation[] = [];
  const edges = new Map<string, string[]>();
  for (const [file, text] of files) {
    const production = file.startsWith("src/") && !isTestCode(file);
    if (production) edges.set(file, []);
    for (const i of importsOf(text)) {
      const target = resolveImport(file, i.specifier, (p) => files.has(p) || exists(p));
      for (const rule of importRules(file, target))
        out.push({ file, line: i.line, specifier: i.specifier, target: targetName(target), rule });
      if (production && target.kind === "file" && files.has(target.path) && !isTestCode(target.path))
        edges.get(file)!.push(target.path);
    }
    out.push(...runtimeRules(file, text));
  }
  for (const component of cycles(edges))
    out.push({
      file: component[0]!,
      line: 0,
      specifier: null,
      target: "an import cycle",
      rule: `files import one another in a cycle (${component.join(", ")}): move what they share into one of them`,
    });
  return out;
}

const describeViolation = (v: Violation): string =>
  v.specifier === null
    ? `${v.file}:${v.line} ${v.line === 0 ? "is in" : "uses"} ${v.target}: ${v.rule}`
    : `${v.file}:${v.line} imports "${v.specifier}" (${v.target}): ${v.rule}`;

const ROOT = join(import.meta.dir, "..");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [relative(ROOT, path)] : [];
  });
}

function repoFiles(): Map<string, string> {
  const paths = ["src", "tests", "scripts"].flatMap((d) => sourceFiles(join(ROOT, d)));
  return new Map(paths.map((p) => [p, readFileSync(join(ROOT, p), "utf8")]));
}

const isFile = (p: string): boolean => existsSync(join(ROOT, p)) && statSync(join(ROOT, p)).isFile();

describe("the house rules hold", () => {
  const violations = checkArchitecture(repoFiles(), isFile);

  test("no import breaks a rule", () => {
    expect(violations.map(describeViolation)).toEqual([]);
  });

  test("every runtime exception names a file that exists and still uses Bun/process", () => {
    const stale = Object.keys(RUNTIME_EXCEPTIONS).filter((f) => {
      if (!isFile(f)) return true;
      return runtimeRefsOf(f, readFileSync(join(ROOT, f), "utf8")).length === 0;
    });
    expect(stale).toEqual([]);
  });
});

/** The rules broken in an in-memory tree, as `file: rule` lines (the file's own violations only when `only`). */
function planted(files: Record<string, string>, only?: string): string[] {
  return checkArchitecture(new Map(Object.entries(files)))
    .filter((v) => !only || v.file === only)
    .map((v) => `${v.file}: ${v.rule}`);
}

/** The files a planted import leads to, present so that paths resolve as in the real tree. */
const TREE: Record<string, string> = {
  "src/core/errors.ts": "",
  "src/runtime/logger.ts": "",
  "src/config/load.ts": "",
  "src/db/client.ts": "",
  "src/services/auth.ts": "",
  "src/http/app.ts": "",
  "src/cli/index.ts": "",
  "src/cli/_args.ts": "",
  "src/tools/index.ts": "",
  "src/providers/types.ts": "",
  "src/providers/registry.ts": "",
  "src/providers/gemini/index.ts": "",
  "src/providers/cohere/index.ts": "",
  "src/providers/_shared/sse.ts": "",
  "src/providers/_mocks/index.ts": "",
};

const caught = (file: string, source: string, rule: string | RegExp) => {
  const found = planted({ ...TREE, [file]: source }, file);
  expect(found.some((v) => (typeof rule === "string" ? v.includes(rule) : rule.test(v)))).toBe(true);
  return found;
};

describe("the checker catches a planted violation of each rule", () => {
  test("core imports only zod", () => {
    caught("src/core/x.ts", 'import { Elysia } from "elysia";', "elysia belongs to http; core may import nothing");
    caught("src/core/x.ts", 'import { readFileSync } from "node:fs";', "core imports only zod");
    caught("src/core/x.ts", 'import { log } from "../runtime/logger";', "core may not import runtime");
    expect(planted({ ...TREE, "src/core/x.ts": 'import { z } from "zod";' })).toEqual([]);
  });

  test("runtime imports only core", () => {
    caught("src/runtime/x.ts", 'import { loadConfig } from "../config/load";', "runtime may not import config");
  });

  test("providers import core and runtime only: never elysia, tRPC, drizzle, db, services, config", () => {
    for (const bad of [
      'import { Elysia } from "elysia";',
      'import { initTRPC } from "@trpc/server";',
      'import { eq } from "drizzle-orm";',
      'import { openStore } from "../../db/client.ts";',
      'import type { Config } from "../../config/load";',
      'import { auth } from "../../services/auth";',
    ])
      caught("src/providers/gemini/api.ts", bad, /providers may (not import|import runtime, core)|belongs to/);
    const fine = ['import { badRequest } from "../../core/errors.ts";', 'import { log } from "../../runtime/logger";'];
    expect(planted({ ...TREE, "src/providers/gemini/api.ts": fine.join("\n") })).toEqual([]);
  });

  test("provider tests keep the providers rule; dev packages and tests/ helpers are theirs", () => {
    caught("src/providers/gemini/gemini.test.ts", 'import { Elysia } from "elysia";', "elysia belongs to http");
    const fine =
      'import fc from "fast-check";\nimport { h } from "../../../tests/helpers/db";\nimport "../cohere/index.ts";';
    expect(planted({ ...TREE, "src/providers/gemini/gemini.test.ts": fine })).toEqual([]);
  });

  test("providers never import each other; _shared is below every adapter", () => {
    caught("src/providers/gemini/x.ts", 'import { c } from "../cohere/index.ts";', "providers never import each other");
    caught("src/providers/_shared/x.ts", 'import { g } from "../gemini/index.ts";', "(_shared -> gemini)");
    caught("src/providers/types.ts", 'import { g } from "./gemini/index.ts";', "(types.ts -> gemini)");
    expect(planted({ ...TREE, "src/providers/registry.ts": 'const g = require("./gemini/index.ts");' })).toEqual([]);
    expect(planted({ ...TREE, "src/providers/gemini/x.ts": 'import { s } from "../_shared/sse.ts";' })).toEqual([]);
  });

  test("services never import http or cli (a type import counts)", () => {
    caught("src/services/x.ts", 'import type { App } from "../http/app";', "services may not import http");
    caught("src/services/x.ts", 'import { main } from "../cli/index";', "services may not import cli");
  });

  test("http imports neither db nor a concrete provider", () => {
    caught("src/http/x.ts", 'import { openStore } from "../db/client";', "http may not import db");
    caught("src/http/x.ts", 'import { sql } from "drizzle-orm";', "drizzle-orm belongs to db");
    caught("src/http/x.ts", 'import { gemini } from "../providers/gemini/index.ts";', "no concrete provider");
    expect(planted({ ...TREE, "src/http/x.ts": 'import { getProvider } from "../providers/registry.ts";' })).toEqual(
      [],
    );
  });

  test("nothing imports cli but main", () => {
    caught("src/gateway.ts", 'const cli = await import("./cli/index");', "root may not import cli");
    caught("src/http/x.ts", 'const { main } = require("../cli/index");', "http may not import cli");
    expect(planted({ ...TREE, "src/main.ts": 'await import("./cli/index");' })).toEqual([]);
  });

  test("the layers beside one another under services never import each other, nor upward", () => {
    caught(
      "src/metrics/x.ts",
      'import type { AuthFailureReason } from "../services/auth";',
      "metrics may not import services",
    );
    caught("src/tools/x.ts", 'import { openStore } from "../db/client";', "tools may not import db");
  });

  test("`_`-prefixed files and folders are private to their folder; tests may use _mocks and _contract", () => {
    caught(
      "src/services/x.ts",
      'import { sseData } from "../providers/_shared/sse";',
      "`_shared` is private to src/providers/",
    );
    caught("src/http/x.ts", 'import { args } from "../cli/_args";', "`_args.ts` is private to src/cli/");
    caught("tests/x.test.ts", 'import { sse } from "../src/providers/_shared/sse";', "`_shared` is private");
    expect(planted({ ...TREE, "tests/x.test.ts": 'import { m } from "../src/providers/_mocks/index";' })).toEqual([]);
    expect(planted({ ...TREE, "src/cli/keys.ts": 'import { args } from "./_args";' })).toEqual([]);
  });

  test("Bun and process only in the runtime places; type positions are not uses", () => {
    for (const bad of [
      "await Bun.sleep(1);",
      "const port = process.env.PORT;",
      "const p = globalThis.process;",
      "const o = { process };",
      'import { SQL } from "bun";',
      'import { env } from "node:process";',
    ])
      caught("src/services/x.ts", bad, "Bun/process only in");
    const fine = [
      'import type { Subprocess } from "bun";',
      "let server: Bun.Server<undefined> | null = null;",
      "type P = typeof process;",
      "const o = { process: 1 }; o.process;",
      'const s = "Bun.sleep(1) and process.exit()";',
      "// process.exit(1)",
      "function f(process: number) { return process + 1; }",
    ];
    expect(planted({ ...TREE, "src/services/x.ts": fine.join("\n") })).toEqual([]);
    expect(planted({ ...TREE, "src/runtime/x.ts": "await Bun.sleep(1);" })).toEqual([]);
  });

  test("every form of import is read; imports named in strings and comments are not", () => {
    for (const form of [
      'export * from "../http/app";',
      'export { app } from "../http/app";',
      'const m = await import("../http/app");',
      'const m = require("../http/app");',
      'type A = typeof import("../http/app");',
      'import app = require("../http/app");',
    ])
      caught("src/services/x.ts", form, "services may not import http");
    const quoted = ["const s = 'import { a } from \"../http/app\"';", '// import("../http/app")'].join("\n");
    expect(planted({ ...TREE, "src/services/x.ts": quoted })).toEqual([]);
  });

  test("no import cycles among production files", () => {
    const found = planted({
      "src/db/a.ts": 'import { b } from "./b";',
      "src/db/b.ts": 'import type { A } from "./a";',
    });
    expect(found).toEqual([
      "src/db/a.ts: files import one another in a cycle (src/db/a.ts, src/db/b.ts): move what they share into one of them",
    ]);
  });

  test("src imports neither tests nor scripts, and every file and package has a layer", () => {
    caught("src/services/x.ts", 'import { db } from "../../tests/helpers/db";', "src never imports tests or scripts");
    caught("src/services/x.ts", 'import left from "left-pad";', "package left-pad belongs to no layer");
    caught("src/widgets/x.ts", 'import { z } from "zod";', "src/widgets/x.ts is in no layer");
  });

  test("a violation names the file, the line, the import and the rule", () => {
    const [v] = checkArchitecture(new Map([["src/core/x.ts", '\nimport { app } from "../http/app";']]));
    expect(describeViolation(v!)).toBe(
      'src/core/x.ts:2 imports "../http/app" (src/http/app): core may not import http (core may import nothing)',
    );
  });
});
