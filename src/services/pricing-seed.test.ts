/**
 * Seeding prices from config at start-up (docs/behaviour/storage.md#seeding-prices-from-config), on both dialects:
 * a restart with unchanged config writes nothing, changed prices add a version, a version at an explicit time in the
 * database wins over config.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { asc, eq } from "drizzle-orm";
import { DIALECTS, type TestDatabase } from "../../tests/helpers/db";
import type { Store } from "../db/client";
import { seedPricing } from "./pricing-seed";

describe.each(DIALECTS)("seedPricing ($dialect)", ({ create }) => {
  let db: TestDatabase;
  let store: Store;
  beforeAll(async () => {
    db = await create();
    store = db.store;
  });
  afterAll(() => db.drop());

  const versions = (key: string) =>
    store.db
      .select()
      .from(store.t.modelPricing)
      .where(eq(store.t.modelPricing.modelKey, key))
      .orderBy(asc(store.t.modelPricing.effectiveAt));
  const at = (iso: string) => new Date(iso);
  const price = (input: number, output: number, more: { effective_at?: string } = {}) => ({
    input_price_per_million: input,
    output_price_per_million: output,
    ...more,
  });

  test("without effective_at: a version at the start time, none again while the prices are those in effect", async () => {
    expect(await seedPricing(store, { "openai:m1": price(1, 2) }, ["openai"], at("2026-01-01T00:00:00Z"))).toBe(1);
    expect(await seedPricing(store, { "openai:m1": price(1, 2) }, ["openai"], at("2026-01-02T00:00:00Z"))).toBe(0);
    expect(await seedPricing(store, { "openai/m1": price(1, 2) }, ["openai"], at("2026-01-03T00:00:00Z"))).toBe(0);
    expect((await versions("openai:m1")).map((v) => v.effectiveAt.toISOString())).toEqual(["2026-01-01T00:00:00.000Z"]);
    // New prices are a new version from that start on.
    expect(await seedPricing(store, { "openai:m1": price(1, 3) }, ["openai"], at("2026-01-04T00:00:00Z"))).toBe(1);
    const rows = await versions("openai:m1");
    expect(rows.map((v) => [v.effectiveAt.toISOString(), v.outputPricePerMillionMicros])).toEqual([
      ["2026-01-01T00:00:00.000Z", 2_000_000],
      ["2026-01-04T00:00:00.000Z", 3_000_000],
    ]);
    // Compared with the version in effect at the start, not the newest: one dated later does not count.
    await store.db.insert(store.t.modelPricing).values({
      modelKey: "openai:m1",
      effectiveAt: at("2027-01-01T00:00:00Z"),
      inputPricePerMillionMicros: 1_000_000,
      outputPricePerMillionMicros: 2_000_000,
      unit: "token",
      createdAt: at("2026-01-04T00:00:00Z"),
      updatedAt: at("2026-01-04T00:00:00Z"),
    });
    expect(await seedPricing(store, { "openai:m1": price(1, 2) }, ["openai"], at("2026-01-05T00:00:00Z"))).toBe(1);
    expect((await versions("openai:m1")).length).toBe(4);
  });

  test("with effective_at: written once; a version already at that time is kept, whatever config says", async () => {
    const entry = { "openai:m2": price(5, 6, { effective_at: "2026-02-01T00:00:00Z" }) };
    expect(await seedPricing(store, entry, ["openai"], at("2026-03-01T00:00:00Z"))).toBe(1);
    const changed = { "openai:m2": price(7, 8, { effective_at: "2026-02-01T00:00:00Z" }) };
    expect(await seedPricing(store, changed, ["openai"], at("2026-03-02T00:00:00Z"))).toBe(0);
    const rows = await versions("openai:m2");
    expect(rows.map((v) => [v.effectiveAt.toISOString(), v.inputPricePerMillionMicros])).toEqual([
      ["2026-02-01T00:00:00.000Z", 5_000_000],
    ]);
  });
});
