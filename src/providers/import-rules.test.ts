import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";

/**
 * ARCHITECTURE "Which way the arrows point": src/providers imports src/core and itself only (plus neutral
 * packages such as zod), never Elysia, tRPC, drizzle, services, db, http, config or cli.
 */
const FORBIDDEN_PACKAGES = [/^elysia/, /^@elysiajs\//, /^drizzle-orm/, /^@trpc\//];
const IMPORT =
  /(?:import|export)\s[^"';]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|require\(\s*["']([^"']+)["']\s*\)/g;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
  });
}

const inside = (dir: string, target: string) => !relative(dir, target).startsWith("..");

/**
 * Imports under `root` that leave it for anything but `<root>/../core`, or name a forbidden package. Tests may also
 * use the shared test helpers (`<root>/../../tests/helpers`).
 */
function violations(root: string): string[] {
  const core = join(root, "..", "core");
  const testHelpers = join(root, "..", "..", "tests", "helpers");
  const out: string[] = [];
  // this file quotes forbidden imports as test data
  for (const file of files(root).filter((f) => f !== import.meta.path))
    for (const m of readFileSync(file, "utf8").matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3] ?? "";
      const target = resolve(dirname(file), spec);
      const bad = spec.startsWith(".")
        ? !inside(root, target) && !inside(core, target) && !(file.endsWith(".test.ts") && inside(testHelpers, target))
        : FORBIDDEN_PACKAGES.some((re) => re.test(spec));
      if (bad) out.push(`${relative(root, file)} imports ${spec}`);
    }
  return out;
}

test("src/providers imports only src/core, itself and neutral packages", () => {
  expect(violations(import.meta.dir)).toEqual([]);
});

test("the rule catches forbidden imports", () => {
  const base = mkdtempSync(join(tmpdir(), "import-rule-"));
  const root = join(base, "providers");
  try {
    mkdirSync(join(root, "x"), { recursive: true });
    writeFileSync(
      join(root, "x", "bad.ts"),
      [
        'import { Elysia } from "elysia";',
        'import { db } from "../../db/client.ts";',
        'import type { Config } from "../../config/load";',
        'import { svc } from "../../services/inference";',
        'import { ok } from "../../core/errors.ts";',
        'import { fine } from "../types.ts";',
      ].join("\n"),
    );
    expect(violations(root).length).toBe(4);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
