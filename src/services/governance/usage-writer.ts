/**
 * The usage writer (SPEC §7.4, §0 Storage): rows are journaled before `enqueue` returns, then written off the
 * request path in large idempotent batches. Failed flushes are retried with backoff; a row is only ever dropped
 * when the database rejects that very row (counted as `dropped`), never because the database was down.
 * A row may carry its settlement's spend number (budget ledger): its journal segment is kept until the ledger has
 * committed that spend, and on replay the ledger re-applies what a killed process had not committed.
 */
import type { Store } from "../../db/client";
import { logger } from "../../platform/logger";
import { openJournal, readJournal, type Journal } from "./usage-journal";
import type { UsageInserter } from "./sqlite-usage-inserter";
import { fromJournal, insertUsageRows, isForeignKeyError, type UsageRowInsert } from "./usage-insert";

export type { UsageRowInsert } from "./usage-insert";

const log = logger("usage-writer");

/** What one flush did, for the `gateway_usage_log_*` metrics (SPEC §12). */
export interface FlushEvent {
  writer: "single" | "batch";
  result: "ok" | "error";
  /** Rows in the attempt (the batch-size histogram). */
  rows: number;
  written: number;
  dropped: number;
  durationSeconds: number;
}

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
  onFlush?: (event: FlushEvent) => void;
  /** Where batches are inserted; default: `store` on this thread (SQLite files use a worker thread instead). */
  inserter?: UsageInserter;
  /** The budget ledger's side of crash recovery (journal mode). */
  spend?: {
    /** Highest settlement number whose spend is committed. */
    committed(): number;
    /** Re-applies the spend of journaled settlements above the stored watermark. */
    recover(entries: { userId: string; costMicros: number; seq: number }[]): Promise<number>;
  };
}

/** A row as journaled: the insert plus its settlement number, when it added spend. */
type JournalRow = UsageRowInsert & { spendSeq?: number };

