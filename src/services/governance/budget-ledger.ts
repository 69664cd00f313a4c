/**
 * The budget ledger (SPEC §7.3): reserve before a call, settle after it, sweep what dead processes left.
 *
 * Design (both dialects): each process leases a slice of a user's remaining budget in ONE atomic statement
 * (users.reserved_micros += lease, plus a budget_reservations row per process and user) and serves reservations
 * from it in memory. Settled spend and consumed/returned lease are written back by one batched statement every
 * `flushMs`. The database never lets spend + reserved exceed the cap, so no interleaving of requests, processes or
 * replicas can overshoot; a lease is at most `leaseFraction` of what remains and is only used for `leaseMs`, so a
 * change made elsewhere (cap lowered, spend reset) binds within that time. A killed process's leases expire after
 * `leaseTtlSeconds` (renewed while alive) and the sweep gives them back.
 *
 * Crash safety of spend: with a usage journal, each settlement that adds spend gets a sequence number, journaled on
 * its usage row; every flush stores the highest number whose spend it has committed (same statement). After a kill,
 * the restart adds the journaled costs above that mark (`recover`), so settled spend is never lost nor counted twice.
 */
import { forbidden } from "../../core/errors";
import type { Store } from "../../db/client";
import { logger } from "../../platform/logger";
import { type LedgerSql, ledgerSql, type SpendEntry } from "./budget-ledger-sql";

const log = logger("budget-ledger");

/** Epoch milliseconds. */
export type Clock = () => number;

export interface Reservation {
  readonly id: string;
  readonly userId: string;
  readonly amountMicros: number;
  readonly expiresAtMs: number;
  settled: boolean;
}

export interface ReserveInput {
  userId: string;
  estimateMicros: number;
  /** The user's budget cap (from the cached user/budget); null = no budget applies. */
  maxBudgetMicros: number | null;
  /** Free model (both rates 0): allowed even over budget, no reservation. */
  free: boolean;
  /** The cached `next_budget_reset_at`; when due, the reset is applied before reserving. */
  nextResetAt?: Date | null;
}

export interface LedgerMetrics {
  budgetExceeded?(): void;
  reservationsReleased?(n: number): void;
  /** A period reset happened (e.g. bump the change feed so caches reload the user). */
  userReset?(userId: string): void;
}

export interface BudgetLedgerOptions {
  store: Store;
  clock?: Clock;
  /** Age after which an unsettled reservation is dropped by the sweep (SPEC default 900). */
  reservationTtlSeconds: number;
  /** `budget_strategy`: `for_update` and `cas` enforce; `disabled` only accumulates spend. */
  strategy: "for_update" | "cas" | "disabled";
  /** Share of the remaining budget leased at once. 0 = lease exactly the estimate (one statement per reserve). Default 0.1. */
  leaseFraction?: number;
  /** How long a lease may serve new reservations. Default 500 ms (so foreign changes bind within 1 s). */
  leaseMs?: number;
  /** A dead process's lease is released this long after its last renewal. Default min(60, reservationTtlSeconds). */
  leaseTtlSeconds?: number;
  /** Write-back period for settled spend. Default 200 ms (spend visible to other replicas well within 1 s). */
  flushMs?: number;
  /** Identity of this process's usage journal; null/absent = no journal, settlements are not numbered. */
  journalId?: string | null;
  metrics?: LedgerMetrics;
}

interface UserState {
  held: number;
  inflight: number;
  pendingSpend: number;
  pendingRelease: number;
  flushingSpend: number;
  leaseUntil: number;
  renewAt: number;
  acquiring: Promise<void> | null;
  snapshot: { spend: number; reserved: number; at: number } | null;
  knownNextReset: number | null;
  /** Sequence number of the oldest settlement whose spend is still in `pendingSpend` (journal mode). */
  pendingSeq: number | null;
}

