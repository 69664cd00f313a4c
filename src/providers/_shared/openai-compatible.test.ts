import { runProviderContract } from "../_contract/index.ts";
import { startOpenAIMock } from "../_mocks/index.ts";
import { openaiFamily } from "../openai-family/index.ts";

runProviderContract({
  label: "OpenAI-compatible base (openai)",
  provider: openaiFamily["openai"]!,
  startMock: () => startOpenAIMock(),
  chatPath: "/v1/chat/completions",
  credentialOf: (r) => r.headers["authorization"],
  cachePromptTokens: 12,
  cacheWriteTokens: null,
  errorStatuses: [400, 401, 402, 403, 404, 413, 422, 429, 500, 503],
});
