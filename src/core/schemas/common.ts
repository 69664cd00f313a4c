/** Shared wire pieces: pagination, datetimes, limits, metadata. */
import { z } from "zod";
import { parseIsoUtc } from "../time";

/** An ISO 8601 datetime; a naive one (no offset) is UTC. Parsed to a Date. */
export const isoDateTime = z
  .string()
  .meta({ format: "date-time" })
  .transform((text, ctx) => {
    const date = parseIsoUtc(text);
    if (!date) {
      ctx.addIssue({ code: "custom", message: "Input should be a valid datetime" });
      return z.NEVER;
    }
    return date;
  });

export const metadataSchema = z.record(z.string(), z.unknown());

/** Per-minute limits: positive integers, capped so nothing absurd reaches the counters. */
export const limitSchema = z.number().int().min(1).max(1_000_000_000);

/** Requests in flight at once; 0 means no limit (how a PATCH removes one). */
export const maxConcurrentSchema = z
  .number()
  .int()
  .min(0)
  .max(1_000_000)
  .describe("Requests in flight at once (a stream counts until its last byte); 0 = no limit");

/** A reference to another record (a team or budget id); an empty string removes it on PATCH. */
export const clearableRef = (what: string) =>
  z.string().max(256).describe(`${what}; an empty string removes it (PATCH)`);

/** `provider:model` or `provider:*` entries (docs/behaviour/auth.md#model-allow-lists). */
export const allowedModelsSchema = z
  .array(z.string().regex(/^[A-Za-z0-9_.-]+[:/].+$/, "entries must be 'provider:model' or 'provider:*'"))
  .max(1000);

/** `skip`/`limit` query (docs/api.md#cross-cutting-rules): limit 1..1000, default 100. */
export const paginationQuery = z.object({
  skip: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type Pagination = z.infer<typeof paginationQuery>;

export const deletedResponse = z.object({ deleted: z.literal(true), id: z.string() });
