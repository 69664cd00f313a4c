/**
 * RPM, TPM and concurrency limits per scope (docs/behaviour/storage.md#rate-limits, docs/behaviour/cost-control.md): a
 * sliding 60 s window from two fixed minute buckets, the previous one weighted by the part of it still inside the
 * window; `max_concurrent` counts requests in flight (concurrency.ts). Scopes are a key, a user, a team, or a
 * rate-limit rule's counter.
 *
 * SQLite (one serving process): counters in memory, exact. Postgres: counters shared in `rate_limit_counters`.
 * A replica takes request slots in batches (`leaseFraction` of the limit, at least 1) with one conditional upsert
 * that never lets the shared count pass the limit, then admits locally while it has slots; so limits are never
 * multiplied by replicas, and unused slots only make the limit stricter by at most one batch per replica, briefly.
 * Token counts (known only after settlement) are pushed, and hot counters refreshed, every `syncMs`.
 */
import { GatewayError } from "../../core/errors";
import type { Store } from "../../db/client";
import type { Clock } from "./budget-ledger";
import { type ConcurrencySlots, createConcurrencySlots } from "./concurrency";
import { type Counts, type SharedCounters, type SyncItem, sharedCounters } from "./rate-limit-pg";

/** The level a limit belongs to, as a refusal names it. */
export type LimitLevel = "global" | "team" | "user" | "key";

export interface RateScope {
  /** The counter's namespace: a level, or `rule:<id>` for a rate-limit rule's counter. */
  scope: string;
  subject: string;
  rpm: number | null;
  tpm: number | null;
  /** Requests in flight at once; absent or null = no limit. */
  maxConcurrent?: number | null;
  /** The level a refusal names (default: `scope`). */
  level?: LimitLevel;
  /** The rule a refusal names, for a rule's counter. */
  rule?: string;
}

/** An admitted request's hold on its limits: release it once, when the response's last byte is out. */
export interface LimitHold {
  /** X-RateLimit-* of the tightest request and token limits. */
  readonly headers: Record<string, string>;
  /** Frees the concurrency slots and counts the request's tokens for TPM; once. */
  release(tokens: number): void;
}

export interface RateLimiterOptions {
  /** null (or a SQLite store) = in-memory counters. */
  store: Store | null;
  clock?: Clock;
  /** Share of an RPM limit taken per shared-counter statement. Default 0.05. */
  leaseFraction?: number;
  /** Token push / snapshot refresh period on Postgres. Default 250 ms. */
  syncMs?: number;
  metrics?: { rateLimitHit?(): void };
  /** The concurrency slots (default: a set of its own over `store`). */
  slots?: ConcurrencySlots;
}

export interface RateLimiter {
  /**
   * Admits one request for every scope, or throws the 429 (Retry-After >= 1). Returns the success headers; at once
   * with in-memory counters, as a promise when a shared counter may have to be asked.
   */
  check(scopes: readonly RateScope[]): Record<string, string> | Promise<Record<string, string>>;
  /**
   * Admits one request on every scope's RPM, TPM and `max_concurrent`, all or none, or throws the 429 naming the
   * limit (Retry-After, X-RateLimit-Scope, X-RateLimit-Scope-Id, X-RateLimit-Rule, X-RateLimit-Limit-Type).
   */
  admit(scopes: readonly RateScope[]): LimitHold | Promise<LimitHold>;
  /** Adds a settled request's tokens to each scope's current window. */
  recordTokens(scopes: readonly RateScope[], tokens: number): void;
  /** Deletes windows older than the previous minute. */
  sweep(): Promise<number>;
  close(): Promise<void>;
}

const MINUTE = 60_000;

interface Entry {
  scope: string;
  subject: string;
  bucket: number;
  counts: Counts;
  /** Shared mode: slots taken from the shared counter and not used yet (all in `bucket`). */
  slots: number;
  pendingTok: number;
  /** Deltas for ended windows (unused slots handed back, late tokens), pushed at the next sync. */
  carry: { bucket: number; req: number; tok: number }[];
  syncedAt: number;
  usedAt: number;
  taking: Promise<void> | null;
  refusedUntil: number;
}

