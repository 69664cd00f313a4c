/**
 * The master key (docs/behaviour/auth.md#master-key): a configured key wins; with none, the first start generates one,
 * stores only its SHA-256 in `settings`, and prints it once. Replicas starting together agree through an
 * insert-if-absent.
 */
import { eq } from "drizzle-orm";
import { GatewayError, serviceUnavailable, unauthorized } from "../core/errors";
import type { Store } from "../db/client";
import { digestsEqual, mintMasterKey, sha256Hex } from "../runtime/crypto";

/** The `settings` row holding the master key's SHA-256 (generated at first start, or imported from otari). */
export const MASTER_KEY_SETTING = "master_key_sha256";

export interface MasterKey {
  /** Hex SHA-256 of the master key, or null when none exists (management then answers 503). */
  readonly hash: string | null;
  /** Throws 503 when no master key exists, 401 when `token` is not it. */
  verify(token: string): void;
  matches(token: string): boolean;
  /** `matches` for a token already hashed (the hot path hashes once for both checks). */
  matchesHash(tokenHash: string): boolean;
}

export function createMasterKey(hash: string | null): MasterKey {
  const matchesHash = (tokenHash: string) => hash !== null && digestsEqual(tokenHash, hash);
  const matches = (token: string) => matchesHash(sha256Hex(token));
  return {
    hash,
    matches,
    matchesHash,
    verify(token) {
      if (hash === null) {
        throw serviceUnavailable(
          "Master key not configured. Set OTARI_MASTER_KEY environment variable.",
          "master_key_not_configured",
        );
      }
      if (!matches(token)) throw unauthorized("Invalid master key", "invalid_master_key");
    },
  };
}

/** The stored master key hash, if a previous start generated one. */
export async function storedMasterKeyHash(store: Store): Promise<string | null> {
  const [row] = await store.db.select().from(store.t.settings).where(eq(store.t.settings.key, MASTER_KEY_SETTING));
  return row?.value ?? null;
}

/**
 * Resolves the master key for `serve`: the configured one, else the stored hash, else a new key (returned in
 * `generated` so the caller prints it once).
 */
export async function ensureMasterKey(
  store: Store,
  configured: string | null | undefined,
  now: Date,
): Promise<{ key: MasterKey; generated: string | null }> {
  if (configured) return { key: createMasterKey(sha256Hex(configured)), generated: null };
  const existing = await storedMasterKeyHash(store);
  if (existing) return { key: createMasterKey(existing), generated: null };
  const secret = mintMasterKey();
  const [inserted] = await store.db
    .insert(store.t.settings)
    .values({ key: MASTER_KEY_SETTING, value: sha256Hex(secret), updatedAt: now })
    .onConflictDoNothing()
    .returning();
  if (inserted) return { key: createMasterKey(inserted.value), generated: secret };
  const winner = await storedMasterKeyHash(store);
  if (!winner) throw new GatewayError(500, "Could not store the generated master key");
  return { key: createMasterKey(winner), generated: null };
}
