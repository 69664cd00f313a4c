import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { PROVIDERS_DOC, README, renderCapabilityTable, renderProviderTable } from "../../scripts/gen-provider-docs";

test("docs/behaviour/providers.md's provider table matches the registry (run `bun scripts/gen-provider-docs.ts`)", () => {
  expect(readFileSync(PROVIDERS_DOC, "utf8")).toContain(renderProviderTable());
});

test("the README's capability table matches the registry (run `bun scripts/gen-provider-docs.ts`)", () => {
  expect(readFileSync(README, "utf8")).toContain(renderCapabilityTable());
});
