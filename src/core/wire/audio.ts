/** OpenAI audio shapes (otari's `POST /v1/audio/speech`). */
import { z } from "zod";
import { requestUserSchema } from "./chat.ts";
import { requestModelSchema } from "./model-name.ts";

/** https://platform.openai.com/docs/api-reference/audio/createSpeech (input at most 4096 characters there). */
export const speechRequestSchema = z
  .object({
    model: requestModelSchema,
    input: z.string().min(1),
    voice: z.string().min(1),
    instructions: z.string().nullish(),
    response_format: z.string().nullish(),
    speed: z.number().min(0.25).max(4).nullish(),
    user: requestUserSchema,
  })
  .loose();
export type SpeechRequest = z.infer<typeof speechRequestSchema>;
