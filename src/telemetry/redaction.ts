/**
 * What may leave the gateway in a span. Two layers:
 * - the secrets scrubber: every string the exporter writes passes through it, whatever the capture settings, and
 *   removes the gateway's own secrets (master key, provider keys, tokens from config and env) verbatim;
 * - content redaction: captured prompts and completions, exception and status messages additionally lose what the
 *   built-in patterns (vendor API keys, bearer tokens, private keys, e-mail addresses) and the operator's
 *   `otel_redact_patterns` match, and captured content is cut to `otel_capture_max_chars`.
 */

export const REDACTED = "[REDACTED]";

/** Built-in patterns: credentials of common vendors and personal data that must not reach a tracing backend. */
export const BUILTIN_PATTERNS: Readonly<Record<string, string>> = {
  // OpenAI (sk-, sk-proj-, sk-svcacct-), Anthropic (sk-ant-), DeepSeek and others using the sk- prefix.
  "sk-keys": String.raw`\bsk-[A-Za-z0-9_-]{16,}`,
  "stripe-keys": String.raw`\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}`,
  "google-api-keys": String.raw`\bAIza[0-9A-Za-z_-]{35}`,
  "aws-access-keys": String.raw`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`,
  "github-tokens": String.raw`\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})`,
  "slack-tokens": String.raw`\bxox[abposr]-[A-Za-z0-9-]{10,}`,
  "huggingface-tokens": String.raw`\bhf_[A-Za-z0-9]{30,}`,
  "groq-keys": String.raw`\bgsk_[A-Za-z0-9]{20,}`,
  "xai-keys": String.raw`\bxai-[A-Za-z0-9]{20,}`,
  // The gateway's own virtual and master keys (`gw-` / `gwm-` + base64url).
  "gateway-keys": String.raw`\bgwm?-[A-Za-z0-9_-]{40,}`,
  "bearer-tokens": String.raw`\b[Bb]earer\s+[A-Za-z0-9._~+/-]{8,}=*`,
  jwts: String.raw`\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+`,
  "private-keys": String.raw`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----`,
  "email-addresses": String.raw`\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b`,
};

/** Secrets shorter than this are not scrubbed: a value like "x" would garble every span. */
const MIN_SECRET_LENGTH = 8;

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export interface Redactor {
  /** Removes the configured secrets only (applied to everything exported). */
  scrubSecrets(text: string): string;
  /** Secrets, built-in and operator patterns (exception and status messages). */
  text(text: string): string;
  /**
   * A captured value (messages as the conventions shape them): every string in it redacted as `text`, then
   * serialised as JSON and cut to the configured size (marked with `…[truncated]`).
   */
  content(value: unknown): string;
}

export interface RedactorOptions {
  /** The gateway's own secrets; see settings.ts for where they come from. */
  secrets: readonly string[];
  /** `otel_redact_patterns` */
  patterns: readonly string[];
  /** `otel_capture_max_chars` */
  maxChars: number;
}

export function createRedactor(o: RedactorOptions): Redactor {
  const secrets = [...new Set(o.secrets.filter((s) => s.length >= MIN_SECRET_LENGTH))].sort(
    (a, b) => b.length - a.length,
  );
  // One alternation (longest first, so a secret containing another goes whole): one scan per string. A string is
  // tested before it is replaced: the test allocates nothing, and almost no exported string holds a secret.
  const alternation = secrets.map(escapeRegex).join("|");
  const secretRe = secrets.length ? new RegExp(alternation, "g") : null;
  const secretTest = new RegExp(alternation);
  const patternRe = new RegExp(
    [...Object.values(BUILTIN_PATTERNS), ...o.patterns].map((p) => `(?:${p})`).join("|"),
    "g",
  );

  // A string shorter than the shortest secret cannot hold one: most values (ids, models, finish reasons) are.
  const shortest = secrets.length ? (secrets.at(-1) as string).length : 0;
  const scrubSecrets = (text: string) =>
    !secretRe || text.length < shortest || !secretTest.test(text) ? text : text.replace(secretRe, REDACTED);
  const redactText = (text: string) => scrubSecrets(text).replace(patternRe, REDACTED);
  const walk = (value: unknown): unknown => {
    if (typeof value === "string") return redactText(value);
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === "object")
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    return value;
  };
  return {
    scrubSecrets,
    text: redactText,
    content(value) {
      const json = JSON.stringify(walk(value)) ?? "null";
      return json.length <= o.maxChars ? json : `${json.slice(0, o.maxChars)}…[truncated]`;
    },
  };
}
