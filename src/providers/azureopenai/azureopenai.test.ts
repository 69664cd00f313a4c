import { describe, expect, test } from "bun:test";
import { runProviderContract, settingsFor } from "../_contract/index.ts";
import { startAzureMock } from "../_mocks/index.ts";
import { azureopenai } from "./index.ts";

const common = {
  startMock: () => startAzureMock(),
  credentialOf: (r: { headers: Record<string, string> }) => r.headers["api-key"],
  cachePromptTokens: 12,
  cacheWriteTokens: null,
  errorStatuses: [400, 401, 403, 404, 413, 429, 500, 503],
};

runProviderContract({
  ...common,
  label: "azureopenai (deployment URLs)",
  provider: azureopenai,
  chatPath: (model) => `/openai/deployments/${model}/chat/completions?api-version=2024-10-21`,
  // the deployment is in the URL; the body's model is sent too (Azure ignores it)
  modelOf: (r) => r.path.match(/^\/openai\/deployments\/([^/]+)\//)?.[1],
});

runProviderContract({
  ...common,
  label: "azureopenai (v1 API)",
  provider: azureopenai,
  configure: (s) => ({ ...s, extra: { api_version: "v1" } }),
  chatPath: "/openai/v1/chat/completions",
});

describe("azureopenai specifics", () => {
  test("api_version from client_args; an endpoint ending in /openai is accepted; embeddings on the deployment", async () => {
    const mock = startAzureMock();
    try {
      const s = { ...settingsFor(mock), apiBase: `${mock.url}/openai`, extra: { api_version: "2025-04-01-preview" } };
      await azureopenai.chat({ model: "gpt-4o-prod", messages: [{ role: "user", content: "x" }] }, s);
      expect(mock.requests.at(-1)!.path).toBe(
        "/openai/deployments/gpt-4o-prod/chat/completions?api-version=2025-04-01-preview",
      );
      expect(mock.requests.at(-1)!.headers["authorization"]).toBeUndefined();
      const emb = await azureopenai.embed!({ model: "emb-prod", input: "x" }, s);
      expect(emb.usage.promptTokens).toBe(3);
      expect(mock.requests.at(-1)!.path).toBe("/openai/deployments/emb-prod/embeddings?api-version=2025-04-01-preview");
    } finally {
      await mock.stop();
    }
  });
});
