/**
 * Usage reports to the platform (docs/behaviour/platform-mode.md#usage-reports): sent in the background after every
 * attempt, with up to `maxAttempts` quick tries (sleeping about 0.25 s, 0.5 s, 1 s... with ±20 % jitter) on 5xx,
 * timeouts and network errors, never on a 4xx. A report that still fails joins an in-memory retry queue (capped; at the
 * cap the oldest is dropped and counted), retried with growing backoff while the platform is down, and flushed on
 * shutdown. Nothing is lost without a log line and a count.
 */
import { logger } from "../../runtime/logger";
import { sleep } from "../../runtime/host";
import type { UsageReport, UsageSendResult } from "./client";

const log = logger("platform-usage");

export interface UsageReporterOptions {
  send: (report: UsageReport) => Promise<UsageSendResult>;
  /** Tries per report before it is queued (`usage_max_retries`, default 3). */
  maxAttempts: number;
  /** First sleep between quick tries (default 250 ms), doubled each time. */
  baseDelayMs?: number;
  /** Queue cap (default 10 000). */
  queueCap?: number;
  /** First wait before a queue retry round (default 1 s); doubles while rounds fail, up to `maxRetryIntervalMs`. */
  retryIntervalMs?: number;
  /** Longest wait between queue rounds (default 30 s). */
  maxRetryIntervalMs?: number;
  /** Told how many reports were dropped at the cap (the metric). */
  onDropped?: (n: number) => void;
  /** Injected for tests (0..1). */
  random?: () => number;
}

export interface UsageReporterStats {
  /** Reports the platform accepted. */
  sent: number;
  /** Reports the platform refused with a 4xx (never retried). */
  rejected: number;
  /** Reports dropped because the queue was full. */
  dropped: number;
  /** Reports waiting in the retry queue. */
  queued: number;
  /** Reports in their quick tries right now. */
  inFlight: number;
  /** Reports still unsent when the last flush gave up. */
  abandoned: number;
}

export interface UsageReporter {
  /** Queues a report for background delivery; never throws and never waits. */
  report(report: UsageReport): void;
  stats(): UsageReporterStats;
  /** Waits for quick tries in flight, then sends the queue (several at a time) until it is empty or `timeoutMs` passes. */
  flush(timeoutMs: number): Promise<void>;
  /** Stops the retry timer (flush first to deliver what is queued). */
  close(): void;
}

export function createUsageReporter(o: UsageReporterOptions): UsageReporter {
  const baseDelay = o.baseDelayMs ?? 250;
  const cap = o.queueCap ?? 10_000;
  const firstInterval = o.retryIntervalMs ?? 1000;
  const maxInterval = o.maxRetryIntervalMs ?? 30_000;
  const random = o.random ?? Math.random;
  const queue: UsageReport[] = [];
  const inFlight = new Set<Promise<void>>();
  const stats = { sent: 0, rejected: 0, dropped: 0, abandoned: 0 };
  let interval = firstInterval;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let round: Promise<void> | null = null;
  let closed = false;
  let flushing = false;

  const jitter = (ms: number) => Math.round(ms * (0.8 + 0.4 * random()));

  /** One POST; counts the outcome; true when the report is settled (sent or refused for good). */
  async function sendOnce(report: UsageReport): Promise<boolean> {
    let result: UsageSendResult;
    try {
      result = await o.send(report);
    } catch {
      result = "retry";
    }
    if (result === "sent") stats.sent++;
    else if (result === "rejected") {
      stats.rejected++;
      log.warn("platform refused a usage report", { correlation_id: report.correlation_id });
    }
    return result !== "retry";
  }

  function enqueue(report: UsageReport): void {
    // Once per outage, not per report: while the platform is down every report would say the same.
    if (queue.length === 0)
      log.warn("usage reports are failing their quick tries; queueing them for retry", {
        first: report.correlation_id,
      });
    queue.push(report);
    if (queue.length > cap) {
      const over = queue.length - cap;
      queue.splice(0, over);
      stats.dropped += over;
      o.onDropped?.(over);
      log.error(`usage retry queue full (${cap}): dropped ${over} oldest report(s)`, { dropped_total: stats.dropped });
    }
    schedule();
  }

  function schedule(): void {
    if (timer || closed || flushing || queue.length === 0) return;
    timer = setTimeout(() => {
      timer = null;
      round ??= drainRound().finally(() => {
        round = null;
        schedule();
      });
    }, jitter(interval));
    timer.unref?.();
  }

  /** Sends queued reports in order until one still fails (the platform is down: back off) or the queue is empty. */
  async function drainRound(): Promise<void> {
    while (queue.length > 0 && !closed) {
      const report = queue[0]!;
      if (!(await sendOnce(report))) {
        interval = Math.min(interval * 2, maxInterval);
        return;
      }
      // It may have been dropped at the cap meanwhile; remove it only if it is still first.
      if (queue[0] === report) queue.shift();
      interval = firstInterval;
      if (queue.length === 0) log.info("usage retry queue drained");
    }
  }

  async function quickTries(report: UsageReport): Promise<void> {
    for (let attempt = 1; attempt <= o.maxAttempts; attempt++) {
      if (await sendOnce(report)) return;
      if (attempt < o.maxAttempts) await sleep(jitter(baseDelay * 2 ** (attempt - 1)));
    }
    enqueue(report);
  }

  return {
    report(report) {
      const p = quickTries(report).finally(() => inFlight.delete(p));
      inFlight.add(p);
    },
    stats: () => ({ ...stats, queued: queue.length, inFlight: inFlight.size }),
    async flush(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      const left = () => deadline - Date.now();
      flushing = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await within(Promise.all([...inFlight]), left());
      if (round) await within(round, left());
      // Several at a time, each once per pass, until the queue is empty or the deadline passes.
      while (queue.length > 0 && left() > 0) {
        const batch = queue.splice(0, Math.min(queue.length, 16));
        const results = await within(Promise.all(batch.map(sendOnce)), left());
        const failed = results ? batch.filter((_, i) => !results[i]) : batch;
        queue.unshift(...failed);
        if (failed.length === batch.length) await sleep(Math.max(0, Math.min(baseDelay, left())));
      }
      flushing = false;
      schedule();
      const unsent = queue.length + inFlight.size;
      if (unsent > 0) {
        stats.abandoned = unsent;
        log.error(`shutdown: ${unsent} usage report(s) could not be delivered to the platform`, {
          correlation_ids: queue.slice(0, 20).map((r) => r.correlation_id),
        });
      }
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}

/** `work`'s value, or null when `ms` passes first (the timer is cleared either way). */
async function within<T>(work: Promise<T>, ms: number): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), Math.max(0, ms));
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
