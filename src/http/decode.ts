/**
 * Path parameters arrive decoded by the router for `:name` segments but raw for `*` wildcards, so routes decode
 * once more to cover both; a `%` that is not an escape (e.g. `a%~b` after the router's decoding) is kept as
 * written instead of failing the request with a URIError (a 500).
 */
export function decodeParam(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
