// Over 500 lines on purpose: one closure owns the lease state every operation touches; its SQL is budget-ledger-sql.ts.
/**
 * The budget ledger (docs/behaviour/storage.md#budgets, docs/behaviour/cost-control.md): reserve before a call,
 * settle after it, sweep what dead processes left, on every level of a request's path (key, user, team, end user).
 *
 * Design (both dialects): each process leases a slice of a subject's remaining budget in ONE atomic statement
 * (reserved_micros += lease on the subject's row, plus a budget_reservations row per process and subject) and serves
 * reservations from it in memory. A request reserves its estimate on every capped level of its path, or on none:
 * the leases are checked and taken in one synchronous step, and a level without room is leased first (in
 * parallel with the others), so the database is only asked when a lease runs out. Settled spend and
 * consumed/returned lease are written back for every level by one batched statement every `flushMs`. The database
 * never lets spend + reserved exceed a cap, so no interleaving of requests, processes or replicas can overshoot a
 * level; a lease is at most `leaseFraction` of what remains and is only used for `leaseMs`, so a change made
 * elsewhere (cap lowered, spend reset) binds within that time. A killed process's leases expire after
 * `leaseTtlSeconds` (renewed while alive) and the sweep gives them back.
 *
 * Crash safety of spend: with a usage journal, each settlement that adds spend gets a sequence number, journaled on
 * its usage row with the levels it charged; every flush stores the highest number whose spend it has committed
 * (same statement). After a kill, the restart adds the journaled costs above that mark on those levels
 * (`recover`), so settled spend is never lost nor counted twice.
 */
import type { Store } from "../../db/client";
import { logger } from "../../runtime/logger";
import { type FlushDelta, type LedgerSql, ledgerSql, type SpendEntry } from "./budget-ledger-sql";
import {
  type BudgetSubject,
  budgetRefusal,
  LEVEL_BIT,
  type SubjectKind,
  type SubjectRef,
  SUBJECT_KINDS,
} from "./subjects";

const log = logger("budget-ledger");

const KIND_RANK: Readonly<Record<SubjectKind, number>> = { key: 0, user: 1, team: 2, end_user: 3 };

/** Epoch milliseconds. */
export type Clock = () => number;

/** One level of a reservation: its in-memory state. */
interface SubjectState {
  readonly kind: SubjectKind;
  readonly id: string;
  readonly leaseId: string;
  /** The last description of this level seen on a request (label, cap, end-user seed). */
  subject: BudgetSubject;
  held: number;
  inflight: number;
  /** Unsettled reservations on this level (held or not): the state is kept while any may still settle. */
  open: number;
  pendingSpend: number;
  pendingRelease: number;
  flushingSpend: number;
  /** Lease being given back by the write-back in flight: not free, though `held` still counts it until it returns. */
  flushingRelease: number;
  leaseUntil: number;
  renewAt: number;
  acquiring: Promise<void> | null;
  /** The row as last read or written; NO_SNAPSHOT until then (never null: see NO_SNAPSHOT). */
  snapshot: Snapshot;
  knownNextReset: number | null;
  /** `budget_started_at` as last read (alerts key their once-per-window on it). */
  windowStart: number | null;
  /** Sequence number of the oldest settlement whose spend is still in `pendingSpend` (journal mode). */
  pendingSeq: number | null;
  /** End users: the row is known to exist. */
  ensured: boolean;
}

interface Snapshot {
  readonly spend: number;
  readonly reserved: number;
  /** When it was read (ms); -Infinity for NO_SNAPSHOT, which is thus always stale. */
  readonly at: number;
}

/**
 * A subject's snapshot before any read: a sentinel rather than null, so every state's `snapshot` holds an object of
 * one shape. A nullable field read in the per-request budget path made the optimizing JIT exit and recompile on
 * nearly every request (docs/benchmark.md#deoptimizations).
 */
const NO_SNAPSHOT: Snapshot = { spend: 0, reserved: 0, at: Number.NEGATIVE_INFINITY };

