/**
 * Writes the configuration reference in docs/configuration.md (between the config-reference markers) from the zod
 * schema in src/config/schema.ts. `--check` exits 1 when the page is stale; tests/docs/config-reference.test.ts runs
 * the same comparison.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { configSchema, type FileConfig, SCALAR_KEYS, STANDARD_ENV } from "../src/config/schema";

const BEGIN = "<!-- config-reference:begin -->";
const END = "<!-- config-reference:end -->";
/** The page the table lives in. */
export const CONFIG_DOC = join(import.meta.dir, "..", "docs", "configuration.md");

interface JsonField {
  type?: string | string[];
  anyOf?: JsonField[];
  enum?: unknown[];
  default?: unknown;
  description?: string;
  items?: JsonField;
}

function typeOf(f: JsonField): string {
  if (f.enum) return f.enum.map((v) => `\`${String(v)}\``).join(" \\| ");
  if (f.anyOf) return [...new Set(f.anyOf.map(typeOf).filter((t) => t !== "null"))].join(" \\| ");
  if (Array.isArray(f.type)) return f.type.filter((t) => t !== "null").join(" \\| ");
  if (f.type === "array") return `list of ${f.items ? typeOf(f.items) : "any"}`;
  if (f.type === "object") return "map";
  return f.type ?? "any";
}

export function renderConfigReference(): string {
  const rows = Object.entries(configSchema.shape).map(([key, field]) => {
    const json = z.toJSONSchema(field, { io: "input", unrepresentable: "any" }) as JsonField;
    const def = json.default === undefined ? "null" : `\`${JSON.stringify(json.default)}\``;
    const standard = (STANDARD_ENV[key as keyof FileConfig] ?? []).map((name) => `\`${name}\``);
    const envs = key in SCALAR_KEYS ? [`\`OTARI_${key.toUpperCase()}\``, ...standard].join(", ") : "YAML only";
    return `| \`${key}\` | ${typeOf(json)} | ${def} | ${envs} | ${(field.description ?? json.description ?? "").replace(/\|/g, "\\|")} |`;
  });
  return [BEGIN, "| Key | Type | Default | Env override | Meaning |", "|---|---|---|---|---|", ...rows, END].join("\n");
}

if (import.meta.main) {
  const page = readFileSync(CONFIG_DOC, "utf8");
  const start = page.indexOf(BEGIN);
  const end = page.indexOf(END);
  if (start < 0 || end < 0) throw new Error("docs/configuration.md has no config-reference markers");
  const next = page.slice(0, start) + renderConfigReference() + page.slice(end + END.length);
  if (process.argv.includes("--check")) {
    if (next !== page) {
      console.error("docs/configuration.md's configuration reference is stale: run bun scripts/gen-config-docs.ts");
      process.exit(1);
    }
  } else writeFileSync(CONFIG_DOC, next);
}
