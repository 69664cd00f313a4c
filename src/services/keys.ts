/**
 * Virtual API keys (docs/behaviour/auth.md#virtual-keys, docs/api.md#keys, docs/behaviour/auth.md#rotation): the secret
 * is shown once; only its SHA-256 and a 10-character display prefix are stored.
 */
import { desc, eq } from "drizzle-orm";
import { notFound } from "../core/errors";
import { microsToUsd } from "../core/money";
import type { Pagination } from "../core/schemas/common";
import type { CreateKeyInput, CreateKeyResponse, KeyInfo, UpdateKeyInput } from "../core/schemas/keys";
import { toIso, toIsoOrNull } from "../core/time";
import type { Db, Store } from "../db/client";
import { mintVirtualKey, sha256Hex, uuid } from "../runtime/crypto";
import type { ServiceDeps } from "./deps";
import { assignBudget, budgetRef, createResetOnRead } from "./spend-windows";

export type KeyRow = Store["t"]["apiKeys"]["$inferSelect"];

export const KEY_PREFIX_LENGTH = 10;

export function toKeyInfo(row: KeyRow): KeyInfo {
  return {
    id: row.id,
    key_name: row.keyName,
    key_prefix: row.keyPrefix,
    user_id: row.userId,
    created_at: toIso(row.createdAt),
    last_used_at: toIsoOrNull(row.lastUsedAt),
    expires_at: toIsoOrNull(row.expiresAt),
    is_active: row.isActive,
    metadata: row.metadata,
    rpm_limit: row.rpmLimit,
    tpm_limit: row.tpmLimit,
    allowed_models: row.allowedModels,
    budget_id: row.budgetId,
    spend: microsToUsd(row.spendMicros),
    reserved: microsToUsd(row.reservedMicros),
    budget_started_at: toIsoOrNull(row.budgetStartedAt),
    next_budget_reset_at: toIsoOrNull(row.nextBudgetResetAt),
    max_concurrent: row.maxConcurrent,
    end_user_budget_id: row.endUserBudgetId,
    capture_content: row.captureContent,
  };
}

function toCreateResponse(row: KeyRow, secret: string): CreateKeyResponse {
  const { last_used_at: _unused, ...info } = toKeyInfo(row);
  return { ...info, key: secret };
}

export const keyNotFound = (id: string) => notFound(`API key with id '${id}' not found`);

