/**
 * Elysia re-wraps a Response a handler returns whenever `set.headers` is not empty: a new Response around the old
 * one's body (so a JSON body is sent as a stream) with every header copied. Handlers that build their own Response
 * take the headers the app put in `set.headers` (request id, security headers) into it instead, and leave
 * `set.headers` empty, so the Response goes out as built.
 */
type SetHeaders = Record<string, string | number | undefined>;

export function takeSetHeaders(set: { headers: SetHeaders }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key in set.headers) {
    const value = set.headers[key];
    if (value !== undefined) out[key] = String(value);
  }
  set.headers = {};
  return out;
}
