/**
 * The usage crash journal (docs/behaviour/storage.md#usage-writer-and-journal): one JSON line per row, appended with
 * write() before `enqueue` returns, so a killed process loses nothing. The writer rotates the active file into a
 * numbered segment now and then, and deletes a segment once its rows are committed. Whatever segments (or active file)
 * an earlier process left behind are replayed on start. One journal path per process. The journal's identity (a UUID
 * kept in `.<name>.id` beside it) survives restarts, so the budget ledger can key its spend watermark on it.
 */
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { canMapFiles, mapFileShared } from "../../runtime/host";

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

/** The file lines are appended to until it is rotated. */
interface ActiveFile {
  append(line: string): void;
  /** Bytes appended so far. */
  readonly bytes: number;
  /** Leaves the file holding exactly the appended lines. */
  close(): void;
}

/** Appends with write() (and fdatasync when asked): one system call per line. */
function writtenFile(path: string, fsync: boolean): ActiveFile {
  const fd = openSync(path, "a");
  let bytes = 0;
  return {
    append(line) {
      bytes += writeSync(fd, `${line}\n`);
      if (fsync) fdatasyncSync(fd);
    },
    get bytes() {
      return bytes;
    },
    close: () => closeSync(fd),
  };
}

const MAPPED_START_BYTES = 4 << 20;

/**
 * Appends into a shared memory mapping of the file: a copy instead of a system call per line. A killed process
 * loses nothing the kernel has in its page cache, exactly as with write() (power loss needs fsync: that mode writes).
 * The file is sized ahead and doubled when full; until close() it ends in zero bytes, which readers skip.
 */
function mappedFile(path: string): ActiveFile {
  let size = MAPPED_START_BYTES;
  let used = 0;
  const resize = (to: number) => {
    const fd = openSync(path, existsSync(path) ? "r+" : "w+");
    ftruncateSync(fd, to);
    closeSync(fd);
  };
  resize(size);
  // A Buffer over the mapping: its write() encodes in place, without a view or a result object per line.
  let map = mapFileShared(path);
  return {
    append(line) {
      // A UTF-8 line is at most 3 bytes per UTF-16 unit, plus the newline.
      const worst = line.length * 3 + 1;
      if (used + worst > size) {
        while (used + worst > size) size *= 2;
        resize(size);
        map = mapFileShared(path);
      }
      used += map.write(line, used);
      map[used++] = 10;
    },
    get bytes() {
      return used;
    },
    close() {
      map = Buffer.alloc(0);
      resize(used);
    },
  };
}

/** Whether lines go into a shared mapping (no fsync asked, and this Bun can map files). */
const canMap = (fsync: boolean) => !fsync && canMapFiles();

export function openJournal(path: string, fsync: boolean): Journal {
  mkdirSync(dirname(path), { recursive: true });
  const dir = dirname(path);
  const base = basename(path);
  const owned = new Set<string>();
  const mapped = canMap(fsync);
  let active: ActiveFile | null = null;
  let seq = 0;

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
      active ??= mapped ? mappedFile(path) : writtenFile(path, fsync);
      active.append(line);
    },
    rotate() {
      if (active === null || active.bytes === 0) return null;
      active.close();
      active = null;
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
      active?.close();
      active = null;
      // An empty active file carries nothing worth replaying.
      if (existsSync(path) && statSync(path).size === 0) unlinkSync(path);
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
    // A mapped file a killed process left still ends in the zero bytes it was sized with.
    if (!line.trim() || line.charCodeAt(0) === 0) continue;
    try {
      JSON.parse(line);
      lines.push(line);
    } catch {
      corrupt++;
    }
  }
  return { lines, corrupt };
}
