/** How numbers, money and times are shown. */
const int = new Intl.NumberFormat("en-US");
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

export const fmtInt = (n: number | null | undefined): string => (n === null || n === undefined ? "—" : int.format(n));
export const fmtCompact = (n: number): string => compact.format(n);
/** "1 request", "3 requests". */
export const plural = (n: number, word: string): string => `${int.format(n)} ${word}${n === 1 ? "" : "s"}`;

/** USD with cents, or more digits for small amounts. */
export function fmtUsd(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  const digits = n !== 0 && Math.abs(n) < 0.01 ? 6 : 2;
  return `$${n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;
}

export const fmtMs = (n: number | null | undefined): string =>
  n === null || n === undefined ? "—" : n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`;
export const fmtPct = (n: number): string => `${(n * 100).toFixed(n < 0.1 ? 2 : 1)} %`;

/** A timestamp in the browser's time zone. */
export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("en-GB", {
    year: "numeric",
    month: "short",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

export function fmtDuration(seconds: number | null | undefined): string {
  if (!seconds) return "no reset";
  const units: [number, string][] = [
    [86_400, "day"],
    [3600, "hour"],
    [60, "minute"],
  ];
  for (const [size, name] of units)
    if (seconds % size === 0) return `every ${seconds / size} ${name}${seconds / size === 1 ? "" : "s"}`;
  return `every ${seconds} s`;
}

/** Request-rate, token-rate and in-flight limits in one cell ("—" when none is set). */
export function fmtLimits(l: { rpm?: number | null; tpm?: number | null; concurrent?: number | null }): string {
  return (
    [
      l.rpm ? `${int.format(l.rpm)} rpm` : null,
      l.tpm ? `${int.format(l.tpm)} tpm` : null,
      l.concurrent ? `${int.format(l.concurrent)} in flight` : null,
    ]
      .filter(Boolean)
      .join(" / ") || "—"
  );
}