/** A request's hold on every level of its path; settled or released exactly once. */
export interface Reservation {
  readonly id: string;
  /** µ$ held on each capped level (the same estimate on each). */
  readonly amountMicros: number;
  readonly expiresAtMs: number;
  settled: boolean;
  /** @internal the levels, in path order. */
  readonly states: readonly SubjectState[];
  /** @internal bit i set = states[i] holds `amountMicros` for this reservation. */
  readonly heldMask: number;
  /** @internal bit i set = states[i] has a cap (whether or not this reservation holds on it). */
  readonly cappedMask: number;
}

/** What a settlement journals with its usage row so a crash cannot lose its spend (usage-writer.ts). */
export interface SpendStamp {
  seq: number;
  /** LEVEL_BIT of every level charged. */
  levels: number;
}

/** The user-only reservation (the admission's call until it reserves a whole path). */
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

/** A level's spend after a write-back, for spend alerts (only levels with a cap). */
export interface SpendObservation {
  subject: BudgetSubject;
  spendMicros: number;
  windowStart: Date | null;
}

export interface LedgerMetrics {
  budgetExceeded?(): void;
  reservationsReleased?(n: number): void;
  /** A user's period reset happened (e.g. bump the change feed so caches reload the user). */
  userReset?(userId: string): void;
  /** Any level's period reset happened. */
  subjectReset?(subject: SubjectRef): void;
  /** A level refused a reservation (spend alerts: "the budget started refusing"). Called on the request path: O(1). */
  refused?(subject: BudgetSubject): void;
  /** Spend of capped levels after each write-back (spend alerts). */
  flushed?(observations: SpendObservation[]): void;
}

export interface BudgetLedgerOptions {
  store: Store;
  clock?: Clock;
  /**
   * Age after which an unsettled reservation is dropped by the sweep (the default of `reservation_ttl_seconds`,
   * docs/configuration.md#keys).
   */
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

export interface BudgetLedger {
  /**
   * Reserves the estimate on every capped level of `path` (key, user, team, end user, in that order), or on none:
   * throws 403 `budget_exceeded` naming the first level without room. Levels without a cap (and every level for a
   * free model or with budgets disabled) only count spend at settlement. Creates an end user's row on first sight.
   */
  reservePath(path: readonly BudgetSubject[], estimateMicros: number, free: boolean): Promise<Reservation>;
  /**
   * Adds the actual cost to spend on every level of the reservation (even over a cap) and releases what it held;
   * once per reservation. Returns the stamp to journal with the usage row when it added spend and a journal is
   * configured.
   */
  settlePath(reservation: Reservation, actualMicros: number): SpendStamp | null;
  /** µ$ left on the tightest capped level of the reservation (X-Gateway-Budget-Remaining-USD); null = no cap. */
  remaining(reservation: Reservation): Promise<number | null>;
  /** The user-only form of reservePath; null when no budget applies. */
  reserve(input: ReserveInput): Promise<Reservation | null>;
  /** The user-only form of settlePath; without a reservation the cost is added to the user's spend. */
  settle(reservation: Reservation | null, actual: { userId: string; actualMicros: number }): number | null;
  /** Releases without charge (the provider call failed). */
  release(reservation: Reservation | null): void;
  /** Stale local reservations, expired rows of dead processes, due period resets. */
  sweep(): Promise<{ released: number; resets: number }>;
  /** A user's spend as this process knows it (exact for what it served); null when unknown user. */
  usage(userId: string): Promise<{ spendMicros: number; reservedMicros: number } | null>;
  /** Writes settled spend now (management reads call this first so they never lag this process). */
  flush(): Promise<void>;
  /** Marks leases stale: of one level, or of every level (call when the change feed reports budget changes). */
  invalidate(kind?: SubjectKind, id?: string): void;
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
  const enforcing = opts.strategy !== "disabled";
  const prefix = `lease:${crypto.randomUUID()}:`;
  const markKey = opts.journalId ? `ledger_spend_seq:${opts.journalId}` : null;
  let lastSeq = 0;
  let committed = 0;
  // One map per level, looked up with the id strings the caller already has.
  const byKind: Record<SubjectKind, Map<string, SubjectState>> = {
    key: new Map(),
    user: new Map(),
    team: new Map(),
    end_user: new Map(),
  };
  const active = new Map<string, Reservation>();
  let reservationSeq = 0;
  let flushing: Promise<void> | null = null;
  let closed = false;

