import { runProviderContract } from "../_contract/index.ts";
import { startAzureMock } from "../_mocks/index.ts";
import { azure } from "./index.ts";

runProviderContract({
  label: "azure (AI Inference)",
  provider: azure,
  startMock: () => {
    const mock = startAzureMock();
    return { ...mock, apiBase: `${mock.url}/models` };
  },
  chatPath: "/models/chat/completions?api-version=2024-05-01-preview",
  credentialOf: (r) => r.headers["api-key"],
  cachePromptTokens: 12,
  cacheWriteTokens: null,
  errorStatuses: [400, 401, 403, 404, 413, 429, 500, 503],
});
