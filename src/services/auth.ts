/**
 * Who is calling (docs/behaviour/auth.md): one credential per request by header precedence, then the master key or a
 * virtual key. Virtual keys are served from an in-memory cache keyed by the presented token, so the hot path neither
 * hashes nor makes a DB round trip (the token is in this process's memory anyway, in the request it came with; only the
 * database must never hold it). The cache is dropped on every local key/user change and entries expire after
 * `cacheTtlMs`, so changes made by another process (CLI, replica) apply within that time. The master key is never
 * cached: it is checked first, and it cannot change while the process runs.
 */
import { and, eq, isNull, lt, or } from "drizzle-orm";
import { databaseUnavailable, GatewayError } from "../core/errors";
import type { Store } from "../db/client";
import { sha256Hex } from "../runtime/crypto";
import { logger } from "../runtime/logger";
import type { KeyRow } from "./keys";
import type { MasterKey } from "./master-key";

const log = logger("auth");

/** Header names in precedence order; the first four need `Bearer `, `x-api-key` takes the raw token. */
const BEARER_HEADERS = ["otari-key", "anyllm-key", "x-anyllm-key", "authorization"] as const;

export type AuthFailureReason =
  | "missing_credentials"
  | "invalid_format"
  | "invalid_key"
  | "inactive_key"
  | "expired_key"
  | "invalid_master_key";

/** `error.code` per failure (docs/behaviour/errors.md#error-type-and-code-by-status). */
const CODE_BY_REASON: Record<AuthFailureReason, string> = {
  missing_credentials: "missing_api_key",
  invalid_format: "invalid_header_format",
  invalid_key: "invalid_api_key",
  inactive_key: "api_key_inactive",
  expired_key: "api_key_expired",
  invalid_master_key: "invalid_master_key",
};

/** A 401 that also says why, for the auth-failure metric's `reason` label. */
export class AuthError extends GatewayError {
  constructor(
    message: string,
    readonly reason: AuthFailureReason,
  ) {
    super(401, message, { code: CODE_BY_REASON[reason] });
  }
}

/**
 * Extracts the token from request headers (docs/behaviour/auth.md#credential-headers). An empty header counts as
 * absent.
 */
export function readCredential(header: (name: string) => string | null | undefined): string {
  for (const name of BEARER_HEADERS) {
    const value = header(name)?.trim();
    if (!value) continue;
    if (!/^Bearer /i.test(value))
      throw new AuthError("Invalid header format. Expected 'Bearer <token>'", "invalid_format");
    return value.slice(7).trim();
  }
  const raw = header("x-api-key")?.trim();
  if (raw) return raw.replace(/^Bearer\s+/i, "");
  throw new AuthError("Missing Otari-Key or Authorization header", "missing_credentials");
}

/**
 * Key format check before hashing (docs/behaviour/auth.md#virtual-keys); returns the reason text or null when
 * well-formed.
 */
export function keyFormatProblem(token: string): string | null {
  if (!token.startsWith("gw-") && !token.startsWith("gw_")) return "API key must start with 'gw-' or 'gw_' prefix";
  if (token.length < 50) return `API key is too short. Expected at least 50 characters, got ${token.length}`;
  if (!/^gw[-_][A-Za-z0-9_-]+$/.test(token))
    return "API key contains invalid characters. Must match pattern: gw[-_][A-Za-z0-9_-]+";
  return null;
}

export type Caller = { kind: "master" } | { kind: "key"; key: KeyRow };

interface CacheEntry {
  row: KeyRow | null;
  expires: number;
}

const LAST_USED_THROTTLE_MS = 300_000;

export interface AuthServiceDeps {
  store: Store;
  masterKey: MasterKey;
  now: () => Date;
  cacheTtlMs?: number;
  onFailure?: (reason: AuthFailureReason) => void;
}

