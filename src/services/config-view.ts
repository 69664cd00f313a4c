/**
 * The effective configuration as the console shows it: every config.yml key with the value in force, secrets
 * replaced. A value is secret when its key names a credential (key, secret, token, password, credentials,
 * authorization, headers) or it is a URL's user:password; the database URL keeps its host but not its password.
 */
import type { Config } from "../config/load";
import { configSchema } from "../config/schema";
import type { SettingsResponse } from "../core/schemas/console";
import { withoutCredentials } from "./providers";

export const REDACTED = "[redacted]";

const SECRET_KEY =
  /(^|_)(api_?key|key|secret|token|password|credentials?|authorization|headers|access_key_id|secret_access_key|session_token)$/i;

function redact(value: unknown, key: string): unknown {
  if (value === null || value === undefined) return value;
  if (SECRET_KEY.test(key) && typeof value === "string") return REDACTED;
  if (SECRET_KEY.test(key) && typeof value === "object" && !Array.isArray(value))
    return Object.fromEntries(Object.keys(value).map((k) => [k, REDACTED]));
  if (typeof value === "string")
    return /^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(value) ? withoutCredentials(value) : value;
  if (Array.isArray(value)) return value.map((v) => redact(v, key));
  if (typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
  return value;
}

export function effectiveConfig(config: Config): SettingsResponse {
  const values = Object.fromEntries(
    Object.keys(configSchema.shape).map((key) => [key, redact(config[key as keyof typeof configSchema.shape], key)]),
  );
  return { config_path: config.configPath, values };
}
