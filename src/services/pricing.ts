/**
 * Model pricing with effective_at history (docs/api.md#pricing, docs/behaviour/storage.md#pricing). Rates are µ$ per
 * million tokens at rest.
 */
import { and, asc, desc, eq, inArray, lte } from "drizzle-orm";
import { badRequest, notFound } from "../core/errors";
import { microsToUsd, usdToMicros } from "../core/money";
import type { Pagination } from "../core/schemas/common";
import { asPricingUnit, type PricingResponse, type SetPricingInput } from "../core/schemas/pricing";
import { toIso } from "../core/time";
import type { Store } from "../db/client";
import type { ServiceDeps } from "./deps";

type PricingRow = Store["t"]["modelPricing"]["$inferSelect"];

export function toPricingResponse(row: PricingRow): PricingResponse {
  return {
    model_key: row.modelKey,
    effective_at: toIso(row.effectiveAt),
    input_price_per_million: microsToUsd(row.inputPricePerMillionMicros),
    output_price_per_million: microsToUsd(row.outputPricePerMillionMicros),
    unit: asPricingUnit(row.unit),
    created_at: toIso(row.createdAt),
    updated_at: toIso(row.updatedAt),
  };
}

/** Splits `provider:model` (or legacy `provider/model`) at the first separator; null when there is none. */
export function splitModelKey(key: string): { provider: string; model: string } | null {
  const colon = key.indexOf(":");
  const slash = key.indexOf("/");
  const at = colon >= 0 && (slash < 0 || colon < slash) ? colon : slash;
  if (at <= 0 || at === key.length - 1) return null;
  return { provider: key.slice(0, at).trim().toLowerCase(), model: key.slice(at + 1) };
}

/** The keys a lookup tries, in order: literal, colon form, legacy slash form (docs/api.md#pricing). */
function lookupKeys(key: string): string[] {
  const parts = splitModelKey(key);
  const keys = [key];
  if (parts) keys.push(`${parts.provider}:${parts.model}`, `${parts.provider}/${parts.model}`);
  return [...new Set(keys)];
}

const pricingNotFound = (key: string) => notFound(`Pricing for model '${key}' not found`, "model_not_found");

export interface PricingDeps extends ServiceDeps {
  /** Provider names the selector parser accepts (docs/behaviour/providers.md#provider-names). */
  isKnownProvider: (name: string) => boolean;
}

export function createPricingService({ store, now, changed, isKnownProvider }: PricingDeps) {
  const { db, t } = store;

  /** Newest row of the first lookup key that has one at or before `asOf`. */
  async function findAsOf(key: string, asOf: Date): Promise<PricingRow | null> {
    for (const candidate of lookupKeys(key)) {
      const [row] = await db
        .select()
        .from(t.modelPricing)
        .where(and(eq(t.modelPricing.modelKey, candidate), lte(t.modelPricing.effectiveAt, asOf)))
        .orderBy(desc(t.modelPricing.effectiveAt))
        .limit(1);
      if (row) return row;
    }
    return null;
  }

  async function history(key: string): Promise<PricingRow[]> {
    for (const candidate of lookupKeys(key)) {
      const rows = await db
        .select()
        .from(t.modelPricing)
        .where(eq(t.modelPricing.modelKey, candidate))
        .orderBy(desc(t.modelPricing.effectiveAt));
      if (rows.length) return rows;
    }
    return [];
  }

  return {
    /** Normalises the key to colon form; an existing (key, effective_at) pair is updated in place. */
    async set(input: SetPricingInput): Promise<PricingResponse> {
      const parts = splitModelKey(input.model_key);
      if (!parts)
        throw badRequest(
          `Invalid model format. Expected 'provider:model', got '${input.model_key}'`,
          "invalid_request",
          "model_key",
        );
      if (!isKnownProvider(parts.provider))
        throw badRequest(`Unsupported provider '${parts.provider}'`, "unsupported_provider", "model_key");
      const modelKey = `${parts.provider}:${parts.model}`;
      const at = now();
      const effectiveAt = input.effective_at ?? at;
      const values = {
        inputPricePerMillionMicros: usdToMicros(input.input_price_per_million),
        outputPricePerMillionMicros: usdToMicros(input.output_price_per_million),
        unit: input.unit ?? "token",
        updatedAt: at,
      };
      const [row] = await db
        .insert(t.modelPricing)
        .values({ modelKey, effectiveAt, createdAt: at, ...values })
        .onConflictDoUpdate({ target: [t.modelPricing.modelKey, t.modelPricing.effectiveAt], set: values })
        .returning();
      changed("pricing");
      return toPricingResponse(row!);
    },

    /** All versions, by model_key ascending then effective_at descending. */
    async list({ skip, limit }: Pagination): Promise<PricingResponse[]> {
      const rows = await db
        .select()
        .from(t.modelPricing)
        .orderBy(asc(t.modelPricing.modelKey), desc(t.modelPricing.effectiveAt))
        .limit(limit)
        .offset(skip);
      return rows.map(toPricingResponse);
    },

    async get(key: string, asOf?: Date): Promise<PricingResponse> {
      const row = await findAsOf(key, asOf ?? now());
      if (!row) throw pricingNotFound(key);
      return toPricingResponse(row);
    },

    async history(key: string): Promise<PricingResponse[]> {
      const rows = await history(key);
      if (!rows.length) throw pricingNotFound(key);
      return rows.map(toPricingResponse);
    },

    /** Without `effectiveAt` every version of the key goes. */
    async remove(key: string, effectiveAt?: Date): Promise<void> {
      const rows = await history(key);
      if (!rows.length) throw pricingNotFound(key);
      const storedKey = rows[0]!.modelKey;
      if (effectiveAt) {
        const hit = rows.find((r) => r.effectiveAt.getTime() === effectiveAt.getTime());
        if (!hit)
          throw notFound(
            `Pricing for model '${key}' with effective_at ${toIso(effectiveAt)} not found`,
            "model_not_found",
          );
        await db
          .delete(t.modelPricing)
          .where(and(eq(t.modelPricing.modelKey, storedKey), eq(t.modelPricing.effectiveAt, hit.effectiveAt)));
      } else {
        await db.delete(t.modelPricing).where(inArray(t.modelPricing.modelKey, [storedKey]));
      }
      changed("pricing");
    },

    /** Latest row per model_key (for /v1/models). */
    async latestPerModel(): Promise<PricingResponse[]> {
      const rows = await db
        .select()
        .from(t.modelPricing)
        .orderBy(asc(t.modelPricing.modelKey), desc(t.modelPricing.effectiveAt));
      const seen = new Set<string>();
      return rows.filter((r) => !seen.has(r.modelKey) && seen.add(r.modelKey)).map(toPricingResponse);
    },
  };
}

export type PricingService = ReturnType<typeof createPricingService>;
