import { describe, expect, test } from "bun:test";
import { settingsFor } from "../_contract/index.ts";
import { forwardsMessagesNatively } from "../capabilities.ts";
import { startAzureMock } from "../_mocks/index.ts";
import { azureanthropic } from "./index.ts";

const withBase = () => {
  const mock = startAzureMock();
  return { ...mock, apiBase: `${mock.url}/anthropic` };
};

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
      expect(forwardsMessagesNatively(azureanthropic)).toBe(true);
    } finally {
      await mock.stop();
    }
  });
});