  const allStates = function* (): Generator<SubjectState> {
    for (const kind of SUBJECT_KINDS) yield* byKind[kind].values();
  };

  const state = (s: BudgetSubject): SubjectState => {
    const map = byKind[s.kind];
    let st = map.get(s.id);
    if (!st) {
      st = {
        kind: s.kind,
        id: s.id,
        leaseId: `${prefix}${s.kind}:${s.id}`,
        subject: s,
        held: 0,
        inflight: 0,
        open: 0,
        pendingSpend: 0,
        pendingRelease: 0,
        flushingSpend: 0,
        flushingRelease: 0,
        leaseUntil: 0,
        renewAt: 0,
        acquiring: null,
        snapshot: NO_SNAPSHOT,
        knownNextReset: null,
        windowStart: null,
        pendingSeq: null,
        ensured: s.kind !== "end_user",
      };
      map.set(s.id, st);
    } else st.subject = s;
    return st;
  };
  const userSubject = (userId: string, maxMicros: number | null, nextResetAt?: Date | null): BudgetSubject => ({
    kind: "user",
    id: userId,
    label: userId,
    maxMicros,
    nextResetAt,
  });
  const freeOf = (st: SubjectState) => st.held - st.inflight - st.pendingRelease - st.flushingRelease;
  /** The lease is fresh and covers `est` (an estimate of 0 still needs budget left: max_budget 0 refuses). */
  const hasRoom = (st: SubjectState, est: number) => {
    const free = freeOf(st);
    return clock() < st.leaseUntil && free >= est && (est > 0 || free > 0);
  };

  function refuse(st: SubjectState) {
    metrics.budgetExceeded?.();
    metrics.refused?.(st.subject);
    return budgetRefusal(st.kind, st.subject.label);
  }

  function noteReset(st: SubjectState | undefined, ref: SubjectRef, r: { reset: boolean; nextResetAt: Date | null }) {
    if (st) st.knownNextReset = r.nextResetAt?.getTime() ?? null;
    if (!r.reset) return false;
    if (st) {
      st.snapshot = NO_SNAPSHOT;
      st.windowStart = null;
    }
    if (ref.kind === "user") metrics.userReset?.(ref.id);
    metrics.subjectReset?.({ kind: ref.kind, id: ref.id });
    return true;
  }

  /** A due period reset is applied before reserving (cheap when none is due: no promise). */
  function dueResetOf(st: SubjectState, cachedNext: Date | null | undefined): Promise<boolean> | null {
    const known = st.knownNextReset ?? cachedNext?.getTime() ?? null;
    if (known === null) return null;
    const now = clock();
    if (known > now) return null;
    return sql.resetIfDue(st, new Date(now)).then((r) => noteReset(st, st, r));
  }

  /** Leases at least `est` for one level; false when the database refused (someone else's lease: true, re-check). */
  async function acquireFor(st: SubjectState, est: number, maxMicros: number): Promise<boolean> {
    if (st.acquiring) {
      await st.acquiring;
      return true;
    }
    const fresh = clock() < st.leaseUntil;
    const free = freeOf(st);
    let granted = false;
    st.acquiring = (async () => {
      if (!fresh && free > 0) st.pendingRelease += free; // a stale lease is given back, not reused
      const need = fresh ? Math.max(0, est - Math.max(0, free)) : est;
      const now = clock();
      const res = await sql.acquire({
        kind: st.kind,
        id: st.id,
        need,
        maxMicros,
        fraction,
        leaseId: st.leaseId,
        now: new Date(now),
        expiresAt: new Date(now + leaseTtlMs),
      });
      if (!res) return;
      st.held += res.granted;
      st.leaseUntil = clock() + leaseMs;
      st.renewAt = now + leaseTtlMs / 2;
      st.snapshot = { spend: res.spend, reserved: res.reserved, at: clock() };
      st.knownNextReset = res.nextResetAt?.getTime() ?? null;
      st.windowStart = res.windowStart?.getTime() ?? null;
      granted = true;
    })();
    try {
      await st.acquiring;
    } finally {
      st.acquiring = null;
    }
    return granted;
  }

