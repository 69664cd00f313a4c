/**
 * Spend alerts (docs/behaviour/cost-control.md#spend-alerts), off the request path. The budget ledger reports the
 * spend of capped levels after each write-back (`observe`) and each refusal (`refused`, O(1) on the request path);
 * a threshold a subject crossed is recorded as an alert_deliveries row whose unique key (rule, subject, window,
 * threshold) makes it fire once across replicas and restarts (alert-sql.ts). Senders claim due rows for `claimMs`
 * before posting them (so no two replicas post one alert), mark them delivered, or retry with backoff (1 s
 * doubling to 5 min) until `giveUpMs`. Memory is bounded: a capped queue of candidates, capped memos, at most
 * `batch` posts in flight; a dead or hanging webhook costs a timer, never a request.
 */
import type { Store } from "../../db/client";
import { logger } from "../../runtime/logger";
import { type AlertRule, type AlertSql, alertSql, type ClaimedAlert, REFUSING } from "./alert-sql";
import { postAlert } from "./alert-webhook";
import type { Clock, SpendObservation } from "./budget-ledger";
import type { BudgetSubject, SubjectKind } from "./subjects";

const log = logger("alerts");

export type AlertOutcome = "delivered" | "retry" | "failed" | "dropped";

export interface AlertsOptions {
  store: Store;
  clock?: Clock;
  /** How often due deliveries (retries, and alerts a dead replica had claimed) are looked for. Default 5000. */
  pollMs?: number;
  /** A webhook that has not answered by then is a failed attempt. Default 10 000. */
  sendTimeoutMs?: number;
  /** How long a claim keeps other replicas off an alert; longer than sendTimeoutMs. Default 30 000. */
  claimMs?: number;
  /** Rules are re-read at most this often. Default 1000. */
  rulesTtlMs?: number;
  /** Retries stop this long after the alert was recorded (status `failed`). Default 24 h. */
  giveUpMs?: number;
  /** Alerts posted at once. Default 4. */
  batch?: number;
  /** Counts each outcome (the `gateway_alerts_total` metric). */
  onOutcome?: (outcome: AlertOutcome) => void;
}

export interface SpendAlerts {
  /** Spend of capped levels after a ledger write-back. */
  observe(observations: SpendObservation[]): void;
  /** A level refused a reservation. */
  refused(subject: BudgetSubject): void;
  /** Rules changed (change feed): re-read them before the next decision. */
  invalidate(): void;
  start(): Promise<void>;
  /** Records what is queued and posts what is due, now; resolves when done (tests, shutdown). */
  drain(): Promise<void>;
  /** Candidates in memory not yet recorded, and posts awaiting an answer (the `gateway_spend_alerts_*` gauges). */
  depth(): { queued: number; sending: number };
  /** Lets posts still out finish (each bounded by sendTimeoutMs) and records what is queued. */
  close(): Promise<void>;
}

interface Candidate {
  ruleId: string;
  kind: SubjectKind;
  id: string;
  threshold: string;
}

const QUEUE_LIMIT = 1000;
const MEMO_LIMIT = 10_000;
/** A refusing level is reported to the rules at most this often per process (the database keeps it once). */
const REFUSAL_REPORT_MS = 10_000;

/** Does the rule watch this level? A rule's scope_id names a key, user or team id, or an end user's own id. */
function watches(rule: AlertRule, subject: BudgetSubject): boolean {
  return (
    (rule.scope === "any" || rule.scope === subject.kind) && (rule.scopeId === null || rule.scopeId === subject.label)
  );
}

