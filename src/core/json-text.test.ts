/** The pre-parse scan must agree with the parsed value: its depth, and whether a number left the double range. */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { jsonTextProblem, MAX_JSON_DEPTH } from "./json-text";

/** Nesting depth of a parsed value: a scalar is 0, `[]` is 1. */
function depthOf(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (value && typeof value === "object") return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  return 0;
}

describe("jsonTextProblem", () => {
  test("too deep exactly when the parsed value is deeper than the limit, whatever the strings and spacing", () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 8 }),
        fc.integer({ min: 0, max: 9 }),
        fc.constantFrom(undefined, 1, "\t"),
        (value, limit, space) => {
          const text = JSON.stringify(value, null, space);
          expect(jsonTextProblem(text, limit)).toBe(depthOf(value) > limit ? "too_deep" : null);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test("brackets and quotes inside strings do not count", () => {
    expect(jsonTextProblem(JSON.stringify({ s: "[[[[{{{{", t: 'a"[', u: "\\", v: '\\"[[' }), 1)).toBeNull();
    expect(jsonTextProblem('["\\\\", [[1]]]', 2)).toBe("too_deep");
    expect(jsonTextProblem(JSON.stringify(["1e999 [[[["]), 1)).toBeNull();
  });

  test("the default limit: 128 levels pass, 129 do not, 100,000 are found in one pass", () => {
    const nested = (n: number) => "[".repeat(n) + "]".repeat(n);
    expect(MAX_JSON_DEPTH).toBe(128);
    expect(jsonTextProblem(nested(128))).toBeNull();
    expect(jsonTextProblem(nested(129))).toBe("too_deep");
    expect(jsonTextProblem(nested(100_000))).toBe("too_deep");
  });

  test("numbers JSON.parse would turn into ±Infinity, and only those", () => {
    for (const n of ["1e309", "-1e309", "1E+400", "0.5e309", `1${"0".repeat(309)}`, `-${"9".repeat(400)}.5`]) {
      expect(Number.isFinite(JSON.parse(n))).toBe(false);
      expect(jsonTextProblem(`{"temperature":${n}}`)).toBe("number_out_of_range");
    }
    for (const n of [
      "1e308",
      "1.7976931348623157e308",
      "1e-400",
      "-0",
      "0.000001",
      `1${"0".repeat(300)}`,
      `0.${"0".repeat(400)}1`,
    ]) {
      expect(Number.isFinite(JSON.parse(n))).toBe(true);
      expect(jsonTextProblem(`[${n}, true, false, null]`)).toBeNull();
    }
  });

  test("malformed text passes the scan (JSON.parse reports it)", () => {
    for (const text of ['{"a": "unterminated', "1e", "[1,", "}}}"]) expect(jsonTextProblem(text)).toBeNull();
  });
});