  /** The states were opened (pinned) by reservePath; the reservation keeps them open until it settles. */
  function take(states: readonly SubjectState[], mask: number, capped: number, est: number): Reservation {
    for (let i = 0; i < states.length; i++) if (mask & (1 << i)) (states[i] as SubjectState).inflight += est;
    // Reservations live only in this process (the database sees leases), so a counter names them.
    const r: Reservation = {
      id: String(++reservationSeq),
      amountMicros: est,
      expiresAtMs: clock() + opts.reservationTtlSeconds * 1000,
      settled: false,
      states,
      heldMask: mask,
      cappedMask: capped,
    };
    active.set(r.id, r);
    return r;
  }

  async function reservePath(path: readonly BudgetSubject[], estimateMicros: number, free: boolean) {
    const est = Math.max(0, Math.ceil(estimateMicros));
    const states: SubjectState[] = new Array(path.length);
    // Each level's state is opened at once: a write-back while this waits (a lease, a reset, an end user's row)
    // must not drop it from the map, or the spend settled on it later would never be written.
    for (let i = 0; i < path.length; i++) {
      const st = state(path[i] as BudgetSubject);
      st.open++;
      states[i] = st;
    }
    try {
      return await reserveOpened(path, states, est, free);
    } catch (err) {
      for (const st of states) st.open--;
      throw err;
    }
  }

  async function reserveOpened(
    path: readonly BudgetSubject[],
    states: SubjectState[],
    est: number,
    free: boolean,
  ): Promise<Reservation> {
    let mask = 0;
    let capped = 0;
    for (let i = 0; i < path.length; i++) {
      const s = path[i] as BudgetSubject;
      const st = states[i] as SubjectState;
      if (!st.ensured && s.endUser) {
        await sql.ensureEndUser(s.id, s.endUser, new Date(clock()));
        st.ensured = true;
      }
      const reset = dueResetOf(st, s.nextResetAt);
      if (reset) await reset;
      if (s.maxMicros === null) continue;
      capped |= 1 << i;
      if (enforcing && !free) mask |= 1 << i;
    }
    if (mask === 0) return take(states, 0, capped, est);
    let retried = 0;
    for (;;) {
      let short = 0;
      for (let i = 0; i < states.length; i++)
        if (mask & (1 << i) && !hasRoom(states[i] as SubjectState, est)) short |= 1 << i;
      if (short === 0) return take(states, mask, capped, est);
      const asked: number[] = [];
      for (let i = 0; i < states.length; i++) if (short & (1 << i)) asked.push(i);
      const granted = await Promise.all(
        asked.map((i) => acquireFor(states[i] as SubjectState, est, (path[i] as BudgetSubject).maxMicros as number)),
      );
      for (let k = 0; k < asked.length; k++) {
        if (granted[k]) continue;
        const i = asked[k] as number;
        const st = states[i] as SubjectState;
        // Refused while this process still holds lease it is giving back (a stale lease, released only at the
        // next write-back, or in the write-back running now): write it back, or wait for it, and ask once more,
        // so a level is not refused on our own holdings. flush() runs after any write-back in progress.
        if ((st.pendingRelease > 0 || st.flushingRelease > 0) && !(retried & (1 << i))) {
          retried |= 1 << i;
          await flush();
          break;
        }
        throw refuse(st);
      }
      // Whatever was granted is taken at the top of the loop, in one synchronous step over every level.
    }
  }

  function finish(r: Reservation): boolean {
    if (r.settled) return false;
    r.settled = true;
    active.delete(r.id);
    for (let i = 0; i < r.states.length; i++) {
      const st = r.states[i] as SubjectState;
      st.open--;
      if (r.heldMask & (1 << i)) st.inflight = Math.max(0, st.inflight - r.amountMicros);
    }
    return true;
  }

