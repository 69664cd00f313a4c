/**
 * A worker thread that inserts usage rows into the SQLite database with a connection of its own, so a flush (and
 * the WAL checkpoints that commits trigger) never blocks the event loop that serves requests. The main thread
 * keeps the journal, the retries and the ordering; this thread only runs one transaction per batch.
 * Messages: {type:"open", path} once, then {type:"insert", id, lines} → {id, ok} | {id, ok:false, message}, where
 * `lines` are the rows' usage lines (usage-insert.ts) joined by newlines.
 * It is a separate entry point of the compiled binary (scripts/_compile.ts).
 */
import { Database, type SQLQueryBindings } from "bun:sqlite";
import { lowerThreadPriority } from "../../runtime/engine";
import { fromUsageLine, insertSqliteRows } from "./usage-insert";

declare const self: Worker;

type Message = { type: "open"; path: string } | { type: "insert"; id: number; lines: string } | { type: "close" };

let db: Database | null = null;

/** Runs a statement (bun:sqlite caches the prepared form per text) and returns its rows. */
const run = (sql: string, params: unknown[]): unknown[] => db!.query(sql).all(...(params as SQLQueryBindings[]));

self.onmessage = async (event: MessageEvent<Message>) => {
  const msg = event.data;
  if (msg.type === "open") {
    // Inserts yield the CPU to the threads serving requests; rows wait safely in the journal meanwhile.
    lowerThreadPriority(10);
    db = new Database(msg.path, { strict: true });
    // temp_store = MEMORY: the statement journal an insert keeps (to undo itself part-way) stays in memory. Once it
    // spilled to a temp file, every page an insert touched became a 4 KiB write: with every cost level on, 5.7
    // writes per row instead of 0.7 (the bulk of the levels' cost; docs/benchmark.md#cpu-per-request). This
    // connection only inserts, so no large sort can land in that memory.
    db.exec(
      "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;",
    );
    return;
  }
  if (msg.type === "close") {
    db?.close();
    db = null;
    self.postMessage({ id: -1, ok: true });
    return;
  }
  try {
    if (!db) throw new Error("usage worker: database not open");
    const rows = msg.lines.split("\n").map(fromUsageLine);
    // Every await below resolves synchronously (bun:sqlite), so no other message runs inside this transaction.
    db.exec("BEGIN IMMEDIATE");
    try {
      await insertSqliteRows(rows, run);
      db.exec("COMMIT");
    } catch (err) {
      db.exec("ROLLBACK");
      throw err;
    }
    self.postMessage({ id: msg.id, ok: true });
  } catch (err) {
    self.postMessage({ id: msg.id, ok: false, message: err instanceof Error ? err.message : String(err) });
  }
};