export function createAuthService({ store, masterKey, now, cacheTtlMs = 1000, onFailure }: AuthServiceDeps) {
  const { db, t } = store;
  const cache = new Map<string, CacheEntry>();
  // One lookup per token at a time: a burst of requests on a key whose entry expired shares one query instead of
  // queueing one each on the connection pool (on Postgres, 2,000 streams opened at once waited seconds for them).
  const inflight = new Map<string, Promise<KeyRow | null>>();
  // Bumped by invalidate(): a lookup that started before a local key change neither caches its row nor is shared.
  let generation = 0;

  const fail = (message: string, reason: AuthFailureReason): never => {
    onFailure?.(reason);
    throw new AuthError(message, reason);
  };

  async function lookup(token: string, hash: string): Promise<KeyRow | null> {
    const at = Date.now();
    const started = generation;
    let row: KeyRow | undefined;
    try {
      [row] = await db.select().from(t.apiKeys).where(eq(t.apiKeys.keyHash, hash));
    } catch (err) {
      throw new GatewayError(503, "Authentication temporarily unavailable, please retry", {
        code: "database_unavailable",
        cause: databaseUnavailable(err),
      });
    }
    if (started === generation) {
      if (cache.size > 100_000) cache.clear();
      cache.set(token, { row: row ?? null, expires: at + cacheTtlMs });
    }
    return row ?? null;
  }

  /** lookup, shared by every request on the same token while it runs. */
  function sharedLookup(token: string, hash: string): Promise<KeyRow | null> {
    const pending = inflight.get(token);
    if (pending) return pending;
    const mine = lookup(token, hash).finally(() => {
      if (inflight.get(token) === mine) inflight.delete(token);
    });
    inflight.set(token, mine);
    return mine;
  }

  /** A cached virtual-key answer for exactly this token (null row = known invalid), or undefined. */
  function cached(token: string): CacheEntry | undefined {
    const hit = cache.get(token);
    return hit && hit.expires > Date.now() ? hit : undefined;
  }

  /** Off the critical path, at most once per 300 s per key (docs/behaviour/auth.md#virtual-keys). */
  function touch(row: KeyRow, at: Date): void {
    if (row.lastUsedAt && at.getTime() - row.lastUsedAt.getTime() < LAST_USED_THROTTLE_MS) return;
    row.lastUsedAt = at;
    const cutoff = new Date(at.getTime() - LAST_USED_THROTTLE_MS);
    db.update(t.apiKeys)
      .set({ lastUsedAt: at })
      .where(and(eq(t.apiKeys.id, row.id), or(isNull(t.apiKeys.lastUsedAt), lt(t.apiKeys.lastUsedAt, cutoff))))
      .then(
        () => undefined,
        (err: unknown) => log.warn("could not record last_used_at", { key_id: row.id, error: String(err) }),
      );
  }

  return {
    /** Master-only routes. */
    requireMaster(token: string): void {
      try {
        masterKey.verify(token);
      } catch (err) {
        if (err instanceof GatewayError && err.status === 401) onFailure?.("invalid_master_key");
        throw err;
      }
    },

    /** K|M routes: the master key first, then the virtual-key path. */
    async authenticate(token: string): Promise<Caller> {
      // Only tokens that passed the master check and the format check are ever cached.
      let row = cached(token)?.row;
      if (row === undefined) {
        const hash = sha256Hex(token);
        if (masterKey.matchesHash(hash)) return { kind: "master" };
        const problem = keyFormatProblem(token);
        if (problem) return fail(`Invalid API key format: ${problem}`, "invalid_format");
        row = await sharedLookup(token, hash);
      }
      if (!row) return fail("Invalid API key", "invalid_key");
      if (!row.isActive) return fail("API key is inactive", "inactive_key");
      const at = now();
      if (row.expiresAt && row.expiresAt.getTime() <= at.getTime()) return fail("API key has expired", "expired_key");
      touch(row, at);
      return { kind: "key", key: row };
    },

    /** Drops cached keys; called on every local key or user change. */
    invalidate(): void {
      generation++;
      cache.clear();
      inflight.clear();
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
