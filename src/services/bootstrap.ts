/**
 * The bootstrap key (docs/behaviour/auth.md#bootstrap-key): on an empty key table, mint one key owned by a virtual
 * user, once, even when several replicas start together (Postgres advisory lock; SQLite's BEGIN IMMEDIATE serialises
 * writers).
 */
import { sql } from "drizzle-orm";
import type { Store } from "../db/client";
import { mintVirtualKey, sha256Hex, uuid } from "../runtime/crypto";
import { KEY_PREFIX_LENGTH } from "./keys";

const BOOTSTRAP_LOCK = 728_411_094;

/** Returns the new plaintext key, or null when keys already exist. */
export async function bootstrapKeyIfEmpty(store: Store, now: Date): Promise<string | null> {
  const { t } = store;
  return store.tx(async (tx) => {
    if (store.dialect === "pg") await tx.execute(sql`SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK})`);
    const [any] = await tx.select({ id: t.apiKeys.id }).from(t.apiKeys).limit(1);
    if (any) return null;
    const id = uuid();
    const secret = mintVirtualKey();
    const userId = `apikey-${id}`;
    await tx
      .insert(t.users)
      .values({ userId, alias: "Virtual user for API key: bootstrap", createdAt: now, updatedAt: now, metadata: {} });
    await tx.insert(t.apiKeys).values({
      id,
      keyHash: sha256Hex(secret),
      keyPrefix: secret.slice(0, KEY_PREFIX_LENGTH),
      keyName: "bootstrap",
      userId,
      createdAt: now,
      isActive: true,
      metadata: { bootstrap: true },
    });
    return secret;
  });
}
