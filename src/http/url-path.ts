/**
 * The path of a request's URL, without a full URL parse (this runs on every request). Bun gives an absolute URL,
 * or only the request target when the Host header is not a valid host (empty, or holding `/`, `@`, spaces...).
 */
export function pathOf(url: string): string {
  const start = url.charCodeAt(0) === 47 ? 0 : url.indexOf("/", url.indexOf("://") + 3);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  return query < 0 ? url.slice(start) : url.slice(start, query);
}
