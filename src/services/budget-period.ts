/**
 * Rolling, anchored budget windows (docs/behaviour/storage.md#budget-periods): windows are [A + k·d, A + (k+1)·d) from
 * the assignment time A, so resets never drift however late they are applied.
 */

export interface DueReset {
  /** The new `next_budget_reset_at`. */
  nextResetAt: Date;
  /** The new `budget_started_at` (= nextResetAt − d). */
  startedAt: Date;
}

/** The reset that is due at `now` for a window ending at `nextResetAt`, or null when none is due. */
export function dueReset(nextResetAt: Date | null, durationSec: number | null, now: Date): DueReset | null {
  if (!nextResetAt || !durationSec || durationSec <= 0) return null;
  const n = nextResetAt.getTime();
  const t = now.getTime();
  if (t < n) return null;
  const d = durationSec * 1000;
  const m = Math.floor((t - n) / d) + 1;
  const next = n + m * d;
  return { nextResetAt: new Date(next), startedAt: new Date(next - d) };
}

/** Window fields when a budget is assigned at `now` (docs/api.md#users). */
export function windowOnAssign(durationSec: number | null, now: Date): { startedAt: Date; nextResetAt: Date | null } {
  return { startedAt: now, nextResetAt: durationSec ? new Date(now.getTime() + durationSec * 1000) : null };
}
