import { z } from "zod";
import { anthropicBatchMembers } from "../_shared/anthropic-wire/batches.ts";
import { ANTHROPIC_VERSION, createAnthropicWireProvider } from "../_shared/anthropic-wire/index.ts";
import { joinUrl, requestJson } from "../_shared/http.ts";
import type { CallOptions, ProviderModel, ProviderSettings } from "../types.ts";

/**
 * Anthropic Messages API (docs/behaviour/providers.md#anthropic-messages; https://docs.anthropic.com/en/api/messages).
 */

export { ANTHROPIC_VERSION, toPassthroughBody } from "../_shared/anthropic-wire/index.ts";

function headers(s: ProviderSettings): Record<string, string> {
  const h: Record<string, string> = { "anthropic-version": ANTHROPIC_VERSION };
  if (s.apiKey) h["x-api-key"] = s.apiKey;
  return h;
}

const modelListSchema = z.object({
  data: z.array(z.object({ id: z.string(), created_at: z.string().nullish() }).loose()),
});

async function listModels(s: ProviderSettings, o: CallOptions = {}): Promise<ProviderModel[]> {
  const req = { url: joinUrl(s.apiBase, "/v1/models?limit=1000"), method: "GET" as const, headers: headers(s) };
  const res = await requestJson(req, modelListSchema, s, o, "passthrough");
  return res.body.data.map((m) => {
    const created = m.created_at ? Date.parse(m.created_at) : Number.NaN;
    return { id: m.id, created: Number.isNaN(created) ? null : Math.floor(created / 1000), ownedBy: "anthropic" };
  });
}

const auth = async (s: ProviderSettings) => headers(s);

/** Messages, model listing and Message Batches. */
export const anthropic = {
  ...createAnthropicWireProvider({
    name: "anthropic",
    messagesUrl: (s) => joinUrl(s.apiBase, "/v1/messages"),
    auth,
    listModels,
  }),
  ...anthropicBatchMembers(auth),
};
