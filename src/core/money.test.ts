import { expect, test } from "bun:test";
import fc from "fast-check";
import { costMicros, usdToMicros } from "./money";

const reference = (p: number, c: number, i: number, o: number) =>
  Number((BigInt(p) * BigInt(i) + BigInt(c) * BigInt(o) + 500_000n) / 1_000_000n);

test("costMicros rounds half up exactly, for ordinary and for huge counts and rates", () => {
  const count = fc.oneof(fc.nat(1_000_000), fc.nat({ max: Number.MAX_SAFE_INTEGER }));
  const rate = fc.oneof(fc.nat(100_000_000), fc.nat({ max: 2 ** 40 }));
  fc.assert(
    fc.property(count, count, rate, rate, (p, c, i, o) => costMicros(p, c, i, o) === reference(p, c, i, o)),
    { numRuns: 20_000 },
  );
  expect(costMicros(1, 0, 499_999, 0)).toBe(0);
  expect(costMicros(1, 0, 500_000, 0)).toBe(1);
  expect(costMicros(3, 2, 1_500_000, 2_000_000)).toBe(9);
});

test("usdToMicros rounds half-up on the shortest decimal form, whatever the float's binary expansion", () => {
  const cases: [number, number][] = [
    [0, 0],
    [1, 1_000_000],
    [2.5, 2_500_000],
    [0.0000005, 1], // 5e-7 is 4.99999…e-7 in binary
    [0.0000004999, 0],
    [0.0000015, 2],
    [1.25e-5, 13],
    [0.1 + 0.2, 300_000],
    [123456.1234565, 123456123457],
    [1e-7, 0],
    [5e-7, 1],
    [1e21, 1e27],
    [-0.0000005, -1],
    [-2.25, -2_250_000],
  ];
  for (const [usd, micros] of cases) expect([usd, usdToMicros(usd)]).toEqual([usd, micros]);
  expect(() => usdToMicros(Number.NaN)).toThrow();
  // Any decimal of up to 13 significant digits converts exactly as its decimal text does.
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10 ** 12 }), fc.integer({ min: 0, max: 9 }), (n, scale) => {
      const exact =
        scale <= 6
          ? BigInt(n) * 10n ** BigInt(6 - scale)
          : (() => {
              const d = 10n ** BigInt(scale - 6);
              return BigInt(n) / d + (2n * (BigInt(n) % d) >= d ? 1n : 0n);
            })();
      return usdToMicros(n / 10 ** scale) === Number(exact);
    }),
    { numRuns: 20_000 },
  );
});
