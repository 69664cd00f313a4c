import { expect, test } from "bun:test";
import fc from "fast-check";
import { costMicros } from "./money";

const reference = (p: number, c: number, i: number, o: number) => Number((BigInt(p) * BigInt(i) + BigInt(c) * BigInt(o) + 500_000n) / 1_000_000n);

test("costMicros rounds half up exactly, for ordinary and for huge counts and rates", () => {
  const count = fc.oneof(fc.nat(1_000_000), fc.nat({ max: Number.MAX_SAFE_INTEGER }));
  const rate = fc.oneof(fc.nat(100_000_000), fc.nat({ max: 2 ** 40 }));
  fc.assert(fc.property(count, count, rate, rate, (p, c, i, o) => costMicros(p, c, i, o) === reference(p, c, i, o)), { numRuns: 20_000 });
  expect(costMicros(1, 0, 499_999, 0)).toBe(0);
  expect(costMicros(1, 0, 500_000, 0)).toBe(1);
  expect(costMicros(3, 2, 1_500_000, 2_000_000)).toBe(9);
});
