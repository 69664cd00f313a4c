/**
 * The usage writer (docs/behaviour/storage.md#usage-rows, docs/behaviour/storage.md#usage-writer-and-journal): rows are
 * journaled before `enqueue` returns, then written off the request path in large idempotent batches. Failed flushes are
 * retried with backoff; a row is only ever dropped when the database rejects that very row (counted as `dropped`),
 * never because the database was down. A row may carry its settlement's spend number (budget ledger): its journal
 * segment is kept until the ledger has committed that spend, and on replay the ledger re-applies what a killed process
 * had not committed.
 *
 * Rows travel as their journal line (usage-insert.ts): serialised once, queued as strings, parsed again only where
 * they are inserted (the SQLite worker thread, or the Postgres flush). The journal is rotated into a segment when
 * the active file holds `rotateRows` rows or is `rotateMs` old, not at every flush, so a busy gateway renames and
 * deletes a file every few thousand rows; a segment is deleted once every row in it is committed. Replay may
 * therefore re-read rows that were already committed: inserts are idempotent (`ON CONFLICT (id) DO NOTHING`).
 */
import type { Store } from "../../db/client";
import type { FlushEvent } from "../../metrics/registry";
import { logger } from "../../runtime/logger";
import { sleep } from "../../runtime/host";
import { openJournal, readJournalLines, type Journal } from "./usage-journal";
import type { UsageInserter } from "./sqlite-usage-inserter";
import type { SpendStamp } from "./budget-ledger";
import type { SpendEntry } from "./budget-ledger-sql";
import { endUserSubjectId, LEVEL_BIT, type SubjectRef } from "./subjects";
import {
  fromUsageLine,
  insertUsageLines,
  isForeignKeyError,
  toUsageLine,
  type UsageLineRow,
  type UsageRowInsert,
} from "./usage-insert";

export type { UsageRowInsert } from "./usage-insert";

const log = logger("usage-writer");

export type { FlushEvent } from "../../metrics/registry";

export interface UsageWriterOptions {
  store: Store;
  strategy: "single" | "batch";
  /** Crash journal; null disables it (rows queued in memory are then lost if the process is killed). */
  journalPath: string | null;
  fsync: boolean;
  /** Default 1000. */
  flushIntervalMs?: number;
  /** A flush starts as soon as this many rows are queued. Default 100. */
  batchSize?: number;
  /** The active journal file becomes a segment at this many rows (default 10 000) or this age (default 5 000 ms). */
  rotateRows?: number;
  rotateMs?: number;
  onFlush?: (event: FlushEvent) => void;
  /** Where batches are inserted; default: `store` on this thread (SQLite files use a worker thread instead). */
  inserter?: UsageInserter;
  /** The budget ledger's side of crash recovery (journal mode). */
  spend?: {
    /** Highest settlement number whose spend is committed. */
    committed(): number;
    /** Re-applies the spend of journaled settlements above the stored watermark. */
    recover(entries: SpendEntry[]): Promise<number>;
  };
}

export interface UsageWriter {
  /**
   * Journals and queues a row; `spend` is the ledger's stamp for its spend (a bare number: the user's spend only).
   * The row's ids must be the levels the stamp names (its key, user, team and end user).
   */
  enqueue(row: UsageRowInsert, spend?: number | SpendStamp | null): void;
  /** The crash journal's identity, null without a journal. */
  readonly journalId: string | null;
  /** Writes everything queued so far (retrying once what failed before). */
  flush(): Promise<void>;
  /** Inserts the rows an earlier process left in the journal; idempotent. Returns how many rows were read. */
  replay(): Promise<number>;
  /** Stops the timer and flushes; rows that still cannot be written stay in the journal for the next start. */
  close(): Promise<void>;
  /** Rows not yet in the database (the queue-depth gauge). */
  depth(): number;
}

/** The levels a journaled settlement charged, from the row's ids (the user alone for lines without levels). */
function chargedLevels(row: UsageLineRow): SubjectRef[] {
  const levels = row.spendLevels ?? LEVEL_BIT.user;
  const out: SubjectRef[] = [];
  if (levels & LEVEL_BIT.key && row.apiKeyId) out.push({ kind: "key", id: row.apiKeyId });
  if (levels & LEVEL_BIT.user && row.userId) out.push({ kind: "user", id: row.userId });
  if (levels & LEVEL_BIT.team && row.teamId) out.push({ kind: "team", id: row.teamId });
  if (levels & LEVEL_BIT.end_user && row.userId && row.endUserId)
    out.push({ kind: "end_user", id: endUserSubjectId(row.userId, row.endUserId) });
  return out;
}

