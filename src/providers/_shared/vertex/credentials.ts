import { type KeyObject, createPrivateKey } from "node:crypto";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { GatewayError } from "../../../core/errors.ts";
import type { ProviderSettings } from "../../types.ts";
import { ProviderFailure } from "../errors.ts";

/**
 * Google credentials for Vertex AI (docs/behaviour/providers.md#provider-config-entries): config `credentials` (a path
 * to the JSON key file, or the JSON itself), else `GOOGLE_APPLICATION_CREDENTIALS` (a path). Both arrive in
 * `settings.extra`: `credentials` from the config entry, the env var under `extra.env` (providers never read
 * process.env; the registry copies it). Service-account keys (https://cloud.google.com/iam/docs/keys-create-delete) and
 * gcloud's `authorized_user` ADC files are understood. Any problem -> 500 `Unable to load vertex credentials`.
 */

export const GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token";

const serviceAccountSchema = z
  .object({
    type: z.literal("service_account"),
    client_email: z.string().min(1),
    private_key: z.string().min(1),
    private_key_id: z.string().optional(),
    project_id: z.string().optional(),
    token_uri: z.string().optional(),
  })
  .loose();

const authorizedUserSchema = z
  .object({
    type: z.literal("authorized_user"),
    client_id: z.string().min(1),
    client_secret: z.string().min(1),
    refresh_token: z.string().min(1),
    quota_project_id: z.string().optional(),
  })
  .loose();

export type GoogleCredentials =
  | {
      kind: "service_account";
      email: string;
      key: KeyObject;
      keyId: string | null;
      projectId: string | null;
      tokenUri: string;
    }
  | {
      kind: "authorized_user";
      clientId: string;
      clientSecret: string;
      refreshToken: string;
      projectId: string | null;
      tokenUri: string;
    };

export function credentialsError(detail: string, cause?: unknown): GatewayError {
  return new GatewayError(500, "Unable to load vertex credentials", {
    code: "provider_credentials_error",
    cause: new ProviderFailure(`vertex credentials: ${detail}`, null, { cause }),
  });
}

const str = (v: unknown): string | null => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);

/** The provider's own env vars, as the caller passed them in `extra.env`. */
export function envOf(s: ProviderSettings): Record<string, string> {
  const env = s.extra["env"];
  if (!env || typeof env !== "object") return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === "string") out[k] = v;
  return out;
}

function parseCredentials(text: string): GoogleCredentials {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw credentialsError("not JSON", err);
  }
  const sa = serviceAccountSchema.safeParse(json);
  if (sa.success) {
    let key: KeyObject;
    try {
      key = createPrivateKey(sa.data.private_key);
    } catch (err) {
      throw credentialsError("private_key is not a PEM private key", err);
    }
    return {
      kind: "service_account",
      email: sa.data.client_email,
      key,
      keyId: sa.data.private_key_id ?? null,
      projectId: str(sa.data.project_id),
      tokenUri: str(sa.data.token_uri) ?? GOOGLE_TOKEN_URI,
    };
  }
  const user = authorizedUserSchema.safeParse(json);
  if (user.success)
    return {
      kind: "authorized_user",
      clientId: user.data.client_id,
      clientSecret: user.data.client_secret,
      refreshToken: user.data.refresh_token,
      projectId: str(user.data.quota_project_id),
      tokenUri: GOOGLE_TOKEN_URI,
    };
  throw credentialsError("neither a service_account nor an authorized_user key");
}

/** Parsed credentials are kept per source text: a deployment's file is read once per process. */
const cache = new Map<string, Promise<GoogleCredentials>>();

async function load(source: string): Promise<GoogleCredentials> {
  if (source.startsWith("{")) return parseCredentials(source);
  let text: string;
  try {
    text = await readFile(source, "utf8");
  } catch (err) {
    throw credentialsError(`cannot read ${source}`, err);
  }
  return parseCredentials(text);
}

export function loadCredentials(s: ProviderSettings): Promise<GoogleCredentials> {
  const source = str(s.extra["credentials"]) ?? str(envOf(s)["GOOGLE_APPLICATION_CREDENTIALS"]);
  if (!source)
    return Promise.reject(credentialsError("no `credentials` configured and GOOGLE_APPLICATION_CREDENTIALS unset"));
  let hit = cache.get(source);
  if (!hit) {
    hit = load(source);
    cache.set(source, hit);
    // a missing file may appear later (mounted secret): failures are not cached
    hit.catch(() => cache.delete(source));
  }
  return hit;
}
