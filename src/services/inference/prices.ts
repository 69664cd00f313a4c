/** Current prices for the hot path (docs/behaviour/storage.md#pricing), from an in-memory snapshot of model_pricing. */
import { asc, desc } from "drizzle-orm";
import { asPricingUnit, type PricingUnit } from "../../core/schemas/pricing";
import type { Store } from "../../db/client";
import { createSnapshot } from "./snapshot";

/** µ$ per million tokens (or per million of `unit`, priced at the input rate). */
export interface Price {
  modelKey: string;
  inputRate: number;
  outputRate: number;
  unit: PricingUnit;
  /** Both rates 0: allowed even over budget (docs/behaviour/storage.md#pricing). */
  free: boolean;
}

interface Version {
  effectiveAt: number;
  price: Price;
}

export function createPriceBook(store: Store, ttlMs = 1000) {
  const { db, t } = store;
  const snapshot = createSnapshot(async () => {
    const rows = await db
      .select()
      .from(t.modelPricing)
      .orderBy(asc(t.modelPricing.modelKey), desc(t.modelPricing.effectiveAt));
    const byKey = new Map<string, Version[]>();
    for (const r of rows) {
      const list = byKey.get(r.modelKey) ?? [];
      const price = {
        modelKey: r.modelKey,
        inputRate: r.inputPricePerMillionMicros,
        outputRate: r.outputPricePerMillionMicros,
        unit: asPricingUnit(r.unit),
        free: r.inputPricePerMillionMicros === 0 && r.outputPricePerMillionMicros === 0,
      };
      list.push({ effectiveAt: r.effectiveAt.getTime(), price });
      byKey.set(r.modelKey, list);
    }
    return byKey;
  }, ttlMs);

  const find = (byKey: Map<string, Version[]>, keys: readonly string[], at: number): Price | null => {
    for (const key of keys) {
      const versions = byKey.get(key);
      if (!versions) continue;
      for (const v of versions) if (v.effectiveAt <= at) return v.price;
    }
    return null;
  };

  return {
    /** The newest version at or before `at` of the first key that has one; null = unpriced. */
    async lookup(keys: readonly string[], at = Date.now()): Promise<Price | null> {
      return find(await snapshot.get(), keys, at);
    },
    /** `lookup` without waiting: undefined while no snapshot is loaded (then call `lookup`). */
    peek(keys: readonly string[], at = Date.now()): Price | null | undefined {
      const byKey = snapshot.peek();
      return byKey === undefined ? undefined : find(byKey, keys, at);
    },
    invalidate: snapshot.invalidate,
  };
}

export type PriceBook = ReturnType<typeof createPriceBook>;
