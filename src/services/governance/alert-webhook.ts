/**
 * What a spend alert posts (docs/behaviour/cost-control.md#spend-alerts): a JSON event, or a Slack message
 * (`{"text": ...}`) for incoming webhooks. With a secret, `X-Gateway-Signature: t=<unix seconds>,v1=<hex>` where
 * hex = HMAC-SHA256(secret, "<t>.<body>"), Stripe's scheme: the timestamp is signed, so a receiver can refuse
 * replays. `X-Gateway-Alert-Id` is the same on every retry of one alert, so a receiver can drop a duplicate.
 */
import { microsToUsd } from "../../core/money";
import { toIso } from "../../core/time";
import { hmacSha256Hex } from "../../runtime/crypto";
import type { SubjectKind } from "./subjects";

export type AlertFormat = "json" | "slack";

/** One alert: a threshold crossed, the budget refusing, or a test. */
export interface AlertEvent {
  id: string;
  type: "budget.threshold" | "budget.refusing" | "test";
  ruleId: string;
  level: SubjectKind;
  /** The key, user or team id, or the end user's own id. */
  subjectId: string;
  /** The billed user, for key, user and end-user levels. */
  userId: string | null;
  /** Percent; null for `budget.refusing`. */
  threshold: number | null;
  spendMicros: number;
  maxBudgetMicros: number | null;
  windowStart: Date;
  createdAt: Date;
}

export interface AlertTarget {
  url: string;
  format: AlertFormat;
  secret: string | null;
}

export interface PostResult {
  ok: boolean;
  status: number | null;
  error: string | null;
}

const LEVEL_NAME: Record<SubjectKind, string> = { key: "Key", user: "User", team: "Team", end_user: "End user" };

const percentOf = (e: AlertEvent) =>
  e.maxBudgetMicros ? Math.round((e.spendMicros / e.maxBudgetMicros) * 10_000) / 100 : null;

/** The body, as sent (and signed). */
export function renderAlert(e: AlertEvent, format: AlertFormat): string {
  const spend = microsToUsd(e.spendMicros);
  const max = e.maxBudgetMicros === null ? null : microsToUsd(e.maxBudgetMicros);
  const percent = percentOf(e);
  if (format === "slack") {
    const who = `${LEVEL_NAME[e.level]} '${e.subjectId}'${e.level === "end_user" && e.userId ? ` (user '${e.userId}')` : ""}`;
    const of = max === null ? "" : ` of $${max.toFixed(2)}${percent === null ? "" : ` (${percent}%)`}`;
    const what =
      e.type === "test"
        ? "Test alert from the gateway."
        : e.type === "budget.refusing"
          ? `${who} has exceeded its budget: requests are being refused. Spent $${spend.toFixed(2)}${of}.`
          : `${who} has spent $${spend.toFixed(2)}${of}, past the ${e.threshold}% threshold.`;
    return JSON.stringify({ text: what });
  }
  return JSON.stringify({
    id: e.id,
    type: e.type,
    rule_id: e.ruleId,
    level: e.level,
    subject_id: e.subjectId,
    user_id: e.userId,
    threshold: e.threshold,
    spend: spend,
    max_budget: max,
    percent,
    window_start: toIso(e.windowStart),
    created_at: toIso(e.createdAt),
  });
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. */
export function signature(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${hmacSha256Hex(secret, `${unixSeconds}.${body}`)}`;
}

/**
 * POSTs one alert; a 2xx is delivered. Never throws; gives up after `timeoutMs` (a hanging webhook).
 */
export async function postAlert(target: AlertTarget, e: AlertEvent, timeoutMs: number, now: Date): Promise<PostResult> {
  const body = renderAlert(e, target.format);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "otari-gateway-alerts",
    "x-gateway-alert-id": e.id,
  };
  if (target.secret) headers["x-gateway-signature"] = signature(target.secret, body, Math.floor(now.getTime() / 1000));
  try {
    const res = await fetch(target.url, {
      method: "POST",
      body,
      headers,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    return res.ok
      ? { ok: true, status: res.status, error: null }
      : { ok: false, status: res.status, error: `webhook answered ${res.status}` };
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    return {
      ok: false,
      status: null,
      error: timedOut ? `no answer within ${timeoutMs} ms` : err instanceof Error ? err.message : String(err),
    };
  }
}
