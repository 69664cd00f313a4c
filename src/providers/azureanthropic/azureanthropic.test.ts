import { describe, expect, test } from "bun:test";
import { runProviderContract, settingsFor } from "../_contract/index.ts";
import { startAzureMock } from "../_mocks/index.ts";
import { azureanthropic } from "./index.ts";

const withBase = () => {
  const mock = startAzureMock();
  return { ...mock, apiBase: `${mock.url}/anthropic` };
};

runProviderContract({
  label: "azureanthropic",
  provider: azureanthropic,
  startMock: withBase,
  chatPath: "/anthropic/v1/messages",
  credentialOf: (r) => r.headers["x-api-key"],
  cachePromptTokens: 18,
  cacheWriteTokens: 2,
  errorStatuses: [400, 401, 402, 403, 404, 413, 429, 500, 529],
});

describe("azureanthropic specifics", () => {
  test("/v1/messages is a pass-through with the Anthropic headers", async () => {
    const mock = withBase();
    try {
      const res = await azureanthropic.messages(
        { model: "claude-prod", max_tokens: 5, messages: [{ role: "user", content: "hi" }] },
        settingsFor(mock),
        { headers: { "anthropic-beta": "x" } },
      );
      expect(res.body.model).toBe("claude-prod");
      const sent = mock.requests.at(-1)!;
      expect(sent.headers["anthropic-version"]).toBe("2023-06-01");
      expect(sent.headers["anthropic-beta"]).toBe("x");
      expect(sent.body).toEqual({ model: "claude-prod", max_tokens: 5, messages: [{ role: "user", content: "hi" }] });
      expect(azureanthropic.capabilities.messagesPassthrough).toBe(true);
    } finally {
      await mock.stop();
    }
  });
});
