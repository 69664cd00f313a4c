/**
 * Checks on JSON text before it is parsed. JSON.parse itself takes any nesting and turns numbers beyond the double
 * range into Infinity, but everything after it recurses (validation, error rendering, JSON.stringify on the way
 * upstream) and Infinity goes out as `null`. One linear pass over the text catches both; strings are skipped with
 * indexOf, so prompt text costs next to nothing.
 */

/** Deeper than any request a client has a reason to send (JSON Schemas of tools included). */
export const MAX_JSON_DEPTH = 128;

export type JsonTextProblem = "too_deep" | "number_out_of_range";

const QUOTE = 34;
const BACKSLASH = 92;

/** The first problem in `text`, or null. Malformed text passes: JSON.parse reports that. */
export function jsonTextProblem(text: string, maxDepth = MAX_JSON_DEPTH): JsonTextProblem | null {
  const n = text.length;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // The closing quote is the next one preceded by an even number of backslashes.
      let j = i;
      for (;;) {
        j = text.indexOf('"', j + 1);
        if (j < 0) return null;
        let k = j - 1;
        while (text.charCodeAt(k) === BACKSLASH) k--;
        if (((j - 1 - k) & 1) === 0) break;
      }
      i = j;
    } else if (c === 91 || c === 123) {
      if (++depth > maxDepth) return "too_deep";
    } else if (c === 93 || c === 125) depth--;
    else if ((c >= 48 && c <= 57) || c === 45) {
      const start = i;
      let exponent = false;
      for (; i + 1 < n; i++) {
        const d = text.charCodeAt(i + 1);
        if (d === 101 || d === 69) exponent = true;
        else if (!((d >= 48 && d <= 57) || d === 46 || d === 43 || d === 45)) break;
      }
      // Only an exponent or more than 308 digits can leave the double range.
      if (exponent || i - start > 308) {
        const value = Number(text.slice(start, i + 1));
        if (value === Infinity || value === -Infinity) return "number_out_of_range";
      }
    }
  }
  return null;
}
