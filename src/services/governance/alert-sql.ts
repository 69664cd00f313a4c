/**
 * Spend alerts in the database: rules, and one alert_deliveries row per (rule, subject, window, threshold) whose
 * unique index makes an alert fire once across replicas and restarts; senders claim rows before posting them.
 */
import type { Store } from "../../db/client";
import type { AlertEvent, AlertTarget } from "./alert-webhook";
import type { SubjectKind } from "./subjects";

export interface AlertRule extends AlertTarget {
  id: string;
  scope: SubjectKind | "any";
  scopeId: string | null;
  thresholds: number[];
}

/** A claimed delivery: the event to post and where. */
export interface ClaimedAlert {
  event: AlertEvent;
  target: AlertTarget;
  attempts: number;
  createdAt: Date;
}

/** Threshold text of the refusal alert (percent thresholds are their number as text). */
export const REFUSING = "refusing";

/** An alert_deliveries row's threshold text as the alert it is: a percent crossed, or the budget refusing. */
export function alertKind(threshold: string): {
  type: "budget.refusing" | "budget.threshold";
  threshold: number | null;
} {
  return threshold === REFUSING
    ? { type: "budget.refusing", threshold: null }
    : { type: "budget.threshold", threshold: Number(threshold) };
}

/** Where each level's row lives, and what an alert names it by. */
const SUBJECT_SQL: Readonly<Record<SubjectKind, { table: string; id: string; user: string; label: string }>> = {
  key: { table: "api_keys", id: "id", user: "t.user_id", label: "t.id" },
  user: { table: "users", id: "user_id", user: "t.user_id", label: "t.user_id" },
  team: { table: "teams", id: "team_id", user: "NULL", label: "t.team_id" },
  end_user: { table: "end_users", id: "id", user: "t.user_id", label: "t.end_user_id" },
};

const num = (v: unknown) => Number(v ?? 0);
const toDate = (v: unknown): Date => (v instanceof Date ? v : new Date(Number(v)));

interface DeliveryRow {
  id: string;
  rule_id: string;
  subject_kind: SubjectKind;
  label: string;
  user_id: string | null;
  window_start: unknown;
  threshold: string;
  spend_micros: unknown;
  max_budget_micros: unknown;
  attempts: unknown;
  created_at: unknown;
  url: string;
  format: "json" | "slack";
  secret: string | null;
}

function toClaimed(r: DeliveryRow): ClaimedAlert {
  const { type, threshold } = alertKind(r.threshold);
  return {
    event: {
      id: r.id,
      type,
      ruleId: r.rule_id,
      level: r.subject_kind,
      subjectId: r.label,
      userId: r.user_id,
      threshold,
      spendMicros: num(r.spend_micros),
      maxBudgetMicros: r.max_budget_micros === null ? null : num(r.max_budget_micros),
      windowStart: toDate(r.window_start),
      createdAt: toDate(r.created_at),
    },
    target: { url: r.url, format: r.format, secret: r.secret },
    attempts: num(r.attempts),
    createdAt: toDate(r.created_at),
  };
}

