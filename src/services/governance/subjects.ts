/**
 * The levels a request's spend is counted on (docs/behaviour/cost-control.md): its key, its billed user, that
 * user's team, and the client's end user when an end-user budget applies. Each level is a row with spend, reserved
 * and a budget window; the budget ledger works on all of them alike.
 */
import { GatewayError } from "../../core/errors";

export type SubjectKind = "key" | "user" | "team" | "end_user";

/** In path order: a refusal names the first level, in this order, that has no room. */
export const SUBJECT_KINDS: readonly SubjectKind[] = ["key", "user", "team", "end_user"];

/** A level as one bit, for the journal's record of which levels a settlement charged. */
export const LEVEL_BIT: Readonly<Record<SubjectKind, number>> = { key: 1, user: 2, team: 4, end_user: 8 };

export interface SubjectRef {
  kind: SubjectKind;
  /** The row's id; for end users the pair's id (endUserSubjectId). */
  id: string;
}

/** One level of a request's path, as the ledger needs it. */
export interface BudgetSubject extends SubjectRef {
  /** What a refusal calls it: the key, user or team id, or the end user's own id. */
  readonly label: string;
  /** The cap of its budget in µ$; null = spend is counted, nothing is enforced. */
  readonly maxMicros: number | null;
  /** The cached `next_budget_reset_at`, when known (a hint: the ledger also learns it from the database). */
  readonly nextResetAt?: Date | null;
  /** End users only: the row created on first sight, with the window of the budget that applies. */
  readonly endUser?: EndUserSeed;
}

export interface EndUserSeed {
  userId: string;
  endUserId: string;
  budgetId: string;
  durationSec: number | null;
}

/** The end_users row id of (billed user, end-user id): unambiguous whatever characters either holds. */
export const endUserSubjectId = (userId: string, endUserId: string): string => JSON.stringify([userId, endUserId]);

const REFUSED_BY: Record<SubjectKind, string> = { key: "Key", user: "User", team: "Team", end_user: "End user" };

/** 403 `budget_exceeded` naming the level; `param` is the level. */
export function budgetRefusal(kind: SubjectKind, label: string): GatewayError {
  return new GatewayError(403, `${REFUSED_BY[kind]} '${label}' has exceeded budget limit`, {
    code: "budget_exceeded",
    param: kind,
  });
}
