/**
 * fast-check generators for "almost well-formed" JSON bodies, and the property every hot-path canonical check
 * (src/core/wire/canonical.ts) must hold against the full path it stands in for.
 */
import { expect } from "bun:test";
import fc from "fast-check";

export const MISSING = Symbol("missing");

/** A member that is usually well-formed, else absent, null or of another type. */
export const member = <T>(good: fc.Arbitrary<T>) =>
  fc.oneof(
    { weight: 24, arbitrary: good },
    { weight: 1, arbitrary: fc.constant(MISSING) },
    { weight: 1, arbitrary: fc.constant(null) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.integer(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.string(),
        fc.boolean(),
        fc.constant([]),
        fc.constant({}),
      ),
    },
  );

/** An object of the generated members, MISSING ones left out. */
export function object(members: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(members).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== MISSING)));
}

/**
 * Wherever `canonical` says yes, `full` (the schema and normalisation it stands in for; it throws on a refusal)
 * accepts the value and returns it unchanged. The generator must reach the yes side often for this to mean much.
 */
export async function expectCanonicalKeptByFullPath(
  values: fc.Arbitrary<unknown>,
  canonical: (v: unknown) => boolean,
  full: (v: unknown) => unknown,
): Promise<void> {
  let yes = 0;
  await fc.assert(
    fc.asyncProperty(values, async (value) => {
      if (!canonical(value)) return;
      yes++;
      expect(await full(structuredClone(value))).toStrictEqual(value);
    }),
    { numRuns: 5000 },
  );
  expect(yes).toBeGreaterThan(50);
}