export function alertSql(store: Store) {
  const pg = store.dialect === "pg";
  const p = (i: number) => (pg ? `$${i}` : `?${i}`);
  const ts = (d: Date) => (pg ? d : d.getTime());
  const COLS = `d.id, d.rule_id, d.subject_kind, d.label, d.user_id, d.window_start, d.threshold, d.spend_micros,
    d.max_budget_micros, d.attempts, d.created_at, r.url, r.format, r.secret`;

  return {
    async rules(): Promise<AlertRule[]> {
      const rows = await store.db.select().from(store.t.alertRules);
      return rows.map((r) => ({
        id: r.id,
        scope: r.scope as AlertRule["scope"],
        scopeId: r.scopeId,
        thresholds: r.thresholds,
        url: r.url,
        format: r.format as AlertRule["format"],
        secret: r.secret,
      }));
    },

    /**
     * Records the alert unless this (rule, subject, window, threshold) already has one; the subject's row decides
     * (its current window, spend and cap: a threshold not actually crossed there records nothing). True when new.
     */
    async record(
      id: string,
      ruleId: string,
      kind: SubjectKind,
      subjectId: string,
      threshold: string,
      now: Date,
    ): Promise<boolean> {
      const s = SUBJECT_SQL[kind];
      const rows = await store.query(
        `INSERT INTO alert_deliveries (id, rule_id, subject_kind, subject_id, user_id, label, window_start, threshold,
           spend_micros, max_budget_micros, status, attempts, next_attempt_at, created_at)
         SELECT ${p(1)}, ${p(2)}, '${kind}', t.${s.id}, ${s.user}, ${s.label}, t.budget_started_at, ${p(3)},
           t.spend_micros, b.max_budget_micros, 'pending', 0, ${p(4)}, ${p(4)}
         FROM ${s.table} t JOIN budgets b ON b.budget_id = t.budget_id
         WHERE t.${s.id} = ${p(5)} AND t.budget_started_at IS NOT NULL AND b.max_budget_micros IS NOT NULL
           AND (${p(3)} = '${REFUSING}' OR t.spend_micros * 100 >= b.max_budget_micros * ${p(6)}${pg ? "::float8" : ""})
         ON CONFLICT (rule_id, subject_kind, subject_id, window_start, threshold) DO NOTHING
         RETURNING id`,
        [id, ruleId, threshold, ts(now), subjectId, threshold === REFUSING ? 0 : Number(threshold)],
      );
      return rows.length > 0;
    },

    /** Claims up to `limit` due alerts for `claimMs` (nobody else sends them meanwhile); attempts counted. */
    async claim(holder: string, now: Date, claimMs: number, limit: number): Promise<ClaimedAlert[]> {
      const until = new Date(now.getTime() + claimMs);
      const due = `status = 'pending' AND next_attempt_at <= ${p(2)} AND (lease_until IS NULL OR lease_until < ${p(2)})`;
      if (pg) {
        const rows = await store.query<DeliveryRow>(
          `WITH c AS (
             UPDATE alert_deliveries SET lease_until = $1, claimed_by = $3, attempts = attempts + 1
             WHERE id IN (SELECT id FROM alert_deliveries WHERE ${due} ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED)
             RETURNING *
           )
           SELECT ${COLS} FROM c d JOIN alert_rules r ON r.id = d.rule_id`,
          [until, now, holder, limit],
        );
        return rows.map(toClaimed);
      }
      let out: ClaimedAlert[] = [];
      await store.rawTx(async (exec) => {
        const ids = (await exec(
          `UPDATE alert_deliveries SET lease_until = ?1, claimed_by = ?3, attempts = attempts + 1
           WHERE id IN (SELECT id FROM alert_deliveries WHERE ${due} ORDER BY next_attempt_at LIMIT ?4) RETURNING id`,
          [until.getTime(), now.getTime(), holder, limit],
        )) as { id: string }[];
        if (ids.length === 0) return;
        const rows = (await exec(
          `SELECT ${COLS} FROM alert_deliveries d JOIN alert_rules r ON r.id = d.rule_id
           WHERE d.id IN (${ids.map((_, i) => `?${i + 1}`).join(", ")})`,
          ids.map((r) => r.id),
        )) as DeliveryRow[];
        out = rows.map(toClaimed);
      });
      return out;
    },

    async delivered(id: string, holder: string, now: Date): Promise<void> {
      await store.query(
        `UPDATE alert_deliveries SET status = 'delivered', delivered_at = ${p(1)}, lease_until = NULL, last_error = NULL
         WHERE id = ${p(2)} AND claimed_by = ${p(3)}`,
        [ts(now), id, holder],
      );
    },

    /** A failed attempt: retried at `retryAt`, or given up (`failed`) when `giveUp`. */
    async failed(id: string, holder: string, error: string, retryAt: Date, giveUp: boolean): Promise<void> {
      await store.query(
        `UPDATE alert_deliveries SET status = ${p(1)}, next_attempt_at = ${p(2)}, last_error = ${p(3)}, lease_until = NULL
         WHERE id = ${p(4)} AND claimed_by = ${p(5)}`,
        [giveUp ? "failed" : "pending", ts(retryAt), error.slice(0, 500), id, holder],
      );
    },
  };
}

export type AlertSql = ReturnType<typeof alertSql>;