export interface BudgetLedger {
  /** Reserves the estimate; throws the 403 when refused; null when no budget applies. */
  reserve(input: ReserveInput): Promise<Reservation | null>;
  /**
   * Adds the actual cost to spend (even over the cap) and releases the reservation; once per reservation. Returns the
   * settlement's sequence number (journal it with the usage row) when it added spend and a journal is configured.
   */
  settle(reservation: Reservation | null, actual: { userId: string; actualMicros: number }): number | null;
  /** Releases without charge (the provider call failed). */
  release(reservation: Reservation | null): void;
  /** Stale local reservations, expired rows of dead processes, due period resets. */
  sweep(): Promise<{ released: number; resets: number }>;
  /** Spend as this process knows it (exact for what it served) for X-Gateway-Budget-Remaining-USD; null when unknown user. */
  usage(userId: string): Promise<{ spendMicros: number; reservedMicros: number } | null>;
  /** Writes settled spend now (management reads call this first so they never lag this process). */
  flush(): Promise<void>;
  /** Marks leases stale (call when the change feed reports budget or user changes). */
  invalidate(userId?: string): void;
  /** Journal mode: reads the stored spend watermark (call at start, before replaying the journal). */
  resume(): Promise<void>;
  /** Journal mode: adds the spend of journaled settlements a killed process had not committed; returns how many. */
  recover(entries: SpendEntry[]): Promise<number>;
  /** Highest settlement number whose spend is committed (journal segments up to it may be deleted). */
  committedSeq(): number;
  close(): Promise<void>;
}

