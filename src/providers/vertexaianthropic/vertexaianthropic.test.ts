import { describe, expect, test } from "bun:test";
import { API_KEY, settingsFor } from "../_contract/index.ts";
import { createVertexFixture, startVertexMock } from "../_mocks/index.ts";
import { vertexaianthropic } from "./index.ts";

const { account, credentialsFor } = createVertexFixture(API_KEY);

describe("vertexaianthropic specifics", () => {
  test("/v1/messages pass-through: model moves to the URL, anthropic_version goes in the body, streamRawPredict for SSE", async () => {
    const mock = startVertexMock({ publicKey: account.publicKey, clientEmail: account.clientEmail });
    try {
      const s = {
        ...settingsFor(mock),
        extra: { credentials: credentialsFor(mock), project: "p", location: "global" },
      };
      const res = await vertexaianthropic.messages(
        { model: "claude-sonnet-4-5@20250929", max_tokens: 10, messages: [{ role: "user", content: "hi" }] },
        s,
      );
      expect(res.body.type).toBe("message");
      const sent = mock.requests.at(-1)!;
      expect(sent.path).toBe(
        "/v1/projects/p/locations/global/publishers/anthropic/models/claude-sonnet-4-5%4020250929:rawPredict",
      );
      expect(sent.body).toEqual({
        anthropic_version: "vertex-2023-10-16",
        max_tokens: 10,
        messages: [{ role: "user", content: "hi" }],
      });
      const stream = await vertexaianthropic.messagesStream(
        { model: "cache", max_tokens: 10, messages: [{ role: "user", content: "hi" }] },
        s,
      );
      for await (const _ of stream);
      expect(mock.requests.at(-1)!.path).toEndWith("/models/cache:streamRawPredict");
      expect(stream.usage).toMatchObject({ promptTokens: 18, cacheReadTokens: 4, cacheWriteTokens: 2 });
    } finally {
      await mock.stop();
    }
  });
});
