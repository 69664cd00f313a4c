import { z } from "zod";

/**
 * Token usage: the OpenAI wire shape (what clients see) and the gateway's normalised form (what billing reads).
 * Canonical `prompt_tokens` always includes cache-read and cache-write tokens
 * (docs/behaviour/providers.md#canonical-form-and-usage).
 */

const count = z.number().nullish();

/** OpenAI `usage` object; loose because providers add their own members (DeepSeek, Groq, OpenRouter...). */
export const openAIUsageSchema = z
  .object({
    prompt_tokens: count,
    completion_tokens: count,
    total_tokens: count,
    prompt_tokens_details: z.object({ cached_tokens: count }).loose().nullish(),
    completion_tokens_details: z.object({ reasoning_tokens: count }).loose().nullish(),
  })
  .loose();
export type OpenAIUsage = z.infer<typeof openAIUsageSchema>;

/** Usage as billing and usage rows read it; `null` = the provider did not say. */
export interface NormalizedUsage {
  promptTokens: number | null;
  completionTokens: number | null;
  totalTokens: number | null;
  cacheReadTokens: number | null;
  cacheWriteTokens: number | null;
  reasoningTokens: number | null;
}

export const emptyUsage = (): NormalizedUsage => ({
  promptTokens: null,
  completionTokens: null,
  totalTokens: null,
  cacheReadTokens: null,
  cacheWriteTokens: null,
  reasoningTokens: null,
});

/** True when the provider reported any token count at all (docs/behaviour/streaming.md#settlement-of-a-stream). */
export function hasUsage(u: NormalizedUsage): boolean {
  return u.promptTokens !== null || u.completionTokens !== null || u.totalTokens !== null;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/**
 * Reads an OpenAI-format usage object. Cache writes are not part of OpenAI's schema, but OpenAI-compatible
 * routers (OpenRouter, LiteLLM-style proxies) report them as `cache_creation_tokens`/`cache_write_tokens`;
 * DeepSeek reports reads as top-level `prompt_cache_hit_tokens`.
 */
export function fromOpenAIUsage(usage: OpenAIUsage | null | undefined): NormalizedUsage {
  if (!usage) return emptyUsage();
  const details = usage.prompt_tokens_details ?? {};
  const prompt = num(usage.prompt_tokens);
  const completion = num(usage.completion_tokens);
  return {
    promptTokens: prompt,
    completionTokens: completion,
    totalTokens: num(usage.total_tokens) ?? (prompt !== null && completion !== null ? prompt + completion : null),
    cacheReadTokens: num(details.cached_tokens) ?? num(usage["prompt_cache_hit_tokens"]),
    cacheWriteTokens: num(details["cache_creation_tokens"]) ?? num(details["cache_write_tokens"]),
    reasoningTokens: num(usage.completion_tokens_details?.reasoning_tokens),
  };
}

/** Renders normalised usage as the OpenAI object clients receive (absent details are omitted). */
export function toOpenAIUsage(u: NormalizedUsage): OpenAIUsage {
  const prompt = u.promptTokens ?? 0;
  const completion = u.completionTokens ?? 0;
  const out: OpenAIUsage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: u.totalTokens ?? prompt + completion,
  };
  if (u.cacheReadTokens !== null) out.prompt_tokens_details = { cached_tokens: u.cacheReadTokens };
  if (u.reasoningTokens !== null) out.completion_tokens_details = { reasoning_tokens: u.reasoningTokens };
  return out;
}

const pick = (prev: number | null, next: number | null): number | null =>
  next !== null && next !== 0 ? next : prev === null ? next : prev;

/**
 * Merging (docs/behaviour/streaming.md#usage-in-streams): field by field, the last non-zero value wins (a later zero or
 * null never erases an earlier count, e.g. Anthropic's message_delta repeating `input_tokens: 0`).
 */
export function mergeUsage(prev: NormalizedUsage, next: NormalizedUsage): NormalizedUsage {
  return {
    promptTokens: pick(prev.promptTokens, next.promptTokens),
    completionTokens: pick(prev.completionTokens, next.completionTokens),
    totalTokens: pick(prev.totalTokens, next.totalTokens),
    cacheReadTokens: pick(prev.cacheReadTokens, next.cacheReadTokens),
    cacheWriteTokens: pick(prev.cacheWriteTokens, next.cacheWriteTokens),
    reasoningTokens: pick(prev.reasoningTokens, next.reasoningTokens),
  };
}

/** Fills `totalTokens` when a provider gave the parts only (Anthropic never sends a total). */
export function withTotal(u: NormalizedUsage): NormalizedUsage {
  if (u.totalTokens !== null || (u.promptTokens === null && u.completionTokens === null)) return u;
  return { ...u, totalTokens: (u.promptTokens ?? 0) + (u.completionTokens ?? 0) };
}

/**
 * The largest token count one upstream response may report, per field: far above any real response (contexts are
 * millions of tokens), small enough that costs stay exact integers and counts fit a 32-bit database column.
 */
export const MAX_REPORTED_TOKENS = 1_000_000_000;

const USAGE_FIELDS = [
  "promptTokens",
  "completionTokens",
  "totalTokens",
  "cacheReadTokens",
  "cacheWriteTokens",
  "reasoningTokens",
] as const;

const saneCount = (v: number | null): boolean =>
  v === null || (Number.isSafeInteger(v) && v >= 0 && v <= MAX_REPORTED_TOKENS);

/** A count made sane: negative or not a number -> 0, above the maximum -> the maximum, fractions rounded. */
const clampCount = (v: number | null): number | null => {
  if (v === null) return null;
  if (!(v > 0)) return 0;
  return v >= MAX_REPORTED_TOKENS ? MAX_REPORTED_TOKENS : Math.round(v);
};

/**
 * Upstream usage checked before anything bills it: null when every count is a non-negative safe integer up to
 * MAX_REPORTED_TOKENS (the common case, no allocation); else the clamped usage and the offending fields with their
 * values (`promptTokens=-5`), for the anomaly log line.
 */
export function usageAnomaly(u: NormalizedUsage): { usage: NormalizedUsage; fields: string[] } | null {
  if (
    saneCount(u.promptTokens) &&
    saneCount(u.completionTokens) &&
    saneCount(u.totalTokens) &&
    saneCount(u.cacheReadTokens) &&
    saneCount(u.cacheWriteTokens) &&
    saneCount(u.reasoningTokens)
  )
    return null;
  const usage = { ...u };
  const fields: string[] = [];
  for (const f of USAGE_FIELDS) {
    if (saneCount(u[f])) continue;
    fields.push(`${f}=${u[f]}`);
    usage[f] = clampCount(u[f]);
  }
  return { usage, fields };
}
