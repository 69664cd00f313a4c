/** Wire schemas of /v1/models (openapi: ModelObject, ModelListResponse, ModelPricingInfo). */
import { z } from "zod";

export const modelPricingInfo = z
  .object({ input_price_per_million: z.number(), output_price_per_million: z.number() })
  .meta({ id: "ModelPricingInfo" });

export const modelObject = z
  .object({
    id: z.string(),
    object: z.literal("model"),
    created: z.number().int(),
    owned_by: z.string(),
    pricing: modelPricingInfo.nullable(),
  })
  .meta({ id: "ModelObject" });
export type ModelObject = z.infer<typeof modelObject>;

export const modelListResponse = z
  .object({ object: z.literal("list"), data: z.array(modelObject) })
  .meta({ id: "ModelListResponse" });
export type ModelListResponse = z.infer<typeof modelListResponse>;
