import { type ModerationResponse, type ModerationResult, moderationResponseSchema } from "../../core/wire/index.ts";
import type { JsonObject } from "../_shared/openai-chat.ts";
import { createOpenAICompatibleProvider } from "../_shared/openai-compatible.ts";
import { malformedBodyError } from "../_shared/errors.ts";
import { z } from "zod";

/**
 * Mistral: OpenAI paths with a dialect (docs/behaviour/providers.md#mistral, https://docs.mistral.ai/api/). Usage
 * always arrives in the final stream chunk, and `stream_options` is rejected, so it is never sent.
 */

/** Fields Mistral's chat endpoint rejects (422 "extra inputs are not permitted"). */
const REJECTED = ["user", "service_tier", "store", "logit_bias", "logprobs", "top_logprobs"];

export function toMistralBody(body: JsonObject): JsonObject {
  const out: JsonObject = { ...body };
  for (const key of REJECTED) delete out[key];
  if (out["seed"] !== undefined) {
    out["random_seed"] = out["seed"];
    delete out["seed"];
  }
  if (out["tool_choice"] === "required") out["tool_choice"] = "any";
  return out;
}

const mistralModerationSchema = z
  .object({
    id: z.string().default(""),
    model: z.string().default(""),
    results: z.array(
      z
        .object({
          categories: z.record(z.string(), z.boolean().nullable()),
          category_scores: z.record(z.string(), z.number().nullable()).default({}),
        })
        .loose(),
    ),
  })
  .loose();

/** Mistral results lack `flagged`: it is any category being true; the native result goes in provider_raw. */
export function fromMistralModeration(raw: unknown, model: string): ModerationResponse {
  const parsed = mistralModerationSchema.safeParse(raw);
  if (!parsed.success) throw malformedBodyError("passthrough", parsed.error.message.slice(0, 300));
  const results: ModerationResult[] = parsed.data.results.map((r) => ({
    flagged: Object.values(r.categories).some((v) => v === true),
    categories: r.categories,
    category_scores: r.category_scores,
    provider_raw: r,
  }));
  return moderationResponseSchema.parse({ id: parsed.data.id, model: parsed.data.model || model, results });
}

export const mistral = createOpenAICompatibleProvider({
  name: "mistral",
  streamUsage: false,
  serves: { moderations: true },
  adaptChatBody: toMistralBody,
  adaptModeration: fromMistralModeration,
});
