import { describe, expect, test } from "bun:test";
import { settingsFor } from "../_contract/index.ts";
import { startAzureMock } from "../_mocks/index.ts";
import { azureopenai } from "./index.ts";

describe("azureopenai specifics", () => {
  test("api_version from client_args; an endpoint ending in /openai is accepted; embeddings on the deployment", async () => {
    const mock = startAzureMock();
    try {
      const s = { ...settingsFor(mock), apiBase: `${mock.url}/openai`, extra: { api_version: "2025-04-01-preview" } };
      await azureopenai.chat!({ model: "gpt-4o-prod", messages: [{ role: "user", content: "x" }] }, s);
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
