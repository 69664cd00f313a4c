/**
 * The usage crash journal (SPEC §0 Storage): one JSON line per row, appended with write() before `enqueue`
 * returns, so a killed process loses nothing. The writer rotates the active file into a numbered segment now and
 * then, and deletes a segment once its rows are committed. Whatever segments (or active file) an
 * earlier process left behind are replayed on start. One journal path per process. The journal's identity (a
 * UUID kept in `.<name>.id` beside it) survives restarts, so the budget ledger can key its spend watermark on it.
 */
import { closeSync, existsSync, fdatasyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export interface Journal {
  /** Stable identity of this journal (created with the first journal at this path). */
  readonly id: string;
  /** Appends one line (no newline in `line`); fsyncs when configured. */
  append(line: string): void;
  /** Closes the active file and renames it to a new segment; returns the segment path (null when empty). */
  rotate(): string | null;
  /** Deletes a segment whose rows are durably in the database. */
  remove(segment: string | null): void;
  /** Segments left by an earlier process (not created by this instance). */
  leftovers(): string[];
  close(): void;
}

const SEGMENT = /\.(\d+)-(\d+)\.seg$/;

export function openJournal(path: string, fsync: boolean): Journal {
  mkdirSync(dirname(path), { recursive: true });
  const dir = dirname(path);
  const base = basename(path);
  const owned = new Set<string>();
  let fd: number | null = null;
  let seq = 0;
  let bytes = 0;

  const segmentName = () => join(dir, `${base}.${Date.now()}-${seq++}.seg`);

  // An active file left by a killed process becomes a segment at once, so this instance never appends to it and
  // replay() can pick it up whenever it is called.
  if (existsSync(path) && statSync(path).size > 0) renameSync(path, segmentName());

  // A hidden file beside the journal, not a segment: it stays when every segment is gone.
  const idFile = join(dir, `.${base}.id`);
  const stored = existsSync(idFile) ? readFileSync(idFile, "utf8").trim() : "";
  const id = stored || crypto.randomUUID();
  if (!stored) writeFileSync(idFile, id);

  return {
    id,
    append(line) {
      if (fd === null) fd = openSync(path, "a");
      bytes += writeSync(fd, `${line}\n`);
      if (fsync) fdatasyncSync(fd);
    },
    rotate() {
      if (fd === null || bytes === 0) return null;
      closeSync(fd);
      fd = null;
      bytes = 0;
      const segment = segmentName();
      renameSync(path, segment);
      owned.add(segment);
      return segment;
    },
    remove(segment) {
      if (!segment) return;
      owned.delete(segment);
      try {
        unlinkSync(segment);
      } catch {
        // Already gone (e.g. replayed by a restart racing this one): nothing left to protect.
      }
    },
    leftovers() {
      return readdirSync(dir)
        .filter((f) => f.startsWith(`${base}.`) && SEGMENT.test(f.slice(base.length)))
        .map((f) => join(dir, f))
        .filter((f) => !owned.has(f))
        .sort((a, b) => segmentOrder(a) - segmentOrder(b));
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
      // An empty active file carries nothing worth replaying.
      if (bytes === 0 && existsSync(path) && statSync(path).size === 0) unlinkSync(path);
    },
  };
}

function segmentOrder(path: string): number {
  const m = SEGMENT.exec(path);
  return m ? Number(m[1]) * 1e6 + Number(m[2]) : 0;
}

/** A journal file's lines that are whole JSON; a torn last line (killed mid-write) is skipped and counted. */
export function readJournalLines(path: string): { lines: string[]; corrupt: number } {
  const lines: string[] = [];
  let corrupt = 0;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      JSON.parse(line);
      lines.push(line);
    } catch {
      corrupt++;
    }
  }
  return { lines, corrupt };
}
