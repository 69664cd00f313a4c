import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { CONFIG_DOC, renderConfigReference } from "../../scripts/gen-config-docs";

test("docs/configuration.md's configuration reference matches the zod schema (run `bun scripts/gen-config-docs.ts`)", () => {
  expect(readFileSync(CONFIG_DOC, "utf8")).toContain(renderConfigReference());
});
