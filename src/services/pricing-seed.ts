/**
 * Seeds `pricing` from config at start-up (docs/behaviour/storage.md#pricing): keys normalised to colon form; the
 * provider must be configured; an existing row for the same key and time wins over config (DB/API values take
 * precedence).
 */
import { and, eq } from "drizzle-orm";
import { usdToMicros } from "../core/money";
import type { PricingUnit } from "../core/schemas/pricing";
import { parseIsoUtc } from "../core/time";
import type { Store } from "../db/client";
import { logger } from "../runtime/logger";
import { splitModelKey } from "./pricing";

const log = logger("pricing");

export interface PricingSeedEntry {
  input_price_per_million: number;
  output_price_per_million: number;
  unit?: PricingUnit;
  effective_at?: string | null;
}

export class PricingSeedError extends Error {}

export async function seedPricing(
  store: Store,
  entries: Record<string, PricingSeedEntry>,
  configuredProviders: string[],
  now: Date,
): Promise<number> {
  const { db, t } = store;
  const providers = new Set(configuredProviders.map((p) => p.toLowerCase()));
  let seeded = 0;
  for (const [rawKey, entry] of Object.entries(entries)) {
    const parts = splitModelKey(rawKey);
    if (!parts) throw new PricingSeedError(`Cannot set pricing for model '${rawKey}': expected 'provider:model'`);
    if (!providers.has(parts.provider)) {
      throw new PricingSeedError(
        `Cannot set pricing for model '${rawKey}': provider '${parts.provider}' is not configured in the providers section`,
      );
    }
    const modelKey = `${parts.provider}:${parts.model}`;
    const effectiveAt = entry.effective_at ? parseIsoUtc(entry.effective_at) : now;
    if (!effectiveAt)
      throw new PricingSeedError(
        `Cannot set pricing for model '${rawKey}': effective_at '${entry.effective_at}' is not a datetime`,
      );
    const [existing] = await db
      .select({ key: t.modelPricing.modelKey })
      .from(t.modelPricing)
      .where(and(eq(t.modelPricing.modelKey, modelKey), eq(t.modelPricing.effectiveAt, effectiveAt)));
    if (existing) {
      log.warn(
        `Pricing for '${modelKey}' at ${effectiveAt.toISOString()} already exists in the database; keeping the database value`,
      );
      continue;
    }
    await db.insert(t.modelPricing).values({
      modelKey,
      effectiveAt,
      inputPricePerMillionMicros: usdToMicros(entry.input_price_per_million),
      outputPricePerMillionMicros: usdToMicros(entry.output_price_per_million),
      unit: entry.unit ?? "token",
      createdAt: now,
      updatedAt: now,
    });
    seeded++;
  }
  return seeded;
}