export function createSpendAlerts(opts: AlertsOptions): SpendAlerts {
  const sql: AlertSql = alertSql(opts.store);
  const clock = opts.clock ?? Date.now;
  const pollMs = opts.pollMs ?? 5_000;
  const sendTimeoutMs = opts.sendTimeoutMs ?? 10_000;
  const claimMs = opts.claimMs ?? 30_000;
  const rulesTtlMs = opts.rulesTtlMs ?? 1_000;
  const giveUpMs = opts.giveUpMs ?? 86_400_000;
  const batch = opts.batch ?? 4;
  const holder = `alerts:${crypto.randomUUID()}`;
  let rules: AlertRule[] = [];
  let rulesAt = Number.NEGATIVE_INFINITY;
  let loading: Promise<void> | null = null;
  const queue: Candidate[] = [];
  const recorded = new Set<string>();
  const refusedAt = new Map<string, number>();
  let pumping: Promise<void> | null = null;
  /** Posts awaiting their webhook's answer (at most `batch`). */
  let sending = 0;
  let again = false;
  let timer: ReturnType<typeof setInterval> | null = null;
  let wake: ReturnType<typeof setTimeout> | null = null;
  let wakeAt = Number.POSITIVE_INFINITY;
  let closed = false;

  function loadRules(): Promise<void> {
    loading ??= sql
      .rules()
      .then((list) => {
        rules = list;
        rulesAt = clock();
      })
      .catch((err: unknown) => log.warn("could not read alert rules", { error: String(err) }))
      .finally(() => {
        loading = null;
      });
    return loading;
  }

  /** False when the queue is full (the candidate is dropped and counted; a later observation may bring it back). */
  function enqueue(c: Candidate): boolean {
    if (queue.length >= QUEUE_LIMIT) {
      opts.onOutcome?.("dropped");
      return false;
    }
    queue.push(c);
    return true;
  }

  function kick(): void {
    if (closed) return;
    if (pumping) {
      again = true;
      return;
    }
    pumping = pump().finally(() => {
      pumping = null;
      if (again) {
        again = false;
        kick();
      }
    });
  }

  /** Wakes the pump when the earliest retry is due (one timer, whatever the number of retries). */
  function wakeBy(at: number): void {
    if (closed || at >= wakeAt) return;
    if (wake) clearTimeout(wake);
    wakeAt = at;
    wake = setTimeout(
      () => {
        wake = null;
        wakeAt = Number.POSITIVE_INFINITY;
        kick();
      },
      Math.max(0, at - clock()),
    );
    wake.unref?.();
  }

  async function send(a: ClaimedAlert): Promise<void> {
    const result = await postAlert(a.target, a.event, sendTimeoutMs, new Date(clock()));
    const now = clock();
    if (result.ok) {
      await sql.delivered(a.event.id, holder, new Date(now));
      opts.onOutcome?.("delivered");
      return;
    }
    const retryAt = now + Math.min(1000 * 2 ** Math.max(0, a.attempts - 1), 300_000);
    const giveUp = now - a.createdAt.getTime() >= giveUpMs;
    await sql.failed(a.event.id, holder, result.error ?? "failed", new Date(retryAt), giveUp);
    opts.onOutcome?.(giveUp ? "failed" : "retry");
    if (!giveUp) wakeBy(retryAt);
    log.warn("alert webhook failed", {
      alert_id: a.event.id,
      attempt: a.attempts,
      error: result.error,
      gave_up: giveUp,
    });
  }

  /** Records the queued candidates (the database holds what is pending, not memory); how many were new. */
  async function record(): Promise<number> {
    let fresh = 0;
    while (queue.length) {
      const c = queue.shift() as Candidate;
      if (await sql.record(crypto.randomUUID(), c.ruleId, c.kind, c.id, c.threshold, new Date(clock()))) fresh++;
    }
    return fresh;
  }

  async function pump(): Promise<void> {
    try {
      let fresh = 0;
      for (;;) {
        // Candidates that came while posts were out are recorded before the next claim.
        fresh += await record();
        if (closed) return;
        // Without rules there is nothing to post (deleting a rule deletes its alerts).
        if (rules.length === 0 && fresh === 0) return;
        const claimed = await sql.claim(holder, new Date(clock()), claimMs, batch);
        sending += claimed.length;
        await Promise.all(claimed.map((a) => send(a).finally(() => sending--)));
        if (claimed.length < batch) return;
      }
    } catch (err) {
      log.warn("alert delivery round failed; will retry", { error: String(err) });
    }
  }

  /** Runs `check` against fresh rules: at once while they are, else once they are read (a rule made just now counts). */
  function withRules(check: () => void): void {
    if (clock() - rulesAt > rulesTtlMs) void loadRules().then(check);
    else check();
  }

  function observe(observations: SpendObservation[]): void {
    if (rules.length === 0) return;
    for (const o of observations) {
      const cap = o.subject.maxMicros;
      if (cap === null || o.windowStart === null) continue;
      for (const rule of rules) {
        if (!watches(rule, o.subject)) continue;
        for (const t of rule.thresholds) {
          if (o.spendMicros * 100 < cap * t) continue;
          const key = `${rule.id}|${o.subject.kind}|${o.subject.id}|${o.windowStart.getTime()}|${t}`;
          if (recorded.has(key)) continue;
          if (!enqueue({ ruleId: rule.id, kind: o.subject.kind, id: o.subject.id, threshold: String(t) })) continue;
          if (recorded.size >= MEMO_LIMIT) recorded.clear();
          recorded.add(key);
        }
      }
    }
    if (queue.length) kick();
  }

  function refused(subject: BudgetSubject): void {
    if (rules.length === 0) return;
    const key = `${subject.kind}|${subject.id}`;
    const now = clock();
    if (now - (refusedAt.get(key) ?? Number.NEGATIVE_INFINITY) < REFUSAL_REPORT_MS) return;
    if (refusedAt.size >= MEMO_LIMIT) refusedAt.clear();
    refusedAt.set(key, now);
    for (const rule of rules)
      if (watches(rule, subject)) enqueue({ ruleId: rule.id, kind: subject.kind, id: subject.id, threshold: REFUSING });
    kick();
  }

  return {
    observe: (observations) => withRules(() => observe(observations)),
    refused: (subject) => withRules(() => refused(subject)),
    invalidate() {
      rulesAt = Number.NEGATIVE_INFINITY;
    },
    async start() {
      await loadRules();
      timer = setInterval(() => {
        if (clock() - rulesAt > rulesTtlMs) void loadRules();
        kick();
      }, pollMs);
      timer.unref?.();
      kick();
    },
    async drain() {
      await loadRules();
      kick();
      while (pumping) await pumping;
    },
    depth: () => ({ queued: queue.length, sending }),
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      if (wake) clearTimeout(wake);
      // Posts still out get their answer (each within sendTimeoutMs): one cut after the webhook acted on it would
      // be posted again by another replica. What is queued is recorded, for whichever process runs next.
      await loading;
      await pumping;
      await record().catch((err: unknown) => log.warn("could not record queued alerts", { error: String(err) }));
    },
  };
}