  /** Numbers a settlement's spend when a journal is configured. */
  function nextSeq(cost: number): number | null {
    return markKey && cost > 0 ? ++lastSeq : null;
  }

  function addSpend(st: SubjectState, cost: number, seq: number | null) {
    st.pendingSpend += cost;
    if (seq !== null) st.pendingSeq ??= seq;
  }

  function settlePath(r: Reservation, actualMicros: number): SpendStamp | null {
    const cost = Math.max(0, Math.round(actualMicros));
    if (!finish(r)) return null; // settled already: exactly once
    const seq = nextSeq(cost);
    let levels = 0;
    for (let i = 0; i < r.states.length; i++) {
      const st = r.states[i] as SubjectState;
      // The cost comes out of the lease (as far as it reaches): spend goes up, reserved down, at the next flush.
      if (r.heldMask & (1 << i)) st.pendingRelease += Math.min(cost, Math.max(0, freeOf(st)));
      addSpend(st, cost, seq);
      levels |= LEVEL_BIT[st.kind];
    }
    return seq === null ? null : { seq, levels };
  }

  /** Whether `st`'s snapshot is recent enough to answer without a read. */
  const freshSnapshot = (st: SubjectState) => clock() - st.snapshot.at <= 1000;

  /** Reads `st`'s row into its snapshot (NO_SNAPSHOT when the subject has no row). */
  async function refreshSnapshot(st: SubjectState): Promise<void> {
    const row = await sql.read(st);
    st.snapshot = row ? { spend: row.spend, reserved: row.reserved, at: clock() } : NO_SNAPSHOT;
  }

  /** Spend so far of a subject with a snapshot: the stored spend plus what this process has not flushed yet. */
  const spendOf = (st: SubjectState, snap: Snapshot) => snap.spend + st.pendingSpend + st.flushingSpend;

  async function snapshotOf(st: SubjectState) {
    if (!freshSnapshot(st)) await refreshSnapshot(st);
    const snap = st.snapshot;
    if (snap === NO_SNAPSHOT) return null;
    return { spendMicros: spendOf(st, snap), reservedMicros: snap.reserved };
  }

  /**
   * The least budget left among `r`'s capped levels whose snapshots were read (null: none). Only the capped levels are
   * visited, by their bits: a nullable cap, or a null snapshot, read on every request here made the optimizing JIT
   * exit and recompile on nearly every call (docs/benchmark.md#deoptimizations).
   */
  function leastLeft(r: Reservation): number | null {
    let least = Number.POSITIVE_INFINITY;
    for (let i = 0; i < r.states.length; i++) {
      if (!(r.cappedMask & (1 << i))) continue;
      const st = r.states[i] as SubjectState;
      const snap = st.snapshot;
      if (snap === NO_SNAPSHOT) continue;
      const left = (st.subject.maxMicros as number) - spendOf(st, snap); // capped: a number
      if (left < least) least = left;
    }
    return least === Number.POSITIVE_INFINITY ? null : Math.max(least, 0);
  }

