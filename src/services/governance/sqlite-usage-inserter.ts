/**
 * The main-thread side of sqlite-usage-worker.ts: `insert(lines)` resolves when the rows are committed by the worker
 * (or rejects with the database's error, e.g. a foreign-key failure the writer then isolates row by row). A worker
 * that dies is not trusted again: inserts fall back to `fallback` (this thread), so rows are never stranded.
 */
import { logger } from "../../runtime/logger";
import { isCompiledBinary } from "../../runtime/host";

const log = logger("usage-writer");

export interface UsageInserter {
  /** Inserts rows given as their usage lines (usage-insert.ts). */
  insert(lines: string[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The worker's entry point. In the compiled binary it is an entry of its own, addressed relative to the main entry's
 * folder (src/); from source it sits beside this file.
 */
function workerUrl(): string {
  return isCompiledBinary()
    ? "./services/governance/sqlite-usage-worker.ts"
    : new URL("./sqlite-usage-worker.ts", import.meta.url).href;
}

/**
 * The worker starts with the first insert: a Worker is a second JavaScript VM (a few MB of heap and runtime), which
 * a gateway that has served no inference yet does not need.
 */
export function createSqliteUsageInserter(path: string, fallback: (lines: string[]) => Promise<void>): UsageInserter {
  let worker: Worker | null = null;
  let broken = false;
  const pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  let next = 0;
  let closed: (() => void) | null = null;

  function start(): Worker {
    const w = new Worker(workerUrl());
    w.onmessage = (event: MessageEvent<{ id: number; ok: boolean; message?: string }>) => {
      const { id, ok, message } = event.data;
      if (id === -1) {
        closed?.();
        return;
      }
      const p = pending.get(id);
      if (!p) return;
      pending.delete(id);
      if (pending.size === 0) w.unref();
      if (ok) p.resolve();
      else p.reject(new Error(message ?? "usage insert failed"));
    };
    w.onerror = (event) => {
      broken = true;
      log.error("usage worker failed; inserting usage rows on the main thread from now on", { error: event.message });
      for (const p of pending.values()) p.reject(new Error(`usage worker failed: ${event.message}`));
      pending.clear();
      w.unref();
    };
    w.postMessage({ type: "open", path });
    // Idle, the worker must not keep the process alive; with inserts pending it must (ref'd below), or a process whose
    // server already closed could exit before the last batch is committed.
    w.unref();
    return w;
  }

  return {
    insert(lines) {
      if (broken) return fallback(lines);
      worker ??= start();
      const w = worker;
      const id = next++;
      return new Promise<void>((resolve, reject) => {
        if (pending.size === 0) w.ref();
        pending.set(id, { resolve, reject });
        // One string crosses the thread boundary (a copy, no per-row structured clone); the worker parses it.
        w.postMessage({ type: "insert", id, lines: lines.join("\n") });
      });
    },
    async close() {
      const w = worker;
      if (!w || broken) return;
      await new Promise<void>((resolve) => {
        closed = resolve;
        // Ref'd until it answers: otherwise nothing keeps the loop alive and the process exits here, mid-shutdown.
        w.ref();
        w.postMessage({ type: "close" });
        setTimeout(resolve, 2000).unref();
      });
      w.terminate();
    },
  };
}
