import { runProviderContract } from "../_contract/index.ts";
import { startAnthropicMock } from "../_mocks/index.ts";
import { anthropic } from "./index.ts";

runProviderContract({
  label: "anthropic",
  provider: anthropic,
  startMock: () => startAnthropicMock(),
  chatPath: "/v1/messages",
  credentialOf: (r) => r.headers["x-api-key"],
  // input 12 + cache write 2 + cache read 4 (SPEC §5.4.1)
  cachePromptTokens: 18,
  cacheWriteTokens: 2,
  errorStatuses: [400, 401, 402, 403, 404, 413, 429, 500, 529],
});
