import { describe, expect, test } from "bun:test";
import { openaiFamily } from "../openai-family/index.ts";
import { type ProviderDefinition, providerDefinitions } from "../registry.ts";
import { runProviderContract } from "./index.ts";
import { CONTRACT_TARGETS, uncoveredProviders } from "./targets.ts";

for (const target of CONTRACT_TARGETS) runProviderContract(target);

describe("contract coverage", () => {
  test("every registered adapter has a contract target", () => {
    expect(uncoveredProviders(providerDefinitions(), CONTRACT_TARGETS)).toEqual([]);
  });

  test("the coverage check names a registered adapter that no target runs", () => {
    const unrun = { ...openaiFamily["groq"]!, name: "newcomer" };
    const extra: ProviderDefinition = { ...providerDefinitions()[0]!, name: "newcomer", adapter: () => unrun };
    expect(uncoveredProviders([...providerDefinitions(), extra], CONTRACT_TARGETS)).toEqual(["newcomer"]);
  });

  test("every target skipping the timing scenarios names a target that runs them", () => {
    const timed = new Set(CONTRACT_TARGETS.filter((t) => !t.timingCoveredBy).map((t) => t.label));
    const dangling = CONTRACT_TARGETS.filter((t) => t.timingCoveredBy && !timed.has(t.timingCoveredBy));
    expect(dangling.map((t) => t.label)).toEqual([]);
  });
});