export interface UsageWriter {
  /** Journals and queues a row; `spendSeq` is the ledger's number for its spend (see the header). */
  enqueue(row: UsageRowInsert, spendSeq?: number | null): void;
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

interface Batch {
  rows: UsageRowInsert[];
  segment: string | null;
  /** Highest spend number among the rows (0 = none). */
  maxSeq: number;
}

const MAX_BACKOFF_MS = 30_000;

export function createUsageWriter(opts: UsageWriterOptions): UsageWriter {
  const { store, strategy } = opts;
  const intervalMs = opts.flushIntervalMs ?? 1000;
  const batchSize = strategy === "single" ? 1 : (opts.batchSize ?? 100);
  const journal: Journal | null = opts.journalPath ? openJournal(opts.journalPath, opts.fsync) : null;
  const insert = (rows: UsageRowInsert[]) => (opts.inserter ? opts.inserter.insert(rows) : insertUsageRows(store, rows));
  let queue: UsageRowInsert[] = [];
  let queueSeq = 0;
  let retry: Batch[] = [];
  /** Written segments whose rows' spend the ledger has not committed yet: deleted once it has. */
  let awaiting: Batch[] = [];
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
      void flush().finally(() => schedule(failures ? Math.min(intervalMs * 2 ** failures, MAX_BACKOFF_MS) : intervalMs));
    }, ms);
    // The HTTP server keeps the process alive; close() flushes what is left.
    timer.unref?.();
  };

  const committedSeq = () => opts.spend?.committed() ?? Number.POSITIVE_INFINITY;

  /** Deletes a written batch's segment, or keeps it until the ledger has committed the rows' spend. */
  function done(batch: Batch): void {
    if (batch.maxSeq <= committedSeq()) journal?.remove(batch.segment);
    else awaiting.push(batch);
  }

  function releaseAwaiting(): void {
    if (awaiting.length === 0) return;
    const committed = committedSeq();
    awaiting = awaiting.filter((b) => {
      if (b.maxSeq > committed) return true;
      journal?.remove(b.segment);
      return false;
    });
  }

  /** Writes one batch; on a data error (database reachable) falls back to row by row. */
  async function writeBatch(batch: Batch): Promise<boolean> {
    const started = performance.now();
    inFlight += batch.rows.length;
    try {
      await insert(batch.rows);
      emit({ writer: strategy, result: "ok", rows: batch.rows.length, written: batch.rows.length, dropped: 0, durationSeconds: (performance.now() - started) / 1000 });
      done(batch);
      return true;
    } catch (err) {
      let reachable = true;
      await store.ping(2000).catch(() => {
        reachable = false;
      });
      if (!reachable) {
        emit({ writer: strategy, result: "error", rows: batch.rows.length, written: 0, dropped: 0, durationSeconds: (performance.now() - started) / 1000 });
        log.warn("usage flush failed; will retry", { rows: batch.rows.length, error: String(err) });
        return false;
      }
      const { written, dropped } = await writeOneByOne(batch.rows);
      emit({ writer: strategy, result: dropped ? "error" : "ok", rows: batch.rows.length, written, dropped, durationSeconds: (performance.now() - started) / 1000 });
      done(batch);
      return true;
    } finally {
      inFlight -= batch.rows.length;
    }
  }

  /** Isolates the rows the database rejects; a vanished key or user is detached (as ON DELETE SET NULL would). */
  async function writeOneByOne(rows: UsageRowInsert[]): Promise<{ written: number; dropped: number }> {
    let written = 0;
    let dropped = 0;
    for (const row of rows) {
      const attempts = [row, { ...row, apiKeyId: null }, { ...row, apiKeyId: null, userId: null }];
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

  async function runOnce(): Promise<void> {
    releaseAwaiting();
    const batches = retry;
    retry = [];
    if (queue.length) {
      batches.push({ rows: queue, segment: journal?.rotate() ?? null, maxSeq: queueSeq });
      queue = [];
      queueSeq = 0;
    }
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

  function flush(): Promise<void> {
    // Flushes never overlap; a call during a flush runs one more round after it, so it covers rows enqueued now.
    const next: Promise<void> = (running ?? Promise.resolve()).then(runOnce).finally(() => {
      if (running === next) running = null;
      // Rows that piled up during this flush go now, not at the next tick: that is how batches grow under load.
      if (!running && !failures && queue.length >= batchSize) void flush();
    });
    running = next;
    return next;
  }

  const depth = () => queue.length + inFlight + retry.reduce((n, b) => n + b.rows.length, 0);

  schedule(intervalMs);

  return {
    journalId: journal?.id ?? null,
    enqueue(row, spendSeq) {
      if (closed) throw new Error("usage writer is closed");
      if (journal) {
        journal.append(JSON.stringify(spendSeq ? { ...row, spendSeq } : row));
        if (spendSeq && spendSeq > queueSeq) queueSeq = spendSeq;
      }
      queue.push(row);
      // Batch: a full batch flushes now rather than waiting for the timer; under load batches grow while a flush runs.
      if (queue.length >= batchSize && (!running || strategy === "single")) void flush();
    },
    flush,
    depth,
    async replay() {
      if (!journal) return 0;
      let total = 0;
      for (const segment of journal.leftovers()) {
        const { rows, corrupt } = readJournal<JournalRow>(segment);
        if (corrupt) log.warn("skipped torn lines in the usage journal", { segment, corrupt });
        // Spend first: the ledger's watermark makes this idempotent, and the segment stays until the rows are in.
        const spent = rows.flatMap((r) => (r.spendSeq && r.userId && r.costMicros ? [{ userId: r.userId, costMicros: Number(r.costMicros), seq: r.spendSeq }] : []));
        const recovered = spent.length && opts.spend ? await opts.spend.recover(spent) : 0;
        if (recovered) log.info("re-applied spend a killed process had not committed", { segment, settlements: recovered });
        const batch: Batch = { rows: rows.map(fromJournal), segment, maxSeq: 0 };
        total += rows.length;
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
      await flush();
      for (let attempt = 0; attempt < 3 && retry.length; attempt++) {
        await Bun.sleep(200 * (attempt + 1));
        await flush();
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
