/**
 * Spend alert rules: CRUD and a test post (docs/behaviour/cost-control.md#spend-alerts). Deliveries themselves run
 * off the request path in the gateway (governance/alerts.ts).
 */
import { and, desc, eq, isNull } from "drizzle-orm";
import { notFound } from "../core/errors";
import { microsToUsd } from "../core/money";
import type {
  AlertDeliveriesQuery,
  AlertDeliveryResponse,
  AlertRuleResponse,
  AlertTestResponse,
  CreateAlertInput,
  UpdateAlertInput,
} from "../core/schemas/alerts";
import { toIso, toIsoOrNull } from "../core/time";
import { uuid } from "../runtime/crypto";
import type { ServiceDeps } from "./deps";
import { alertKind } from "./governance/alert-sql";
import { postAlert } from "./governance/alert-webhook";
import type { SubjectKind } from "./governance/subjects";
import { keyNotFound } from "./keys";
import { teamRef } from "./spend-windows";

type AlertRow = ServiceDeps["store"]["t"]["alertRules"]["$inferSelect"];
type DeliveryRow = ServiceDeps["store"]["t"]["alertDeliveries"]["$inferSelect"];

function toDeliveryResponse(row: DeliveryRow): AlertDeliveryResponse {
  const { type, threshold } = alertKind(row.threshold);
  const status = row.status as AlertDeliveryResponse["status"];
  return {
    id: row.id,
    rule_id: row.ruleId,
    type,
    level: row.subjectKind as AlertDeliveryResponse["level"],
    subject_id: row.label,
    user_id: row.userId,
    threshold,
    spend: microsToUsd(row.spendMicros),
    max_budget: row.maxBudgetMicros === null ? null : microsToUsd(row.maxBudgetMicros),
    window_start: toIso(row.windowStart),
    status,
    attempts: row.attempts,
    last_error: row.lastError,
    created_at: toIso(row.createdAt),
    next_attempt_at: status === "pending" ? toIso(row.nextAttemptAt) : null,
    delivered_at: toIsoOrNull(row.deliveredAt),
  };
}

function toAlertResponse(row: AlertRow): AlertRuleResponse {
  return {
    id: row.id,
    scope: row.scope as AlertRuleResponse["scope"],
    scope_id: row.scopeId,
    thresholds: row.thresholds,
    url: row.url,
    format: row.format as AlertRuleResponse["format"],
    has_secret: row.secret !== null,
    created_at: toIso(row.createdAt),
    updated_at: toIso(row.updatedAt),
  };
}

const alertNotFound = (id: string) => notFound(`Alert rule '${id}' not found`, "alert_not_found");

/** How long a test post waits for the webhook. */
const TEST_TIMEOUT_MS = 10_000;

export function createAlertsService({ store, now, changed }: ServiceDeps) {
  const { db, t } = store;

  async function getRow(id: string): Promise<AlertRow> {
    const [row] = await db.select().from(t.alertRules).where(eq(t.alertRules.id, id));
    if (!row) throw alertNotFound(id);
    return row;
  }

  /** 404 unless a named key, live user or team exists (end users appear on first request: any id is accepted). */
  async function checkSubject(input: CreateAlertInput): Promise<void> {
    const id = input.scope_id;
    if (id == null) return;
    if (input.scope === "team") await teamRef(db, t, id);
    else if (input.scope === "key") {
      const [key] = await db.select({ id: t.apiKeys.id }).from(t.apiKeys).where(eq(t.apiKeys.id, id));
      if (!key) throw keyNotFound(id);
    } else if (input.scope === "user") {
      const [user] = await db
        .select({ id: t.users.userId })
        .from(t.users)
        .where(and(eq(t.users.userId, id), isNull(t.users.deletedAt)));
      if (!user) throw notFound(`User with id '${id}' not found`, "user_not_found");
    }
  }

  return {
    async create(input: CreateAlertInput): Promise<AlertRuleResponse> {
      await checkSubject(input);
      const at = now();
      const [row] = await db
        .insert(t.alertRules)
        .values({
          id: uuid(),
          scope: input.scope,
          scopeId: input.scope_id ?? null,
          thresholds: [...input.thresholds].sort((a, b) => a - b),
          url: input.url,
          format: input.format,
          secret: input.secret ?? null,
          createdAt: at,
          updatedAt: at,
        })
        .returning();
      changed("alerts");
      return toAlertResponse(row!);
    },

    async list(): Promise<AlertRuleResponse[]> {
      const rows = await db.select().from(t.alertRules).orderBy(t.alertRules.createdAt, t.alertRules.id);
      return rows.map(toAlertResponse);
    },

    async get(id: string): Promise<AlertRuleResponse> {
      return toAlertResponse(await getRow(id));
    },

    /** Absent or null fields are unchanged; `secret: ""` removes the secret. Scope and scope_id are fixed. */
    async update(id: string, input: UpdateAlertInput): Promise<AlertRuleResponse> {
      await getRow(id);
      const patch: Partial<AlertRow> = { updatedAt: now() };
      if (input.thresholds != null) patch.thresholds = [...input.thresholds].sort((a, b) => a - b);
      if (input.url != null) patch.url = input.url;
      if (input.format != null) patch.format = input.format;
      if (input.secret != null) patch.secret = input.secret === "" ? null : input.secret;
      const [row] = await db.update(t.alertRules).set(patch).where(eq(t.alertRules.id, id)).returning();
      changed("alerts");
      return toAlertResponse(row!);
    },

    /** Deletes the rule and its delivery history. */
    async remove(id: string): Promise<void> {
      await getRow(id);
      await db.delete(t.alertRules).where(eq(t.alertRules.id, id));
      changed("alerts");
    },

    /** The rule's alerts, newest first: what was posted, what is still being retried and what gave up, and why. */
    async deliveries(id: string, query: AlertDeliveriesQuery): Promise<AlertDeliveryResponse[]> {
      await getRow(id);
      const d = t.alertDeliveries;
      const rows = await db
        .select()
        .from(d)
        .where(query.status ? and(eq(d.ruleId, id), eq(d.status, query.status)) : eq(d.ruleId, id))
        .orderBy(desc(d.createdAt), desc(d.id))
        .limit(query.limit);
      return rows.map(toDeliveryResponse);
    },

    /** Posts a `test` event to the rule's webhook now (signed like real alerts) and says how it answered. */
    async test(id: string): Promise<AlertTestResponse> {
      const row = await getRow(id);
      const at = now();
      const level: SubjectKind = row.scope === "any" ? "user" : (row.scope as SubjectKind);
      const result = await postAlert(
        { url: row.url, format: row.format as "json" | "slack", secret: row.secret },
        {
          id: uuid(),
          type: "test",
          ruleId: row.id,
          level,
          subjectId: row.scopeId ?? "test",
          userId: null,
          threshold: row.thresholds[0] ?? null,
          spendMicros: 0,
          maxBudgetMicros: null,
          windowStart: at,
          createdAt: at,
        },
        TEST_TIMEOUT_MS,
        at,
      );
      return { delivered: result.ok, status_code: result.status, error: result.error };
    },
  };
}

export type AlertsService = ReturnType<typeof createAlertsService>;
