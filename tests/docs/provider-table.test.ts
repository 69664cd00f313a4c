import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { renderProviderTable } from "../../scripts/gen-provider-docs";

test("README's provider table matches the registry (run `bun scripts/gen-provider-docs.ts`)", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  expect(readme).toContain(renderProviderTable());
});
