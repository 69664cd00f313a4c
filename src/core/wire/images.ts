/** OpenAI image generation shapes (otari's `POST /v1/images/generations`). */
import { z } from "zod";
import { requestUserSchema } from "./chat.ts";
import { requestModelSchema } from "./model-name.ts";

export const imageRequestSchema = z
  .object({
    model: requestModelSchema,
    prompt: z.string().min(1),
    n: z.number().int().min(1).max(10).nullish(),
    quality: z.string().nullish(),
    response_format: z.string().nullish(),
    size: z.string().nullish(),
    style: z.string().nullish(),
    user: requestUserSchema,
  })
  .loose();
export type ImageRequest = z.infer<typeof imageRequestSchema>;

/** OpenAI's answer (https://platform.openai.com/docs/api-reference/images/object); `usage` on token-priced models. */
export const imageResponseSchema = z
  .object({
    created: z.number(),
    data: z.array(
      z
        .object({ url: z.string().nullish(), b64_json: z.string().nullish(), revised_prompt: z.string().nullish() })
        .loose(),
    ),
    usage: z
      .object({
        input_tokens: z.number().nullish(),
        output_tokens: z.number().nullish(),
        total_tokens: z.number().nullish(),
      })
      .loose()
      .nullish(),
  })
  .loose()
  .meta({ id: "ImageResponse" });
export type ImageResponse = z.infer<typeof imageResponseSchema>;
