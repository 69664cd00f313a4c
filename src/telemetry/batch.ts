/**
 * The batch span processor of the OpenTelemetry SDK specification (the OTEL_BSP_* settings): ended spans wait in a
 * bounded queue and go out in batches, one export at a time, every `scheduleDelayMs` or as soon as a full batch is
 * waiting. Ending a span only appends to an array: a slow, hanging or dead collector costs requests nothing, the
 * queue stops growing at its cap and what does not fit is dropped and counted.
 */
import type { SpanExporter } from "./exporter";
import type { SpanData } from "./span";

/** Why spans were dropped: the queue was full, the collector did not take their batch, or shutdown ran out of time. */
export type DropReason = "queue_full" | "export_failed" | "shutdown";

/** Told about exports; the metrics Recorder has these members. */
export interface ExportListener {
  spansExported(n: number): void;
  spansDropped(reason: DropReason, n: number): void;
  traceExportFailed(): void;
}

export interface ExportStats {
  exported: number;
  dropped: Record<DropReason, number>;
  failedExports: number;
  queued: number;
}

export interface BatchOptions {
  exporter: SpanExporter;
  /** OTEL_BSP_MAX_QUEUE_SIZE (2048) */
  maxQueueSize: number;
  /** OTEL_BSP_MAX_EXPORT_BATCH_SIZE (512); at most the queue size. */
  maxExportBatchSize: number;
  /** OTEL_BSP_SCHEDULE_DELAY (5000 ms) */
  scheduleDelayMs: number;
  /** OTEL_BSP_EXPORT_TIMEOUT (30000 ms): one batch's whole export, retries included. */
  exportTimeoutMs: number;
  listener?: ExportListener;
}

export interface BatchProcessor {
  onEnd(span: SpanData): void;
  stats(): ExportStats;
  /** Exports everything queued now (tests, and before a planned stop). */
  forceFlush(): Promise<void>;
  /** Stops taking spans and exports what is queued until `deadlineMs` from now; what is left is dropped and counted. */
  shutdown(deadlineMs: number): Promise<void>;
}

export function createBatchProcessor(o: BatchOptions): BatchProcessor {
  const batchSize = Math.min(o.maxExportBatchSize, o.maxQueueSize);
  const queue: SpanData[] = [];
  const stats: ExportStats = {
    exported: 0,
    dropped: { queue_full: 0, export_failed: 0, shutdown: 0 },
    failedExports: 0,
    queued: 0,
  };
  // Aborted when shutdown's deadline passes, cutting an export that is still trying.
  const stop = new AbortController();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running: Promise<void> | null = null;
  let closed = false;

  const drop = (reason: DropReason, n: number) => {
    if (n === 0) return;
    stats.dropped[reason] += n;
    o.listener?.spansDropped(reason, n);
  };

  async function exportBatch(deadline: number): Promise<void> {
    const batch = queue.splice(0, batchSize);
    const ok = await o.exporter.export(batch, deadline, stop.signal);
    if (ok) {
      stats.exported += batch.length;
      o.listener?.spansExported(batch.length);
    } else {
      stats.failedExports++;
      o.listener?.traceExportFailed();
      drop("export_failed", batch.length);
    }
  }

  /** Exports while full batches wait, then leaves the rest for the timer. One run at a time. */
  function run(): void {
    if (running || queue.length === 0) return;
    running = (async () => {
      do await exportBatch(Date.now() + o.exportTimeoutMs);
      while (queue.length >= batchSize && !closed);
    })().finally(() => {
      running = null;
      if (!closed) schedule();
    });
  }

  function schedule(): void {
    if (queue.length === 0) return;
    if (queue.length >= batchSize) {
      run();
      return;
    }
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      run();
    }, o.scheduleDelayMs);
    timer.unref?.();
  }

  return {
    onEnd(span) {
      if (closed) return drop("shutdown", 1);
      if (queue.length >= o.maxQueueSize) return drop("queue_full", 1);
      queue.push(span);
      if (!running) schedule();
    },
    stats: () => ({ ...stats, dropped: { ...stats.dropped }, queued: queue.length }),
    async forceFlush() {
      while (running || queue.length > 0) {
        if (timer) clearTimeout(timer);
        timer = null;
        run();
        await running;
      }
    },
    async shutdown(deadlineMs) {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      const deadline = Date.now() + deadlineMs;
      const expire = setTimeout(() => stop.abort(), deadlineMs);
      try {
        if (running) await running;
        while (queue.length > 0 && Date.now() < deadline)
          await exportBatch(Math.min(deadline, Date.now() + o.exportTimeoutMs));
      } finally {
        clearTimeout(expire);
        drop("shutdown", queue.splice(0).length);
      }
    },
  };
}
