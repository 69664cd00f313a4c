/** Wire schemas of /v1/pricing (openapi: SetPricingRequest, PricingResponse). */
import { z } from "zod";
import { isoDateTime } from "./common";

/** USD per million tokens; capped so µ$ stay exact integers. */
const price = z.number().min(0).max(1_000_000);

export const setPricingRequest = z
  .object({
    model_key: z.string().trim().min(1).max(512).describe("Model identifier in format 'provider:model'"),
    input_price_per_million: price.describe("Price per 1M input tokens"),
    output_price_per_million: price.describe("Price per 1M output tokens"),
    effective_at: isoDateTime
      .nullish()
      .describe("ISO 8601 datetime from which this price applies. Defaults to now if omitted."),
  })
  .strict()
  .meta({ id: "SetPricingRequest" });
export type SetPricingInput = z.infer<typeof setPricingRequest>;

export const pricingResponse = z
  .object({
    model_key: z.string(),
    effective_at: z.string(),
    input_price_per_million: z.number(),
    output_price_per_million: z.number(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: "PricingResponse" });
export type PricingResponse = z.infer<typeof pricingResponse>;

export const pricingAsOfQuery = z.object({ as_of: isoDateTime.optional() });
export const pricingDeleteQuery = z.object({ effective_at: isoDateTime.optional() });
