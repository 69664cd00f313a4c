import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { renderConfigReference } from "../../scripts/gen-config-docs";

test("README's configuration reference matches the zod schema (run `bun scripts/gen-config-docs.ts`)", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  expect(readme).toContain(renderConfigReference());
});
