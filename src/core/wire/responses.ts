import { z } from "zod";
import { requestModelSchema } from "./model-name.ts";

/** OpenAI Responses API: forwarded verbatim (docs/api.md#responses); only `model`, `input` and usage are read. */

export const responsesRequestSchema = z
  .object({ model: requestModelSchema, input: z.unknown(), stream: z.boolean().nullish() })
  .loose();
export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;

const count = z.number().nullish();
export const responsesUsageSchema = z
  .object({
    input_tokens: count,
    output_tokens: count,
    total_tokens: count,
    input_tokens_details: z.object({ cached_tokens: count }).loose().nullish(),
    output_tokens_details: z.object({ reasoning_tokens: count }).loose().nullish(),
  })
  .loose();

export const responsesObjectSchema = z
  .object({ id: z.string().default(""), object: z.string().default("response"), usage: responsesUsageSchema.nullish() })
  .loose();
export type ResponsesObject = z.infer<typeof responsesObjectSchema>;

/** The events that end a Responses stream (its `response` carries the final usage). */
export const RESPONSES_TERMINAL_EVENTS: ReadonlySet<string> = new Set([
  "response.completed",
  "response.incomplete",
  "response.failed",
]);

/** A Responses stream event; the SSE `event:` name equals `type`. */
export const responsesEventSchema = z.object({ type: z.string(), response: responsesObjectSchema.nullish() }).loose();
export type ResponsesEvent = z.infer<typeof responsesEventSchema>;