export function createBudgetLedger(opts: BudgetLedgerOptions): BudgetLedger {
  const sql: LedgerSql = ledgerSql(opts.store);
  const clock = opts.clock ?? Date.now;
  const fraction = opts.leaseFraction ?? 0.1;
  const leaseMs = opts.leaseMs ?? 500;
  const leaseTtlMs = (opts.leaseTtlSeconds ?? Math.min(60, opts.reservationTtlSeconds)) * 1000;
  const flushMs = opts.flushMs ?? 200;
  const metrics = opts.metrics ?? {};
  const prefix = `lease:${crypto.randomUUID()}:`;
  const markKey = opts.journalId ? `ledger_spend_seq:${opts.journalId}` : null;
  let lastSeq = 0;
  let committed = 0;
  const users = new Map<string, UserState>();
  const active = new Map<string, Reservation>();
  let reservationSeq = 0;
  let flushing: Promise<void> | null = null;
  let closed = false;

  const state = (userId: string): UserState => {
    let st = users.get(userId);
    if (!st) {
      st = {
        held: 0,
        inflight: 0,
        pendingSpend: 0,
        pendingRelease: 0,
        flushingSpend: 0,
        leaseUntil: 0,
        renewAt: 0,
        acquiring: null,
        snapshot: null,
        knownNextReset: null,
        pendingSeq: null,
      };
      users.set(userId, st);
    }
    return st;
  };
  const freeOf = (st: UserState) => st.held - st.inflight - st.pendingRelease;

  const take = (userId: string, st: UserState, amount: number): Reservation => {
    st.inflight += amount;
    // Reservations live only in this process (the database sees leases), so a counter names them.
    const r: Reservation = {
      id: String(++reservationSeq),
      userId,
      amountMicros: amount,
      expiresAtMs: clock() + opts.reservationTtlSeconds * 1000,
      settled: false,
    };
    active.set(r.id, r);
    return r;
  };

  const refuse = (userId: string) => {
    metrics.budgetExceeded?.();
    return forbidden(`User '${userId}' has exceeded budget limit`, "budget_exceeded");
  };

  async function applyDueReset(userId: string, st: UserState, cachedNext: Date | null | undefined) {
    const now = clock();
    const known = st.knownNextReset ?? cachedNext?.getTime() ?? null;
    if (known === null || known > now) return;
    const r = await sql.resetIfDue(userId, new Date(now));
    st.knownNextReset = r.nextResetAt?.getTime() ?? null;
    if (r.reset) {
      st.snapshot = null;
      metrics.userReset?.(userId);
    }
  }

  async function reserve(input: ReserveInput): Promise<Reservation | null> {
    if (opts.strategy === "disabled" || input.free || input.maxBudgetMicros === null) return null;
    const { userId } = input;
    const est = Math.max(0, Math.ceil(input.estimateMicros));
    const st = state(userId);
    if (input.nextResetAt !== undefined || st.knownNextReset !== null)
      await applyDueReset(userId, st, input.nextResetAt);
    let retried = false;
    for (;;) {
      const fresh = clock() < st.leaseUntil;
      const free = freeOf(st);
      // An estimate of 0 still needs budget left (SPEC §7.3: max_budget 0 refuses unpriced calls): a free lease proves it.
      if (fresh && free >= est && (est > 0 || free > 0)) return take(userId, st, est);
      if (st.acquiring) {
        await st.acquiring;
        continue;
      }
      let granted: boolean | null = null;
      st.acquiring = (async () => {
        if (!fresh && free > 0) st.pendingRelease += free; // a stale lease is given back, not reused
        const need = fresh ? Math.max(0, est - Math.max(0, free)) : est;
        const now = clock();
        const res = await sql.acquire({
          userId,
          need,
          maxMicros: input.maxBudgetMicros as number,
          fraction,
          leaseId: prefix + userId,
          now: new Date(now),
          expiresAt: new Date(now + leaseTtlMs),
        });
        if (!res) {
          granted = false;
          return;
        }
        st.held += res.granted;
        st.leaseUntil = clock() + leaseMs;
        st.renewAt = now + leaseTtlMs / 2;
        st.snapshot = { spend: res.spend, reserved: res.reserved, at: clock() };
        granted = true;
      })();
      try {
        await st.acquiring;
      } finally {
        st.acquiring = null;
      }
      if (granted === false) {
        // Refused while this process still holds lease it is giving back (a stale lease, released only at the
        // next write-back): write it back now and ask once more, so the budget is not refused on our own holdings.
        if (st.pendingRelease > 0 && !retried) {
          retried = true;
          await flush();
          continue;
        }
        throw refuse(userId);
      }
      // The database granted at least `need`, and nothing else ran between its answer and here: take it now.
      if (freeOf(st) >= est) return take(userId, st, est);
    }
  }

  function finish(r: Reservation): UserState | null {
    if (r.settled) return null;
    r.settled = true;
    active.delete(r.id);
    const st = state(r.userId);
    st.inflight = Math.max(0, st.inflight - r.amountMicros);
    return st;
  }

  /** Adds spend to flush; numbers it when a journal is configured. */
  function addSpend(st: UserState, cost: number): number | null {
    st.pendingSpend += cost;
    if (!markKey || cost === 0) return null;
    const seq = ++lastSeq;
    st.pendingSeq ??= seq;
    return seq;
  }

  function settle(r: Reservation | null, actual: { userId: string; actualMicros: number }): number | null {
    const cost = Math.max(0, Math.round(actual.actualMicros));
    if (r) {
      const st = finish(r);
      if (!st) return null; // settled already: exactly once
      // The cost comes out of the lease (as far as it reaches): spend goes up, reserved down, at the next flush.
      st.pendingRelease += Math.min(cost, Math.max(0, freeOf(st)));
      return addSpend(st, cost);
    }
    return cost > 0 ? addSpend(state(actual.userId), cost) : null;
  }

  async function flushOnce(): Promise<void> {
    const now = clock();
    const deltas = [];
    const taken: [UserState, number, number, number | null][] = [];
    for (const [userId, st] of users) {
      if (st.acquiring) continue;
      if (now >= st.leaseUntil && freeOf(st) > 0) st.pendingRelease += freeOf(st);
      const renew = st.held > 0 && now >= st.renewAt;
      if (st.pendingSpend === 0 && st.pendingRelease === 0 && !renew) {
        if (st.held === 0 && st.inflight === 0 && (!st.snapshot || now - st.snapshot.at > 60_000)) users.delete(userId);
        continue;
      }
      deltas.push({ userId, spend: st.pendingSpend, release: st.pendingRelease, leaseId: prefix + userId });
      taken.push([st, st.pendingSpend, st.pendingRelease, st.pendingSeq]);
      st.flushingSpend += st.pendingSpend;
      st.pendingSpend = 0;
      st.pendingRelease = 0;
      st.pendingSeq = null;
      if (renew) st.renewAt = now + leaseTtlMs / 2;
    }
    if (deltas.length === 0) return;
    // Everything numbered below the oldest settlement still pending (users skipped above) is in this flush or before.
    let mark = lastSeq;
    for (const st of users.values()) if (st.pendingSeq !== null) mark = Math.min(mark, st.pendingSeq - 1);
    try {
      const results = await sql.flush(
        deltas,
        new Date(now + leaseTtlMs),
        markKey && mark > committed ? { key: markKey, seq: mark } : null,
      );
      committed = Math.max(committed, mark);
      const byUser = new Map(results.map((r) => [r.userId, r]));
      for (const [i, [st, spend, rel]] of taken.entries()) {
        st.flushingSpend -= spend;
        const r = byUser.get(deltas[i]!.userId);
        if (!r) continue; // user row gone
        st.held = r.heldBefore === null ? 0 : Math.max(0, st.held - Math.min(rel, r.heldBefore));
        st.snapshot = { spend: r.spend, reserved: r.reserved, at: clock() };
      }
    } catch (err) {
      for (const [st, spend, rel, seq] of taken) {
        st.flushingSpend -= spend;
        st.pendingSpend += spend;
        st.pendingRelease += rel;
        if (seq !== null) st.pendingSeq = st.pendingSeq === null ? seq : Math.min(st.pendingSeq, seq);
      }
      log.warn("budget flush failed; will retry", { users: deltas.length, error: String(err) });
    }
  }

  function flush(): Promise<void> {
    const next: Promise<void> = (flushing ?? Promise.resolve()).then(flushOnce).finally(() => {
      if (flushing === next) flushing = null;
    });
    flushing = next;
    return next;
  }

  const timer = setInterval(() => {
    if (!flushing) void flush();
  }, flushMs);
  timer.unref?.();

  return {
    reserve,
    settle,
    release(r) {
      if (r) finish(r);
    },
    async sweep() {
      const now = clock();
      let stale = 0;
      for (const r of [...active.values()]) {
        if (r.expiresAtMs <= now) {
          finish(r);
          stale++;
        }
      }
      const released = (await sql.sweepExpired(new Date(now))) + stale;
      if (released) metrics.reservationsReleased?.(released);
      let resets = 0;
      for (const userId of await sql.dueUsers(new Date(now), 500)) {
        const r = await sql.resetIfDue(userId, new Date(now));
        const st = users.get(userId);
        if (st) st.knownNextReset = r.nextResetAt?.getTime() ?? null;
        if (r.reset) {
          resets++;
          if (st) st.snapshot = null;
          metrics.userReset?.(userId);
        }
      }
      return { released, resets };
    },
    async usage(userId) {
      const st = users.get(userId);
      let snap = st?.snapshot ?? null;
      if (!snap || clock() - snap.at > 1000) {
        const row = await sql.read(userId);
        if (!row) return null;
        snap = { ...row, at: clock() };
        if (st) st.snapshot = snap;
      }
      return { spendMicros: snap.spend + (st ? st.pendingSpend + st.flushingSpend : 0), reservedMicros: snap.reserved };
    },
    flush,
    invalidate(userId) {
      for (const [id, st] of users) if (!userId || id === userId) st.leaseUntil = 0;
    },
    async resume() {
      if (!markKey) return;
      const stored = await sql.readMark(markKey);
      lastSeq = Math.max(lastSeq, stored);
      committed = Math.max(committed, stored);
    },
    async recover(entries) {
      if (!markKey || entries.length === 0) return 0;
      const { mark, applied } = await sql.recover(markKey, entries);
      lastSeq = Math.max(lastSeq, mark);
      committed = Math.max(committed, mark);
      return applied;
    },
    committedSeq: () => (markKey ? committed : Number.POSITIVE_INFINITY),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      for (const st of users.values()) st.leaseUntil = 0;
      await flush();
      await sql.deleteEmptyLeases(prefix).catch(() => undefined);
    },
  };
}
