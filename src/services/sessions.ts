/**
 * Console sessions: the master key is exchanged once for a random session id that the browser keeps in an HttpOnly
 * cookie (the key itself is never stored client-side). Only the id's SHA-256 is stored, in `ui_sessions`, and every
 * console request looks it up, so a logout or an expiry holds at once on every replica sharing the database.
 * The CSRF token is an HMAC of the session id: the server recomputes it, the page holds it in memory, and a site
 * that cannot read the page's responses cannot send it.
 * Failed sign-ins are limited per client address and in total (a master key typed by hand may be guessable).
 */
import { and, eq, gt, lt } from "drizzle-orm";
import { GatewayError, serviceUnavailable, unauthorized } from "../core/errors";
import { toIso } from "../core/time";
import { digestsEqual, hmacSha256Hex, mintSessionId, sha256Hex } from "../runtime/crypto";
import type { ServiceDeps } from "./deps";
import type { MasterKey } from "./master-key";

/** Failed sign-ins allowed per client address, and in total, per window. */
export const SIGN_IN_LIMITS = { perClient: 5, total: 50, windowMs: 60_000 } as const;

export interface Session {
  csrfToken: string;
  expiresAt: Date;
}

export interface SessionsDeps extends Pick<ServiceDeps, "store" | "now"> {
  masterKey: MasterKey;
  ttlSeconds: number;
}

const csrfTokenOf = (sessionId: string) => hmacSha256Hex(sessionId, "otari-console-csrf");

/** Failures inside a sliding window, per client and overall. */
function createFailureWindow(now: () => number) {
  const byClient = new Map<string, number[]>();
  let all: number[] = [];
  const fresh = (times: number[]) => times.filter((t) => t > now() - SIGN_IN_LIMITS.windowMs);
  return {
    /** Seconds until `client` may try again, or 0. */
    retryAfter(client: string): number {
      all = fresh(all);
      const mine = fresh(byClient.get(client) ?? []);
      const blocking = mine.length >= SIGN_IN_LIMITS.perClient ? mine : all.length >= SIGN_IN_LIMITS.total ? all : null;
      if (!blocking) return 0;
      const idx = blocking.length - (blocking === mine ? SIGN_IN_LIMITS.perClient : SIGN_IN_LIMITS.total);
      return Math.max(1, Math.ceil((blocking[idx]! + SIGN_IN_LIMITS.windowMs - now()) / 1000));
    },
    fail(client: string): void {
      all.push(now());
      if (byClient.size > 10_000) byClient.clear();
      byClient.set(client, [...fresh(byClient.get(client) ?? []), now()]);
    },
    succeed(client: string): void {
      byClient.delete(client);
    },
  };
}

export function createSessionsService(deps: SessionsDeps) {
  const { db, t } = deps.store;
  const failures = createFailureWindow(() => deps.now().getTime());

  return {
    /** Exchanges the master key for a new session; `client` (an address) is what failures are counted by. */
    async signIn(candidate: string, client: string): Promise<Session & { sessionId: string }> {
      if (deps.masterKey.hash === null)
        throw serviceUnavailable(
          "Master key not configured. Set OTARI_MASTER_KEY environment variable.",
          "master_key_not_configured",
        );
      const wait = failures.retryAfter(client);
      if (wait > 0) {
        throw new GatewayError(429, `Too many failed sign-ins; retry in ${wait} s`, {
          code: "sign_in_rate_limited",
          headers: { "Retry-After": String(wait) },
        });
      }
      if (!deps.masterKey.matches(candidate)) {
        failures.fail(client);
        throw unauthorized("Invalid master key", "invalid_master_key");
      }
      failures.succeed(client);
      const now = deps.now();
      const sessionId = mintSessionId();
      const expiresAt = new Date(now.getTime() + deps.ttlSeconds * 1000);
      await db.delete(t.uiSessions).where(lt(t.uiSessions.expiresAt, now));
      await db.insert(t.uiSessions).values({ idHash: sha256Hex(sessionId), createdAt: now, expiresAt });
      return { sessionId, csrfToken: csrfTokenOf(sessionId), expiresAt };
    },

    /** The live session of `sessionId`; 401 when it is missing, unknown, ended or expired. */
    async authenticate(sessionId: string | null | undefined): Promise<Session> {
      if (!sessionId) throw unauthorized("Not signed in", "session_required");
      const [row] = await db
        .select({ expiresAt: t.uiSessions.expiresAt })
        .from(t.uiSessions)
        .where(and(eq(t.uiSessions.idHash, sha256Hex(sessionId)), gt(t.uiSessions.expiresAt, deps.now())));
      if (!row) throw unauthorized("Session expired or signed out", "session_invalid");
      return { csrfToken: csrfTokenOf(sessionId), expiresAt: row.expiresAt };
    },

    /** True when `token` is the CSRF token of `session`'s id (constant time). */
    checkCsrf(sessionId: string, token: string | null | undefined): boolean {
      return !!token && digestsEqual(sha256Hex(token), sha256Hex(csrfTokenOf(sessionId)));
    },

    /** Ends a session everywhere. */
    async signOut(sessionId: string): Promise<void> {
      await db.delete(t.uiSessions).where(eq(t.uiSessions.idHash, sha256Hex(sessionId)));
    },
  };
}

export type SessionsService = ReturnType<typeof createSessionsService>;

export const sessionInfoOf = (s: Session) => ({ csrf_token: s.csrfToken, expires_at: toIso(s.expiresAt) });
