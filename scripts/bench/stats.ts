/** Small numeric helpers shared by the bench scripts. */

/** The q-th percentile (0-100) of `values` by nearest rank; NaN when empty. */
export function percentile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Least-squares slope of y over x, with its standard error (NaN with fewer than 3 points). */
export function linearFit(points: [number, number][]): { slope: number; stderr: number } {
  const n = points.length;
  if (n < 2) return { slope: Number.NaN, stderr: Number.NaN };
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  if (sxx === 0) return { slope: Number.NaN, stderr: Number.NaN };
  const slope = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx;
  const residuals = points.reduce((a, [x, y]) => a + (y - my - slope * (x - mx)) ** 2, 0);
  return { slope, stderr: n > 2 ? Math.sqrt(residuals / (n - 2) / sxx) : Number.NaN };
}

export const round = (x: number, digits = 0): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
