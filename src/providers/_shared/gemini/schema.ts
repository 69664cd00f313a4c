import { z } from "zod";

/**
 * GenerateContentResponse as far as the gateway reads it (https://ai.google.dev/api/generate-content#response-body,
 * Vertex: https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/GenerateContentResponse).
 * Loose throughout: Google adds fields (groundingMetadata, citationMetadata, avgLogprobs...) that must not break us.
 */

export const geminiPartSchema = z
  .object({
    text: z.string().optional(),
    thought: z.boolean().optional(),
    thoughtSignature: z.string().optional(),
    functionCall: z
      .object({ name: z.string(), args: z.unknown().optional(), id: z.string().optional() })
      .loose()
      .optional(),
  })
  .loose();
export type GeminiPart = z.infer<typeof geminiPartSchema>;

export const geminiCandidateSchema = z
  .object({
    index: z.number().int().optional(),
    content: z
      .object({ role: z.string().optional(), parts: z.array(geminiPartSchema).optional() })
      .loose()
      .optional(),
    finishReason: z.string().optional(),
  })
  .loose();
export type GeminiCandidate = z.infer<typeof geminiCandidateSchema>;

export const geminiUsageSchema = z
  .object({
    promptTokenCount: z.number().optional(),
    candidatesTokenCount: z.number().optional(),
    totalTokenCount: z.number().optional(),
    cachedContentTokenCount: z.number().optional(),
    thoughtsTokenCount: z.number().optional(),
    toolUsePromptTokenCount: z.number().optional(),
  })
  .loose();
export type GeminiUsage = z.infer<typeof geminiUsageSchema>;

export const geminiResponseSchema = z
  .object({
    candidates: z.array(geminiCandidateSchema).optional(),
    promptFeedback: z
      .object({ blockReason: z.string().optional(), blockReasonMessage: z.string().optional() })
      .loose()
      .optional(),
    usageMetadata: geminiUsageSchema.optional(),
    modelVersion: z.string().optional(),
    responseId: z.string().optional(),
  })
  .loose();
export type GeminiResponse = z.infer<typeof geminiResponseSchema>;