/** Seconds until prev × (1 − f) + cur <= cap, assuming nothing else arrives; f is the elapsed part of the minute. */
export function secondsUntil(prev: number, cur: number, cap: number, elapsedMs: number): number {
  if (cur <= cap) {
    if (prev <= 0 || prev * (1 - elapsedMs / MINUTE) + cur <= cap) return 0;
    const need = 1 - (cap - cur) / prev;
    return Math.max(0, need * MINUTE - elapsedMs) / 1000;
  }
  const need = Math.max(0, 1 - cap / cur);
  return (MINUTE - elapsedMs + need * MINUTE) / 1000;
}

const weighted = (prev: number, cur: number, elapsedMs: number) => prev * (1 - elapsedMs / MINUTE) + cur;

export function createRateLimiter(opts: RateLimiterOptions): RateLimiter {
  const clock = opts.clock ?? Date.now;
  const shared: SharedCounters | null = opts.store && opts.store.dialect === "pg" ? sharedCounters(opts.store) : null;
  const fraction = opts.leaseFraction ?? 0.05;
  const syncMs = opts.syncMs ?? 250;
  // By scope, then subject: looked up with the strings the caller already has (their hashes are cached), where
  // a joined key would be a new string to hash on every request.
  const byScope = new Map<string, Map<string, Entry>>();
  const allEntries = function* (): Generator<[Map<string, Entry>, string, Entry]> {
    for (const subjects of byScope.values()) for (const [subject, e] of subjects) yield [subjects, subject, e];
  };

  const entry = (s: RateScope, now: number): Entry => {
    const bucket = Math.floor(now / MINUTE) * MINUTE;
    let subjects = byScope.get(s.scope);
    if (!subjects) {
      subjects = new Map();
      byScope.set(s.scope, subjects);
    }
    let e = subjects.get(s.subject);
    if (!e) {
      e = {
        scope: s.scope,
        subject: s.subject,
        bucket,
        counts: { prevReq: 0, prevTok: 0, curReq: 0, curTok: 0 },
        slots: 0,
        pendingTok: 0,
        carry: [],
        syncedAt: 0,
        usedAt: now,
        taking: null,
        refusedUntil: 0,
      };
      subjects.set(s.subject, e);
    }
    if (e.bucket !== bucket) {
      // Roll the window: the old current bucket becomes the previous one (or nothing, after an idle minute).
      const adjacent = bucket - e.bucket === MINUTE;
      if (e.slots > 0 || e.pendingTok > 0) e.carry.push({ bucket: e.bucket, req: -e.slots, tok: e.pendingTok });
      e.counts = {
        prevReq: adjacent ? e.counts.curReq - e.slots : 0,
        prevTok: adjacent ? e.counts.curTok + e.pendingTok : 0,
        curReq: 0,
        curTok: 0,
      };
      e.slots = 0;
      e.pendingTok = 0;
      e.bucket = bucket;
      e.syncedAt = 0;
    }
    e.usedAt = now;
    return e;
  };

  const slots = opts.slots ?? createConcurrencySlots({ store: opts.store, clock });

  /** The 429, naming the limit that refused: its level, subject, rule (if any) and kind. */
  const refuse = (seconds: number, s: RateScope, kind: "requests" | "tokens" | "concurrency") => {
    opts.metrics?.rateLimitHit?.();
    const headers: Record<string, string> = {
      "Retry-After": String(Math.max(1, Math.ceil(Math.round(seconds * 1000) / 1000))),
      "X-RateLimit-Scope": s.level ?? s.scope,
      "X-RateLimit-Limit-Type": kind,
    };
    if (s.subject !== "*") headers["X-RateLimit-Scope-Id"] = s.subject;
    if (s.rule) headers["X-RateLimit-Rule"] = s.rule;
    return kind === "concurrency"
      ? new GatewayError(429, "Too many concurrent requests", { code: "concurrency_limit_exceeded", headers })
      : new GatewayError(429, "Rate limit exceeded", { code: "rate_limit_exceeded", headers });
  };

  /** Shared mode: takes one slot (0), fetching more from the shared counter if needed, or returns the seconds to wait. */
  async function takeSlot(e: Entry, rpm: number): Promise<number> {
    for (;;) {
      if (e.slots > 0) {
        e.slots--;
        return 0;
      }
      // The shared counter refused lately: until that refusal's Retry-After passes, nothing can have freed a slot
      // (requests only add), so the answer is the same without asking again.
      const now = clock();
      if (now < e.refusedUntil) return (e.refusedUntil - now) / 1000;
      if (e.taking) {
        await e.taking;
        continue;
      }
      let wait = 0;
      e.taking = (async () => {
        const now = clock();
        const elapsed = now - e.bucket;
        const weight = 1 - elapsed / MINUTE;
        const want = Math.max(1, Math.floor(rpm * fraction));
        const db = shared as SharedCounters;
        let got = await db.take(e.scope, e.subject, e.bucket, e.bucket - MINUTE, want, weight, rpm);
        let n = want;
        if (!got && want > 1) {
          got = await db.take(e.scope, e.subject, e.bucket, e.bucket - MINUTE, 1, weight, rpm);
          n = 1;
        }
        if (got) {
          e.slots += n;
          e.counts = got;
          e.syncedAt = now;
          return;
        }
        e.counts = await db.read(e.scope, e.subject, e.bucket, e.bucket - MINUTE);
        e.syncedAt = now;
        wait = Math.max(secondsUntil(e.counts.prevReq, e.counts.curReq, rpm - 1, elapsed), 0.001);
        e.refusedUntil = now + wait * 1000;
      })();
      try {
        await e.taking;
      } finally {
        e.taking = null;
      }
      if (wait > 0) return wait;
    }
  }

  /** The success headers: the tightest request and token limits among the scopes (docs/api.md#cross-cutting-rules). */
  function successHeaders(scopes: readonly RateScope[], now: number): Record<string, string> {
    let limit = 0;
    let remaining = -1;
    let limitTok = 0;
    let remainingTok = -1;
    for (const s of scopes) {
      if (s.rpm === null && s.tpm === null) continue;
      const e = entry(s, now);
      const elapsed = now - e.bucket;
      if (s.rpm !== null) {
        // Slots this replica holds but has not used are not consumed requests.
        const left = Math.max(
          0,
          Math.floor(s.rpm - weighted(e.counts.prevReq, e.counts.curReq - e.slots, elapsed) + 1e-9),
        );
        if (remaining < 0 || left < remaining) {
          limit = s.rpm;
          remaining = left;
        }
      }
      if (s.tpm !== null) {
        const left = Math.max(
          0,
          Math.floor(s.tpm - weighted(e.counts.prevTok, e.counts.curTok + e.pendingTok, elapsed)),
        );
        if (remainingTok < 0 || left < remainingTok) {
          limitTok = s.tpm;
          remainingTok = left;
        }
      }
    }
    const headers: Record<string, string> = {};
    if (remaining >= 0) {
      headers["X-RateLimit-Limit"] = String(limit);
      headers["X-RateLimit-Remaining"] = String(remaining);
      headers["X-RateLimit-Reset"] = String(Math.ceil((Math.floor(now / MINUTE) * MINUTE + MINUTE) / 1000));
    }
    if (remainingTok >= 0) {
      headers["X-RateLimit-Limit-Tokens"] = String(limitTok);
      headers["X-RateLimit-Remaining-Tokens"] = String(remainingTok);
    }
    return headers;
  }

  /** In-memory counters (one serving process): exact, and no promise on the hot path. */
  function checkLocal(scopes: readonly RateScope[]): Record<string, string> {
    const now = clock();
    // Every scope must pass before any is charged: a refusal costs no scope a request.
    for (const s of scopes) {
      if (s.rpm === null && s.tpm === null) continue;
      const e = entry(s, now);
      const elapsed = now - e.bucket;
      if (s.tpm !== null && weighted(e.counts.prevTok, e.counts.curTok, elapsed) >= s.tpm) {
        throw refuse(secondsUntil(e.counts.prevTok, e.counts.curTok, s.tpm - 1, elapsed), s, "tokens");
      }
      if (s.rpm !== null && weighted(e.counts.prevReq, e.counts.curReq, elapsed) + 1 > s.rpm) {
        throw refuse(secondsUntil(e.counts.prevReq, e.counts.curReq, s.rpm - 1, elapsed), s, "requests");
      }
    }
    for (const s of scopes) if (s.rpm !== null) entry(s, now).counts.curReq++;
    return successHeaders(scopes, now);
  }

  async function checkShared(scopes: readonly RateScope[]): Promise<Record<string, string>> {
    const limited = scopes.filter((s) => s.rpm !== null || s.tpm !== null);
    if (limited.length === 0) return {};
    const now = clock();
    const pairs = limited.map((s) => [s, entry(s, now)] as const);
    // Every scope must pass before any is charged: a refusal costs no scope a request (taken slots go back).
    const held: Entry[] = [];
    const fail = (seconds: number, s: RateScope, kind: "requests" | "tokens") => {
      for (const e of held) e.slots++;
      return refuse(seconds, s, kind);
    };
    for (const [s, e] of pairs) {
      const elapsed = now - e.bucket;
      // A counter this replica has not heard about for a second is read before it decides anything.
      if (shared && s.tpm !== null && now - e.syncedAt > 1000 && !e.taking) {
        e.counts = await shared.read(e.scope, e.subject, e.bucket, e.bucket - MINUTE);
        e.syncedAt = now;
      }
      if (s.tpm !== null) {
        const tok = weighted(e.counts.prevTok, e.counts.curTok + e.pendingTok, elapsed);
        if (tok >= s.tpm)
          throw fail(secondsUntil(e.counts.prevTok, e.counts.curTok + e.pendingTok, s.tpm - 1, elapsed), s, "tokens");
      }
      if (s.rpm === null) continue;
      if (shared) {
        const wait = await takeSlot(e, s.rpm);
        if (wait > 0) throw fail(wait, s, "requests");
        held.push(e);
      } else if (weighted(e.counts.prevReq, e.counts.curReq, elapsed) + 1 > s.rpm) {
        throw fail(secondsUntil(e.counts.prevReq, e.counts.curReq, s.rpm - 1, elapsed), s, "requests");
      }
    }
    return successHeaders(limited, now);
  }

  async function sync(): Promise<void> {
    if (!shared) return;
    const now = clock();
    const items = new Map<string, SyncItem>();
    const add = (e: Entry, windowStart: number, requests: number, tokens: number) => {
      const id = `${e.scope}\u0000${e.subject}\u0000${windowStart}`;
      const it = items.get(id);
      if (it) {
        it.requests += requests;
        it.tokens += tokens;
      } else items.set(id, { scope: e.scope, subject: e.subject, windowStart, requests, tokens });
    };
    const taken: [Entry, number, Entry["carry"]][] = [];
    for (const [, , e] of allEntries()) {
      if (e.taking) continue;
      const hot = now - e.usedAt < 5000 && now - e.syncedAt >= syncMs;
      if (!e.pendingTok && e.carry.length === 0 && !hot) continue;
      add(e, e.bucket, 0, e.pendingTok);
      add(e, e.bucket - MINUTE, 0, 0);
      for (const c of e.carry) add(e, c.bucket, c.req, c.tok);
      taken.push([e, e.pendingTok, e.carry]);
      e.pendingTok = 0;
      e.carry = [];
    }
    if (items.size === 0) return;
    try {
      const rows = await shared.sync([...items.values()]);
      for (const [e] of taken) {
        for (const r of rows) {
          if (r.scope !== e.scope || r.subject !== e.subject) continue;
          if (r.windowStart === e.bucket) Object.assign(e.counts, { curReq: r.requests, curTok: r.tokens });
          else if (r.windowStart === e.bucket - MINUTE)
            Object.assign(e.counts, { prevReq: r.requests, prevTok: r.tokens });
        }
        e.syncedAt = now;
      }
    } catch {
      for (const [e, tok, carry] of taken) {
        e.pendingTok += tok;
        e.carry.push(...carry);
      }
    }
  }

  let syncing: Promise<void> | null = null;
  const timer = shared
    ? setInterval(() => {
        syncing ??= sync().finally(() => {
          syncing = null;
        });
      }, syncMs)
    : null;
  timer?.unref?.();

  function recordTokens(scopes: readonly RateScope[], tokens: number): void {
    if (!(tokens > 0)) return;
    const now = clock();
    for (const s of scopes) {
      if (s.tpm === null && s.rpm === null) continue;
      const e = entry(s, now);
      if (shared) e.pendingTok += tokens;
      else e.counts.curTok += tokens;
    }
  }

  function hold(scopes: readonly RateScope[], headers: Record<string, string>): LimitHold {
    let released = false;
    return {
      headers,
      release(tokens) {
        if (released) return;
        released = true;
        for (const s of scopes) if (s.maxConcurrent) slots.release(s.scope, s.subject);
        recordTokens(scopes, tokens);
      },
    };
  }

  /** A concurrency refusal: slots taken before `at` go back, and so does the request each scope counted. */
  function refuseSlots(scopes: readonly RateScope[], at: number, bucket: number): GatewayError {
    for (let i = 0; i < at; i++) {
      const s = scopes[i] as RateScope;
      if (s.maxConcurrent) slots.release(s.scope, s.subject);
    }
    const now = clock();
    for (const s of scopes) {
      if (s.rpm === null) continue;
      const e = entry(s, now);
      if (e.bucket !== bucket) continue; // the minute rolled: that count is history now
      if (shared) e.slots++;
      else e.counts.curReq = Math.max(0, e.counts.curReq - 1);
    }
    return refuse(1, scopes[at] as RateScope, "concurrency");
  }

  /** Takes a slot on every scope with `max_concurrent` from index `from` on; at once while no shared counter is asked. */
  function takeSlots(
    scopes: readonly RateScope[],
    from: number,
    headers: Record<string, string>,
    bucket: number,
  ): LimitHold | Promise<LimitHold> {
    for (let i = from; i < scopes.length; i++) {
      const s = scopes[i] as RateScope;
      if (!s.maxConcurrent) continue;
      const got = slots.take(s.scope, s.subject, s.maxConcurrent);
      if (got === true) continue;
      if (got === false) throw refuseSlots(scopes, i, bucket);
      return got.then((ok) => {
        if (!ok) throw refuseSlots(scopes, i, bucket);
        return takeSlots(scopes, i + 1, headers, bucket);
      });
    }
    return hold(scopes, headers);
  }

  function admit(scopes: readonly RateScope[]): LimitHold | Promise<LimitHold> {
    const bucket = Math.floor(clock() / MINUTE) * MINUTE;
    const checked = shared ? checkShared(scopes) : checkLocal(scopes);
    if (checked instanceof Promise) return checked.then((headers) => takeSlots(scopes, 0, headers, bucket));
    return takeSlots(scopes, 0, checked, bucket);
  }

  return {
    check: shared ? checkShared : checkLocal,
    admit,
    recordTokens,
    async sweep() {
      const now = clock();
      const horizon = Math.floor(now / MINUTE) * MINUTE - MINUTE;
      let n = 0;
      for (const [subjects, subject, e] of allEntries()) {
        if (e.bucket < horizon && !e.pendingTok && e.carry.length === 0 && !e.taking) {
          subjects.delete(subject);
          n++;
        }
      }
      await slots.sweep();
      return shared ? shared.sweep(horizon) : n;
    },
    async close() {
      if (timer) clearInterval(timer);
      await syncing;
      // Hand back every unused slot so a restart of this replica does not leave the window over-counted.
      for (const [, , e] of allEntries()) {
        if (e.slots > 0) e.carry.push({ bucket: e.bucket, req: -e.slots, tok: 0 });
        e.slots = 0;
      }
      await sync();
      await slots.close();
    },
  };
}
