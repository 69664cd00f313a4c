/** Headers on every response (docs/api.md#cross-cutting-rules). Health probes get no Cache-Control. */
import { Elysia } from "elysia";
import { pathOf } from "../url-path";

type HeaderBag = Record<string, string | number | undefined> & { vary?: string | number };

export function applySecurityHeaders(path: string, headers: HeaderBag): void {
  headers["x-content-type-options"] = "nosniff";
  headers["x-frame-options"] = "DENY";
  headers["referrer-policy"] = "strict-origin-when-cross-origin";
  if (path.startsWith("/health")) return;
  headers["cache-control"] = "private, no-store, no-cache";
  // Every request passes here, almost always with no Vary yet: skip the merge then.
  headers.vary = headers.vary === undefined ? "Authorization" : mergeVary(String(headers.vary), "Authorization");
}

/** Merges Vary values: unique, sorted, comma+space separated. */
export function mergeVary(existing: string | undefined, ...add: string[]): string {
  const values = new Set(
    (existing ?? "")
      .split(",")
      .map((v) => v.trim())
      .filter(Boolean),
  );
  for (const v of add) values.add(v);
  return [...values].sort((a, b) => a.localeCompare(b)).join(", ");
}

/** The security headers plugin: set on every request before routing, so errors and 404s carry them too. */
export const securityHeaders = () =>
  new Elysia({ name: "security-headers" }).onRequest(({ request, set }) =>
    applySecurityHeaders(pathOf(request.url), set.headers),
  );
