/** Wire schemas of /v1/pricing (openapi: SetPricingRequest, PricingResponse). */
import { z } from "zod";
import { isoDateTime } from "./common";

/** USD per million tokens (or per million of the row's `unit`); capped so µ$ stay exact integers. */
const price = z.number().min(0).max(1_000_000);

/**
 * What a price counts (docs/behaviour/storage.md#units): tokens (input and output rates), or one quantity priced at
 * the input rate, in USD per million of it: search units (rerank), images, characters (speech), seconds
 * (transcriptions). Token pricing is the default and is unchanged.
 */
export const PRICING_UNITS = ["token", "search_unit", "image", "character", "second"] as const;
export const pricingUnit = z.enum(PRICING_UNITS);
export type PricingUnit = z.infer<typeof pricingUnit>;

/** Quantities of the units other than tokens that a request consumed (or is expected to), by unit. */
export type UnitQuantities = Partial<Record<Exclude<PricingUnit, "token">, number>>;

/** A stored unit as a PricingUnit (a value written by a newer version reads as tokens). */
export const asPricingUnit = (stored: string): PricingUnit =>
  (PRICING_UNITS as readonly string[]).includes(stored) ? (stored as PricingUnit) : "token";

export const setPricingRequest = z
  .object({
    model_key: z.string().trim().min(1).max(512).describe("Model identifier in format 'provider:model'"),
    input_price_per_million: price.describe("Price per 1M input tokens"),
    output_price_per_million: price.describe("Price per 1M output tokens"),
    unit: pricingUnit
      .optional()
      .describe("What the rates count: `token` (default), or one quantity at the input rate per 1M of it"),
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
    unit: pricingUnit,
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: "PricingResponse" });
export type PricingResponse = z.infer<typeof pricingResponse>;

export const pricingAsOfQuery = z.object({ as_of: isoDateTime.optional() });
export const pricingDeleteQuery = z.object({ effective_at: isoDateTime.optional() });
