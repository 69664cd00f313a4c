/** Secrets: generation, hashing and comparison. */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** Lowercase hex SHA-256 of the UTF-8 text (how keys are stored, docs/behaviour/auth.md#virtual-keys). */
export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Lowercase hex HMAC-SHA256 of the UTF-8 text under `secret` (webhook signatures, console CSRF tokens). */
export function hmacSha256Hex(secret: string, text: string): string {
  return createHmac("sha256", secret).update(text).digest("hex");
}

/** `gw-` + 48 random bytes as URL-safe base64 without padding: 67 characters (docs/behaviour/auth.md#virtual-keys). */
export function mintVirtualKey(): string {
  return `gw-${randomBytes(48).toString("base64url")}`;
}

/** A generated master key; same alphabet as virtual keys but a distinct prefix. */
export function mintMasterKey(): string {
  return `gwm-${randomBytes(32).toString("base64url")}`;
}

/** Constant-time equality of two hex digests (hash first, so lengths never leak). */
export function digestsEqual(aHex: string, bHex: string): boolean {
  const a = Buffer.from(aHex, "hex");
  const b = Buffer.from(bHex, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

export const uuid = (): string => crypto.randomUUID();

/**
 * A UUIDv7: time-ordered, so rows keyed by it land at the right edge of their primary-key B-tree instead of on a
 * random page. For usage rows, inserted by the tens of thousands per second, that is the difference between
 * rewriting one index page per row and a few pages per batch (SQLite WAL and Postgres alike).
 */
export const timeOrderedUuid = (): string => Bun.randomUUIDv7();

/** A console session id: 32 random bytes, URL-safe base64 (43 characters). */
export const mintSessionId = (): string => randomBytes(32).toString("base64url");
