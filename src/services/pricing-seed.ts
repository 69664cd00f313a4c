/**
 * Seeds `pricing` from config at start-up (docs/behaviour/storage.md#pricing): keys normalised to colon form; the
 * provider must be configured; an existing row for the same key and time wins over config (DB/API values take
 * precedence); an entry without effective_at whose prices are those in effect adds no version.
 */
import { and, desc, eq, lte } from "drizzle-orm";
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
    const inputMicros = usdToMicros(entry.input_price_per_million);
    const outputMicros = usdToMicros(entry.output_price_per_million);
    const unit = entry.unit ?? "token";
    // With a time: the version at that time. Without: the version in effect now, which a restart with unchanged
    // config leaves as it is (a new version with its prices would change no price, only add a row per start).
    const at = t.modelPricing.effectiveAt;
    const [found] = await db
      .select({
        effectiveAt: at,
        input: t.modelPricing.inputPricePerMillionMicros,
        output: t.modelPricing.outputPricePerMillionMicros,
        unit: t.modelPricing.unit,
      })
      .from(t.modelPricing)
      .where(
        and(eq(t.modelPricing.modelKey, modelKey), entry.effective_at ? eq(at, effectiveAt) : lte(at, effectiveAt)),
      )
      .orderBy(desc(at))
      .limit(1);
    if (found?.effectiveAt.getTime() === effectiveAt.getTime()) {
      log.warn(
        `Pricing for '${modelKey}' at ${effectiveAt.toISOString()} already exists in the database; keeping the database value`,
      );
      continue;
    }
    if (found && found.input === inputMicros && found.output === outputMicros && found.unit === unit) continue;
    await db.insert(t.modelPricing).values({
      modelKey,
      effectiveAt,
      inputPricePerMillionMicros: inputMicros,
      outputPricePerMillionMicros: outputMicros,
      unit,
      createdAt: now,
      updatedAt: now,
    });
    seeded++;
  }
  return seeded;
}
