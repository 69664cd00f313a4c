import { ANTHROPIC_VERSION, createAnthropicWireProvider } from "../_shared/anthropic-wire/index.ts";
import { joinUrl } from "../_shared/http.ts";
import type { ProviderSettings } from "../types.ts";

/**
 * Claude on Microsoft Foundry (`azureanthropic` in docs/behaviour/providers.md#provider-names;
 * https://docs.claude.com/en/docs/build-with-claude/claude-in-microsoft-foundry): the Anthropic Messages API at
 * `{api_base}/v1/messages`, `api_base` being `https://<resource>.services.ai.azure.com/anthropic`; the key goes
 * in `x-api-key` with `anthropic-version`, the model field names the Foundry deployment.
 */

function headers(s: ProviderSettings): Record<string, string> {
  const h: Record<string, string> = { "anthropic-version": ANTHROPIC_VERSION };
  if (s.apiKey) h["x-api-key"] = s.apiKey;
  return h;
}

export const azureanthropic = createAnthropicWireProvider({
  name: "azureanthropic",
  messagesUrl: (s) => joinUrl(s.apiBase, "/v1/messages"),
  auth: async (s) => headers(s),
});
