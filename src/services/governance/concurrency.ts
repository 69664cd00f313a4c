/**
 * `max_concurrent`: requests in flight per scope (a stream counts until its last byte), docs/behaviour/cost-control.md.
 *
 * SQLite (one serving process): counters in memory, exact. Postgres: slots are leased from a shared counter
 * (concurrency-pg.ts) in batches of `leaseFraction` of the limit (at least 1), so a replica admits from memory while
 * it holds free slots. Slots idle for `idleMs` go back at the next sync (every `syncMs`); leases are renewed every
 * `renewMs` and expire `leaseTtlMs` after the last renewal, so a killed replica's slots come back within
 * `leaseTtlMs` of its death: the next take on that counter reclaims them (and the periodic sweep reclaims the rest).
 * The shared count never passes the limit; idle slots held elsewhere make it stricter, for about `idleMs`.
 */
import type { Store } from "../../db/client";
import { logger } from "../../runtime/logger";
import type { Clock } from "./budget-ledger";
import { type SharedSlots, type SlotReturn, sharedSlots } from "./concurrency-pg";

const log = logger("concurrency");

/** The lease numbers (documented in docs/behaviour/cost-control.md). */
export const SLOT_LEASE = { ttlMs: 15_000, renewMs: 5_000, idleMs: 1_000, syncMs: 500, refusedMs: 250 } as const;

export interface ConcurrencyOptions {
  /** null (or a SQLite store) = in-memory counters. */
  store: Store | null;
  clock?: Clock;
  leaseFraction?: number;
  leaseTtlMs?: number;
  renewMs?: number;
  idleMs?: number;
  syncMs?: number;
}

interface SlotEntry {
  readonly scope: string;
  readonly subject: string;
  readonly leaseId: string;
  inflight: number;
  /** Shared mode: slots this replica's lease holds. */
  held: number;
  usedAt: number;
  /** A take or a sync on this entry is running: the next take waits for it. */
  busy: Promise<void> | null;
  refusedUntil: number;
}

export interface ConcurrencySlots {
  /** Takes one slot of `limit`: true at once when there is local room, else asks the shared counter. */
  take(scope: string, subject: string, limit: number): boolean | Promise<boolean>;
  release(scope: string, subject: string): void;
  /** Reclaims expired leases of every replica (the periodic sweep). */
  sweep(): Promise<number>;
  /** Gives back every slot this replica holds. */
  close(): Promise<void>;
}

export function createConcurrencySlots(opts: ConcurrencyOptions): ConcurrencySlots {
  const clock = opts.clock ?? Date.now;
  const shared: SharedSlots | null = opts.store && opts.store.dialect === "pg" ? sharedSlots(opts.store) : null;
  const fraction = opts.leaseFraction ?? 0.1;
  const ttlMs = opts.leaseTtlMs ?? SLOT_LEASE.ttlMs;
  const renewMs = opts.renewMs ?? SLOT_LEASE.renewMs;
  const idleMs = opts.idleMs ?? SLOT_LEASE.idleMs;
  const syncMs = opts.syncMs ?? SLOT_LEASE.syncMs;
  const holder = `slots:${crypto.randomUUID()}:`;
  const byScope = new Map<string, Map<string, SlotEntry>>();
  let renewedAt = clock();

  const entry = (scope: string, subject: string): SlotEntry => {
    let subjects = byScope.get(scope);
    if (!subjects) {
      subjects = new Map();
      byScope.set(scope, subjects);
    }
    let e = subjects.get(subject);
    if (!e) {
      e = {
        scope,
        subject,
        leaseId: `${holder}${scope}:${subject}`,
        inflight: 0,
        held: 0,
        usedAt: 0,
        busy: null,
        refusedUntil: 0,
      };
      subjects.set(subject, e);
    }
    return e;
  };

  async function takeShared(e: SlotEntry, limit: number): Promise<boolean> {
    const db = shared as SharedSlots;
    for (;;) {
      if (e.inflight < Math.min(e.held, limit)) {
        e.inflight++;
        e.usedAt = clock();
        return true;
      }
      // The counter refused lately: until then nothing but this replica's own releases (seen above) frees a slot
      // it could get without others' idle slots coming back first, so it is not asked again at once.
      if (clock() < e.refusedUntil) return false;
      if (e.busy) {
        await e.busy;
        continue;
      }
      let granted = 0;
      e.busy = (async () => {
        const now = clock();
        const want = Math.max(1, Math.min(limit, Math.floor(limit * fraction)));
        granted = await db.take(e.scope, e.subject, e.leaseId, want, limit, new Date(now), new Date(now + ttlMs));
        e.held += granted;
        if (granted === 0) e.refusedUntil = clock() + SLOT_LEASE.refusedMs;
      })();
      try {
        await e.busy;
      } finally {
        e.busy = null;
      }
      if (granted === 0 && e.inflight >= Math.min(e.held, limit)) return false;
    }
  }

  /** Shared mode: idle slots go back, leases are renewed, and local holdings follow what the database says. */
  async function sync(final = false): Promise<void> {
    if (!shared) return;
    const now = clock();
    const renew = final || now - renewedAt >= renewMs;
    const items: SlotReturn[] = [];
    const entries: [SlotEntry, number][] = [];
    for (const [scope, subjects] of byScope) {
      for (const [subject, e] of subjects) {
        if (e.busy) continue;
        const idle = e.held - e.inflight;
        const give = idle > 0 && (final || now - e.usedAt >= idleMs) ? idle : 0;
        if (give === 0 && !(renew && e.held > 0)) {
          if (e.held === 0 && e.inflight === 0 && now - e.usedAt > 60_000) subjects.delete(subject);
          continue;
        }
        items.push({ leaseId: e.leaseId, slots: give });
        entries.push([e, give]);
      }
      if (subjects.size === 0) byScope.delete(scope);
    }
    if (renew) renewedAt = now;
    if (items.length === 0) return;
    const done = shared.giveBack(items, new Date(now + ttlMs));
    const settled = done.then(
      () => undefined,
      () => undefined,
    );
    for (const [e] of entries) e.busy = settled;
    try {
      const left = await done;
      for (const [e] of entries) e.held = left.get(e.leaseId) ?? 0;
    } catch (err) {
      log.warn("concurrency slot sync failed; will retry", { leases: items.length, error: String(err) });
    } finally {
      for (const [e] of entries) if (e.busy === settled) e.busy = null;
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

  return {
    take(scope, subject, limit) {
      const e = entry(scope, subject);
      if (!shared) {
        if (e.inflight >= limit) return false;
        e.inflight++;
        e.usedAt = clock();
        return true;
      }
      if (e.inflight < Math.min(e.held, limit)) {
        e.inflight++;
        e.usedAt = clock();
        return true;
      }
      return takeShared(e, limit);
    },
    release(scope, subject) {
      const e = byScope.get(scope)?.get(subject);
      if (e && e.inflight > 0) e.inflight--;
    },
    sweep: () => (shared ? shared.sweep(new Date(clock())) : Promise.resolve(0)),
    async close() {
      if (timer) clearInterval(timer);
      await syncing;
      await sync(true);
    },
  };
}