export function createKeysService({ store, now, changed, flushSpend }: ServiceDeps) {
  const { db, t } = store;
  const resetOnRead = createResetOnRead(store);

  /** Spend as settled so far, with a due window reset applied (as users show theirs). */
  async function fresh(row: KeyRow): Promise<KeyRow> {
    if (!(await resetOnRead("key", row.id, row, now()))) return row;
    changed("keys");
    return getRow(row.id);
  }

  /** Resolves the owning user inside the key's transaction (docs/behaviour/auth.md#key-lifecycle). */
  async function ownerFor(tx: Db, input: CreateKeyInput, keyId: string, at: Date): Promise<string> {
    if (!input.user_id) {
      const userId = `apikey-${keyId}`;
      await tx.insert(t.users).values({
        userId,
        alias: `Virtual user for API key: ${input.key_name || "unnamed"}`,
        createdAt: at,
        updatedAt: at,
        metadata: {},
      });
      return userId;
    }
    const [user] = await tx.select().from(t.users).where(eq(t.users.userId, input.user_id));
    if (user?.deletedAt)
      throw notFound(`User '${input.user_id}' has been deleted. Recreate via POST /v1/users first.`, "user_not_found");
    if (!user) {
      await tx
        .insert(t.users)
        .values({ userId: input.user_id, alias: `User ${input.user_id}`, createdAt: at, updatedAt: at, metadata: {} });
    }
    return input.user_id;
  }

  async function getRow(keyId: string): Promise<KeyRow> {
    const [row] = await db.select().from(t.apiKeys).where(eq(t.apiKeys.id, keyId));
    if (!row) throw keyNotFound(keyId);
    return row;
  }

  /** The budget fields of a create or PATCH body, every reference checked before anything is written. */
  async function budgetFields(input: CreateKeyInput | UpdateKeyInput, at: Date): Promise<Partial<KeyRow>> {
    const out: Partial<KeyRow> = {};
    if (input.budget_id != null) Object.assign(out, await assignBudget(db, t, input.budget_id, at));
    if (input.end_user_budget_id != null) out.endUserBudgetId = await budgetRef(db, t, input.end_user_budget_id);
    if (input.max_concurrent != null) out.maxConcurrent = input.max_concurrent || null;
    return out;
  }

  return {
    async create(input: CreateKeyInput): Promise<CreateKeyResponse> {
      const at = now();
      const id = uuid();
      const secret = mintVirtualKey();
      const budget = await budgetFields(input, at);
      const row = await store.tx(async (tx) => {
        const userId = await ownerFor(tx, input, id, at);
        const [inserted] = await tx
          .insert(t.apiKeys)
          .values({
            id,
            keyHash: sha256Hex(secret),
            keyPrefix: secret.slice(0, KEY_PREFIX_LENGTH),
            keyName: input.key_name ?? null,
            userId,
            createdAt: at,
            expiresAt: input.expires_at ?? null,
            isActive: true,
            metadata: input.metadata,
            rpmLimit: input.rpm_limit ?? null,
            tpmLimit: input.tpm_limit ?? null,
            allowedModels: input.allowed_models ?? null,
            captureContent: input.capture_content ?? null,
            ...budget,
          })
          .returning();
        return inserted!;
      });
      changed("keys");
      return toCreateResponse(row, secret);
    },

    async list({ skip, limit }: Pagination): Promise<KeyInfo[]> {
      await flushSpend();
      const rows = await db
        .select()
        .from(t.apiKeys)
        .orderBy(desc(t.apiKeys.createdAt), t.apiKeys.id)
        .limit(limit)
        .offset(skip);
      return (await Promise.all(rows.map(fresh))).map(toKeyInfo);
    },

    async get(keyId: string): Promise<KeyInfo> {
      await flushSpend();
      return toKeyInfo(await fresh(await getRow(keyId)));
    },

    /**
     * Absent or null fields are left unchanged; `metadata` replaces the whole object; assigning a budget starts a
     * new window; "" removes a budget, max_concurrent 0 the limit.
     */
    async update(keyId: string, input: UpdateKeyInput): Promise<KeyInfo> {
      await getRow(keyId);
      const patch: Partial<KeyRow> = await budgetFields(input, now());
      if (input.key_name != null) patch.keyName = input.key_name;
      if (input.is_active != null) patch.isActive = input.is_active;
      if (input.expires_at != null) patch.expiresAt = input.expires_at;
      if (input.metadata != null) patch.metadata = input.metadata;
      if (input.rpm_limit != null) patch.rpmLimit = input.rpm_limit;
      if (input.tpm_limit != null) patch.tpmLimit = input.tpm_limit;
      if (input.allowed_models != null) patch.allowedModels = input.allowed_models;
      if (input.capture_content != null) patch.captureContent = input.capture_content;
      if (Object.keys(patch).length === 0) return toKeyInfo(await getRow(keyId));
      const [row] = await db.update(t.apiKeys).set(patch).where(eq(t.apiKeys.id, keyId)).returning();
      changed("keys");
      return toKeyInfo(row!);
    },

    /** Hard delete; usage rows keep their data with api_key_id set to null (FK ON DELETE SET NULL). */
    async remove(keyId: string): Promise<void> {
      await getRow(keyId);
      await db.delete(t.apiKeys).where(eq(t.apiKeys.id, keyId));
      changed("keys");
    },

    /** New secret for the same key id; the old secret stops working at once (docs/behaviour/auth.md#rotation). */
    async rotate(keyId: string): Promise<CreateKeyResponse> {
      await getRow(keyId);
      const secret = mintVirtualKey();
      const [row] = await db
        .update(t.apiKeys)
        .set({ keyHash: sha256Hex(secret), keyPrefix: secret.slice(0, KEY_PREFIX_LENGTH) })
        .where(eq(t.apiKeys.id, keyId))
        .returning();
      changed("keys");
      return toCreateResponse(row!, secret);
    },

    /** Deactivates without deleting (the CLI's `keys revoke`): the key then gets 401 `API key is inactive`. */
    async revoke(keyId: string): Promise<KeyInfo> {
      return this.update(keyId, { is_active: false });
    },
  };
}

export type KeysService = ReturnType<typeof createKeysService>;