/** A journal file and what still holds it: rows not yet committed, and the highest spend number among its rows. */
interface Segment {
  /** null while it is the active file. */
  path: string | null;
  pending: number;
  maxSeq: number;
  openedAt: number;
}

interface Batch {
  lines: string[];
  /** The segments the lines were journaled in, with how many lines each (rows are queued in journal order). */
  parts: [Segment, number][];
}

const MAX_BACKOFF_MS = 30_000;

export function createUsageWriter(opts: UsageWriterOptions): UsageWriter {
  const { store, strategy } = opts;
  const intervalMs = opts.flushIntervalMs ?? 1000;
  const batchSize = strategy === "single" ? 1 : (opts.batchSize ?? 100);
  const rotateRows = opts.rotateRows ?? 10_000;
  const rotateMs = opts.rotateMs ?? 5000;
  const journal: Journal | null = opts.journalPath ? openJournal(opts.journalPath, opts.fsync) : null;
  const insert = (lines: string[]) => (opts.inserter ? opts.inserter.insert(lines) : insertUsageLines(store, lines));
  const newSegment = (): Segment => ({ path: null, pending: 0, maxSeq: 0, openedAt: Date.now() });
  let active = newSegment();
  let activeRows = 0;
  let queue: string[] = [];
  let queueParts: [Segment, number][] = [];
  let retry: Batch[] = [];
  /** Closed segments whose rows are all written but whose spend the ledger has not committed yet. */
  let awaiting: Segment[] = [];
  let inFlight = 0;
  let running: Promise<void> | null = null;
  let failures = 0;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const emit = (e: FlushEvent) => {
    try {
      opts.onFlush?.(e);
    } catch {
      // A metrics hook must never break writing.
    }
  };

  const schedule = (ms: number) => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void flush().finally(() =>
        schedule(failures ? Math.min(intervalMs * 2 ** failures, MAX_BACKOFF_MS) : intervalMs),
      );
    }, ms);
    // The HTTP server keeps the process alive; close() flushes what is left.
    timer.unref?.();
  };

  const committedSeq = () => opts.spend?.committed() ?? Number.POSITIVE_INFINITY;

  /** Deletes a closed segment with nothing pending, or keeps it until the ledger has committed its rows' spend. */
  function release(seg: Segment): void {
    if (seg.path === null || seg.pending > 0) return;
    if (seg.maxSeq <= committedSeq()) journal?.remove(seg.path);
    else awaiting.push(seg);
  }

  function releaseAwaiting(): void {
    if (awaiting.length === 0) return;
    const committed = committedSeq();
    awaiting = awaiting.filter((s) => {
      if (s.maxSeq > committed) return true;
      journal?.remove(s.path);
      return false;
    });
  }

  /** Closes the active file into a segment (when it has rows); `force` regardless of its size and age. */
  function rotate(force: boolean): void {
    if (!journal || activeRows === 0) return;
    if (!force && activeRows < rotateRows && Date.now() - active.openedAt < rotateMs) return;
    const seg = active;
    seg.path = journal.rotate();
    active = newSegment();
    activeRows = 0;
    release(seg);
  }

  function done(batch: Batch): void {
    for (const [seg, n] of batch.parts) {
      seg.pending -= n;
      release(seg);
    }
  }

  /** Writes one batch; on a data error (database reachable) falls back to row by row. */
  async function writeBatch(batch: Batch): Promise<boolean> {
    const started = performance.now();
    const n = batch.lines.length;
    inFlight += n;
    try {
      await insert(batch.lines);
      emit({
        writer: strategy,
        result: "ok",
        rows: n,
        written: n,
        dropped: 0,
        durationSeconds: (performance.now() - started) / 1000,
      });
      done(batch);
      return true;
    } catch (err) {
      let reachable = true;
      await store.ping(2000).catch(() => {
        reachable = false;
      });
      if (!reachable) {
        emit({
          writer: strategy,
          result: "error",
          rows: n,
          written: 0,
          dropped: 0,
          durationSeconds: (performance.now() - started) / 1000,
        });
        log.warn("usage flush failed; will retry", { rows: n, error: String(err) });
        return false;
      }
      const { written, dropped } = await writeOneByOne(batch.lines);
      emit({
        writer: strategy,
        result: dropped ? "error" : "ok",
        rows: n,
        written,
        dropped,
        durationSeconds: (performance.now() - started) / 1000,
      });
      done(batch);
      return true;
    } finally {
      inFlight -= n;
    }
  }

  /** Isolates the rows the database rejects; a vanished key or user is detached (as ON DELETE SET NULL would). */
  async function writeOneByOne(lines: string[]): Promise<{ written: number; dropped: number }> {
    let written = 0;
    let dropped = 0;
    for (const line of lines) {
      const row = fromUsageLine(line);
      const attempts = [
        line,
        toUsageLine({ ...row, apiKeyId: null }),
        toUsageLine({ ...row, apiKeyId: null, userId: null }),
      ];
      let ok = false;
      let lastError: unknown;
      for (const attempt of attempts) {
        try {
          await insert([attempt]);
          ok = true;
          break;
        } catch (err) {
          lastError = err;
          if (!isForeignKeyError(err)) break;
        }
      }
      if (ok) written++;
      else {
        dropped++;
        log.error("usage row rejected by the database and dropped", { id: row.id, error: String(lastError) });
      }
    }
    return { written, dropped };
  }

  async function runOnce(forceRotate = false): Promise<void> {
    releaseAwaiting();
    const batches = retry;
    retry = [];
    if (queue.length) {
      batches.push({ lines: queue, parts: queueParts });
      queue = [];
      queueParts = [];
    }
    rotate(forceRotate);
    let failed = false;
    for (const batch of batches) {
      // After one failure the database is down: keep the rest for the retry without hammering it.
      if (failed || !(await writeBatch(batch))) {
        failed = true;
        retry.push(batch);
      }
    }
    failures = failed ? failures + 1 : 0;
  }

  function flush(forceRotate = false): Promise<void> {
    // Flushes never overlap; a call during a flush runs one more round after it, so it covers rows enqueued now.
    const next: Promise<void> = (running ?? Promise.resolve())
      .then(() => runOnce(forceRotate))
      .finally(() => {
        if (running === next) running = null;
        // Rows that piled up during this flush go now, not at the next tick: that is how batches grow under load.
        if (!running && !failures && queue.length >= batchSize) void flush();
      });
    running = next;
    return next;
  }

  const depth = () => queue.length + inFlight + retry.reduce((n, b) => n + b.lines.length, 0);

  schedule(intervalMs);

  return {
    journalId: journal?.id ?? null,
    enqueue(row, spend) {
      if (closed) throw new Error("usage writer is closed");
      const spendSeq = typeof spend === "number" ? spend : (spend?.seq ?? null);
      const line = toUsageLine(row, spendSeq, typeof spend === "object" && spend ? spend.levels : undefined);
      if (journal) {
        journal.append(line);
        activeRows++;
        if (spendSeq && spendSeq > active.maxSeq) active.maxSeq = spendSeq;
      }
      active.pending++;
      const last = queueParts[queueParts.length - 1];
      if (last && last[0] === active) last[1]++;
      else queueParts.push([active, 1]);
      queue.push(line);
      // Batch: a full batch flushes now rather than waiting for the timer; under load batches grow while a flush runs.
      if (queue.length >= batchSize && (!running || strategy === "single")) void flush();
    },
    flush: () => flush(),
    depth,
    async replay() {
      if (!journal) return 0;
      let total = 0;
      for (const path of journal.leftovers()) {
        const { lines, corrupt } = readJournalLines(path);
        if (corrupt) log.warn("skipped torn lines in the usage journal", { segment: path, corrupt });
        const rows = lines.map(fromUsageLine);
        // Spend first: the ledger's watermark makes this idempotent, and the segment stays until the rows are in.
        const spent = rows.flatMap((r): SpendEntry[] =>
          r.spendSeq && r.userId && r.costMicros
            ? [{ costMicros: Number(r.costMicros), seq: r.spendSeq, subjects: chargedLevels(r) }]
            : [],
        );
        const recovered = spent.length && opts.spend ? await opts.spend.recover(spent) : 0;
        if (recovered)
          log.info("re-applied spend a killed process had not committed", { segment: path, settlements: recovered });
        const seg: Segment = { path, pending: lines.length, maxSeq: 0, openedAt: 0 };
        const batch: Batch = { lines, parts: [[seg, lines.length]] };
        total += lines.length;
        if (!(await writeBatch(batch))) {
          retry.push(batch);
          failures++;
        }
      }
      if (total) log.info("replayed usage journal", { rows: total });
      return total;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      await flush(true);
      for (let attempt = 0; attempt < 3 && retry.length; attempt++) {
        await sleep(200 * (attempt + 1));
        await flush(true);
      }
      releaseAwaiting();
      const left = depth();
      if (left) {
        if (journal) log.warn("usage rows kept in the journal for the next start", { rows: left });
        else {
          emit({ writer: strategy, result: "error", rows: left, written: 0, dropped: left, durationSeconds: 0 });
          log.error("usage rows lost at shutdown (no journal configured)", { rows: left });
        }
      }
      journal?.close();
      await opts.inserter?.close();
    },
  };
}
