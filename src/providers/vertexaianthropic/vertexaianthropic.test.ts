import { describe, expect, test } from "bun:test";
import { API_KEY, runProviderContract, settingsFor } from "../_contract/index.ts";
import { type VertexMockServer, startVertexMock } from "../_mocks/index.ts";
import { createTestServiceAccount } from "../_shared/vertex/test-credentials.ts";
import type { ProviderSettings } from "../types.ts";
import { vertexaianthropic } from "./index.ts";

const account = createTestServiceAccount("", API_KEY);
let mockRef: VertexMockServer | null = null;
const credentialsFor = (m: VertexMockServer) => JSON.stringify({ ...account.json, token_uri: m.tokenUrl });
const configure = (s: ProviderSettings): ProviderSettings => ({
  ...s,
  extra: { credentials: credentialsFor(mockRef!), project: "proj-1", location: "us-east5" },
});

runProviderContract({
  label: "vertexaianthropic",
  provider: vertexaianthropic,
  startMock: () => {
    mockRef = startVertexMock({ publicKey: account.publicKey, clientEmail: account.clientEmail });
    return mockRef;
  },
  configure,
  chatPath: (model) => `/v1/projects/proj-1/locations/us-east5/publishers/anthropic/models/${model}:rawPredict`,
  modelOf: (r) => r.path.match(/\/models\/([^/:]+):/)?.[1],
  credentialOf: (r) => r.headers["authorization"],
  // input 12 + cache write 2 + cache read 4 (SPEC §5.4.1)
  cachePromptTokens: 18,
  cacheWriteTokens: 2,
  errorStatuses: [400, 401, 403, 404, 413, 429, 500, 529],
  retryHint: false,
});

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
