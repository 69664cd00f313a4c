import { z } from "zod";
import { badRequest } from "../../core/errors.ts";
import { type EmbeddingRequest, fromOpenAIUsage } from "../../core/wire/index.ts";
import { createGeminiWireProvider, googleHttpError } from "../_shared/gemini/index.ts";
import { joinUrl, requestJson } from "../_shared/http.ts";
import type { Capable } from "../capabilities.ts";
import type { CallOptions, ProviderModel, ProviderSettings } from "../types.ts";
import { API_VERSION, authHeaders, modelUrl, resourceName } from "./api.ts";

/**
 * Gemini on Google AI Studio (docs/behaviour/providers.md#gemini): chat through the shared generateContent wire, plus
 * embeddings (batchEmbedContents) and the paginated model listing.
 */

const wire = createGeminiWireProvider({
  name: "gemini",
  modelUrl,
  auth: async (s) => authHeaders(s),
});

/** https://ai.google.dev/api/embeddings#method:-models.batchembedcontents */
const batchEmbedSchema = z.object({ embeddings: z.array(z.object({ values: z.array(z.number()) }).loose()) }).loose();

/** https://ai.google.dev/api/models#method:-models.list */
const modelListSchema = z
  .object({
    models: z
      .array(z.object({ name: z.string(), supportedGenerationMethods: z.array(z.string()).optional() }).loose())
      .default([]),
    nextPageToken: z.string().optional(),
  })
  .loose();

/** Stop after this many pages: a base URL that keeps answering with a token must not loop forever. */
const MAX_MODEL_PAGES = 20;

/** Gemini embeds text only: token-id arrays (an OpenAI-only input form) are refused before any call. */
function embedInputs(input: EmbeddingRequest["input"]): string[] {
  const list: unknown[] = Array.isArray(input) ? input : [input];
  const texts = list.filter((v): v is string => typeof v === "string");
  if (texts.length !== list.length) throw badRequest("Provider 'gemini' embeds text input only", "invalid_request");
  return texts;
}

export const gemini: Capable<"chat" | "stream" | "embeddings" | "models"> = {
  ...wire,

  async embed(req: EmbeddingRequest, s: ProviderSettings, o: CallOptions = {}) {
    const model = resourceName(req.model);
    const texts = embedInputs(req.input);
    const requests = texts.map((text) => {
      const r: Record<string, unknown> = { model, content: { parts: [{ text }] } };
      if (req.dimensions != null) r["outputDimensionality"] = req.dimensions;
      return r;
    });
    const up = {
      url: modelUrl(s, req.model, "batchEmbedContents"),
      body: { requests },
      headers: authHeaders(s),
      mapError: googleHttpError,
    };
    const res = await requestJson(up, batchEmbedSchema, s, o, "passthrough");
    const data = res.body.embeddings.map((e, index) => ({ object: "embedding", index, embedding: e.values }));
    // Gemini reports no token counts for embeddings (docs/behaviour/providers.md#gemini): usage stays zero
    const usage = fromOpenAIUsage({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
    return {
      ...res,
      body: { object: "list", data, model: req.model, usage: { prompt_tokens: 0, total_tokens: 0 } },
      usage,
    };
  },

  async listModels(s: ProviderSettings, o: CallOptions = {}): Promise<ProviderModel[]> {
    const out: ProviderModel[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_MODEL_PAGES; page++) {
      const query = new URLSearchParams({ pageSize: "1000" });
      if (token) query.set("pageToken", token);
      const url = joinUrl(s.apiBase, `/${API_VERSION}/models?${query}`);
      const res = await requestJson(
        { url, method: "GET", headers: authHeaders(s), mapError: googleHttpError },
        modelListSchema,
        s,
        o,
        "passthrough",
      );
      for (const m of res.body.models)
        out.push({ id: m.name.replace(/^models\//, ""), created: null, ownedBy: "google" });
      token = res.body.nextPageToken;
      if (!token) break;
    }
    return out;
  },
};