  async function flushOnce(): Promise<void> {
    const now = clock();
    const deltas: FlushDelta[] = [];
    const taken: [SubjectState, number, number, number | null][] = [];
    for (const kind of SUBJECT_KINDS) {
      const map = byKind[kind];
      for (const [id, st] of map) {
        if (st.acquiring) continue;
        if (now >= st.leaseUntil && freeOf(st) > 0) st.pendingRelease += freeOf(st);
        const renew = st.held > 0 && now >= st.renewAt;
        if (st.pendingSpend === 0 && st.pendingRelease === 0 && !renew) {
          if (st.held === 0 && st.open === 0 && now - st.snapshot.at > 60_000) map.delete(id);
          continue;
        }
        deltas.push({ kind, id, spend: st.pendingSpend, release: st.pendingRelease, leaseId: st.leaseId });
        taken.push([st, st.pendingSpend, st.pendingRelease, st.pendingSeq]);
        st.flushingSpend += st.pendingSpend;
        st.flushingRelease += st.pendingRelease;
        st.pendingSpend = 0;
        st.pendingRelease = 0;
        st.pendingSeq = null;
        if (renew) st.renewAt = now + leaseTtlMs / 2;
      }
    }
    if (deltas.length === 0) return;
    // One order for every replica's write-back (level, then id), so two flushes lock rows in the same order.
    deltas.sort((x, y) =>
      x.kind === y.kind ? (x.id < y.id ? -1 : x.id > y.id ? 1 : 0) : KIND_RANK[x.kind] - KIND_RANK[y.kind],
    );
    // Everything numbered below the oldest settlement still pending (levels skipped above) is in this flush or before.
    let mark = lastSeq;
    for (const st of allStates()) if (st.pendingSeq !== null) mark = Math.min(mark, st.pendingSeq - 1);
    try {
      const results = await sql.flush(
        deltas,
        new Date(now + leaseTtlMs),
        markKey && mark > committed ? { key: markKey, seq: mark } : null,
      );
      committed = Math.max(committed, mark);
      const byRef = new Map(results.map((r) => [`${r.kind}\u0000${r.id}`, r]));
      const observed: SpendObservation[] = [];
      for (const [st, spend, rel] of taken) {
        st.flushingSpend -= spend;
        st.flushingRelease -= rel;
        const r = byRef.get(`${st.kind}\u0000${st.id}`);
        if (!r) continue; // row gone
        st.held = r.heldBefore === null ? 0 : Math.max(0, st.held - Math.min(rel, r.heldBefore));
        st.snapshot = { spend: r.spend, reserved: r.reserved, at: clock() };
        st.windowStart = r.windowStart?.getTime() ?? null;
        if (spend > 0 && st.subject.maxMicros !== null)
          observed.push({ subject: st.subject, spendMicros: r.spend, windowStart: r.windowStart });
      }
      if (observed.length) metrics.flushed?.(observed);
    } catch (err) {
      for (const [st, spend, rel, seq] of taken) {
        st.flushingSpend -= spend;
        st.flushingRelease -= rel;
        st.pendingSpend += spend;
        st.pendingRelease += rel;
        if (seq !== null) st.pendingSeq = st.pendingSeq === null ? seq : Math.min(st.pendingSeq, seq);
      }
      log.warn("budget flush failed; will retry", { subjects: deltas.length, error: String(err) });
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
    reservePath,
    settlePath,
    async remaining(r) {
      // Fresh snapshots answer at once; a stale one is read first (a subject without a row is left out).
      for (let i = 0; i < r.states.length; i++) {
        const st = r.states[i] as SubjectState;
        if (r.cappedMask & (1 << i) && !freshSnapshot(st)) await refreshSnapshot(st);
      }
      return leastLeft(r);
    },
    async reserve(input) {
      if (!enforcing || input.free || input.maxBudgetMicros === null) return null;
      return reservePath(
        [userSubject(input.userId, input.maxBudgetMicros, input.nextResetAt)],
        input.estimateMicros,
        false,
      );
    },
    settle(r, actual) {
      if (r) return settlePath(r, actual.actualMicros)?.seq ?? null;
      const cost = Math.max(0, Math.round(actual.actualMicros));
      if (cost === 0) return null;
      const seq = nextSeq(cost);
      addSpend(state(userSubject(actual.userId, null)), cost, seq);
      return seq;
    },
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
      for (const ref of await sql.dueSubjects(new Date(now), 500)) {
        if (noteReset(byKind[ref.kind].get(ref.id), ref, await sql.resetIfDue(ref, new Date(now)))) resets++;
      }
      return { released, resets };
    },
    async usage(userId) {
      const st = byKind.user.get(userId);
      if (st) return snapshotOf(st);
      const row = await sql.read({ kind: "user", id: userId });
      return row ? { spendMicros: row.spend, reservedMicros: row.reserved } : null;
    },
    flush,
    invalidate(kind, id) {
      for (const k of kind ? [kind] : SUBJECT_KINDS)
        for (const [sid, st] of byKind[k]) if (!id || sid === id) st.leaseUntil = 0;
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
      for (const st of allStates()) st.leaseUntil = 0;
      await flush();
      await sql.deleteEmptyLeases(prefix).catch(() => undefined);
    },
  };
}
