/**
 * CORS (docs/api.md#cross-cutting-rules), on only when `cors_allow_origins` is non-empty, answering as otari's CORS
 * middleware did: a preflight gets 200 with the allowed methods and headers, or 400 naming what was refused; any other
 * request from an allowed origin gets that origin back (`*` for a `*` list, which also turns credentials off).
 */
import { Elysia } from "elysia";
import { mergeVary } from "./security-headers";

const METHODS = ["GET", "POST", "PATCH", "DELETE", "OPTIONS"];
/** The gateway's credential headers, plus the CORS-safelisted request headers a browser may always send. */
const HEADERS = [
  "Accept",
  "Accept-Language",
  "Authorization",
  "AnyLLM-Key",
  "Content-Language",
  "Content-Type",
  "Otari-Key",
  "X-AnyLLM-Key",
  "x-api-key",
];

type HeaderBag = Record<string, string | number | undefined>;

/** Sets CORS headers for `request` on `headers`; returns the answer itself for a preflight. Null when CORS is off. */
export type CorsHandler = (request: Request, headers: HeaderBag) => Response | undefined;

export function createCors(origins: readonly string[]): CorsHandler | null {
  if (origins.length === 0) return null;
  const anyOrigin = origins.includes("*");
  const allowed = new Set(origins);
  const credentials = !anyOrigin;
  const allowedHeaders = new Set(HEADERS.map((h) => h.toLowerCase()));
  const preflightHeaders: Record<string, string> = {
    "access-control-allow-methods": METHODS.join(", "),
    "access-control-allow-headers": HEADERS.join(", "),
    "access-control-max-age": "600",
    ...(credentials ? { "access-control-allow-credentials": "true" } : {}),
  };

  const allowOrigin = (origin: string, headers: HeaderBag): boolean => {
    if (anyOrigin) {
      headers["access-control-allow-origin"] = "*";
      return true;
    }
    if (!allowed.has(origin)) return false;
    headers["access-control-allow-origin"] = origin;
    headers.vary = mergeVary(headers.vary === undefined ? undefined : String(headers.vary), "Origin");
    return true;
  };

  return (request, headers) => {
    const origin = request.headers.get("origin");
    if (origin === null) return undefined;
    const wanted = request.method === "OPTIONS" ? request.headers.get("access-control-request-method") : null;
    if (wanted === null) {
      if (allowOrigin(origin, headers) && credentials) headers["access-control-allow-credentials"] = "true";
      return undefined;
    }
    const refused: string[] = [];
    if (!allowOrigin(origin, headers)) refused.push("origin");
    if (!METHODS.includes(wanted.toUpperCase())) refused.push("method");
    const requested = (request.headers.get("access-control-request-headers") ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase());
    if (requested.some((h) => h && !allowedHeaders.has(h))) refused.push("headers");
    const out = new Headers();
    for (const [name, value] of Object.entries(headers)) if (value !== undefined) out.set(name, String(value));
    for (const [name, value] of Object.entries(preflightHeaders)) out.set(name, value);
    out.set("content-type", "text/plain; charset=utf-8");
    return refused.length
      ? new Response(`Disallowed CORS ${refused.join(", ")}`, { status: 400, headers: out })
      : new Response("OK", { status: 200, headers: out });
  };
}

/** The CORS plugin: a preflight is answered before routing, other requests get their origin's headers. */
export function cors(origins: readonly string[]) {
  const handle = createCors(origins);
  const plugin = new Elysia({ name: "cors", seed: origins });
  return handle ? plugin.onRequest(({ request, set }) => handle(request, set.headers)) : plugin;
}
