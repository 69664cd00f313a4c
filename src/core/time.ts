/** Wire timestamps are ISO 8601 with an explicit `+00:00` offset (docs/api.md#conventions). */
export function toIso(date: Date): string {
  return date.toISOString().replace("Z", "+00:00");
}

export function toIsoOrNull(date: Date | null | undefined): string | null {
  return date ? toIso(date) : null;
}

const HAS_OFFSET = /(Z|[+-]\d{2}:?\d{2})$/i;

/**
 * Parses an ISO datetime; a naive one (no offset) is taken as UTC (docs/api.md#pricing). Returns null when unparseable.
 */
export function parseIsoUtc(text: string): Date | null {
  const trimmed = text.trim();
  if (!/^\d{4}-\d{2}-\d{2}/.test(trimmed)) return null;
  const withZone = HAS_OFFSET.test(trimmed) || trimmed.length === 10 ? trimmed : `${trimmed}Z`;
  const date = new Date(withZone);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** ISO 8601 or Unix epoch seconds (integer or decimal), as `/v1/usage` accepts (docs/api.md#usage). */
export function parseDateOrEpoch(text: string): Date | null {
  if (/^-?\d+(\.\d+)?$/.test(text.trim())) return new Date(Number(text) * 1000);
  return parseIsoUtc(text);
}
