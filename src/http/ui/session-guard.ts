/**
 * How the console's API recognises its caller: the session cookie (HttpOnly, SameSite=Strict, Path=/ui, Secure
 * behind TLS or `X-Forwarded-Proto: https`), and for every call but the sign-in and the CSV download, the session's
 * CSRF token in `X-CSRF-Token`. Requests a browser marks as cross-site, or whose Origin is another host, are
 * refused before the session is looked up. Only /ui reads the cookie: the REST and inference routes never accept a
 * session, and the console never accepts an API key.
 */
import { GatewayError, unauthorized } from "../../core/errors";
import type { Session, SessionsService } from "../../services/sessions";

export const SESSION_COOKIE = "otari_console";
export const CSRF_HEADER = "x-csrf-token";

/** One cookie's value from the Cookie header. */
export function readCookie(request: Request, name: string): string | null {
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

/** Served over TLS, directly or behind a proxy that says so. */
export function isSecure(request: Request): boolean {
  return (
    request.url.startsWith("https:") ||
    request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase() === "https"
  );
}

export function sessionCookie(request: Request, sessionId: string, expiresAt: Date): string {
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - Date.now()) / 1000));
  return `${SESSION_COOKIE}=${sessionId}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${isSecure(request) ? "; Secure" : ""}`;
}

export function clearedCookie(request: Request): string {
  return `${SESSION_COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0${isSecure(request) ? "; Secure" : ""}`;
}

/**
 * False for a request a browser sent from another site: `Sec-Fetch-Site` other than same-origin/none, or an
 * `Origin` whose host is not this server's (the proxy's `X-Forwarded-Host` when set). Clients that send neither
 * (curl, scripts) are not browsers a third-party page could drive.
 */
export function fromSameOrigin(request: Request): boolean {
  const site = request.headers.get("sec-fetch-site");
  if (site && site !== "same-origin" && site !== "none") return false;
  const origin = request.headers.get("origin");
  if (!origin) return true;
  const host =
    request.headers.get("x-forwarded-host")?.split(",")[0]?.trim() ||
    request.headers.get("host") ||
    new URL(request.url).host;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

export const crossSiteRefused = () =>
  new GatewayError(403, "Cross-site request refused", { code: "cross_site_request" });

/**
 * The request's live session; `csrf` also requires its CSRF token. Throws 403 for a cross-site request or a missing
 * or wrong token, 401 without a valid session.
 */
export async function requireSession(
  sessions: SessionsService,
  request: Request,
  csrf: boolean,
): Promise<Session & { sessionId: string }> {
  if (!fromSameOrigin(request)) throw crossSiteRefused();
  const sessionId = readCookie(request, SESSION_COOKIE);
  if (!sessionId) throw unauthorized("Not signed in", "session_required");
  const session = await sessions.authenticate(sessionId);
  if (csrf && !sessions.checkCsrf(sessionId, request.headers.get(CSRF_HEADER))) {
    throw new GatewayError(403, "Missing or invalid CSRF token", { code: "csrf_failed" });
  }
  return { ...session, sessionId };
}
