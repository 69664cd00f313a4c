/**
 * Keeps a flood of client connections from using up the process's file descriptors (after which nothing, not even
 * /health, is accepted). Bun.serve neither counts connections nor can refuse one at accept time, so the guard
 * counts the process's open file descriptors (Linux: /proc/self/fd; client connections are most of them under a
 * flood) once a second, on the event loop. At the cap it closes every idle keep-alive connection at once; while the
 * count stays at the cap, the server refuses new requests (503, connection closed).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { logger } from "./logger";

const log = logger("server");

const FD_DIR = "/proc/self/fd";
/** The share of the open-file limit the automatic cap allows; the rest is for upstreams, the database and files. */
const AUTO_SHARE = 0.9;

export interface ConnectionGuard {
  /** True while new requests are to be refused. */
  busy(): boolean;
  stop(): void;
}

/**
 * Open file descriptors; Infinity when none is left to list them with; null when they cannot be counted. Linux 6.2+
 * gives the count as the directory's size (µs); listing it instead takes milliseconds with thousands of connections
 * open (0.6 ms at 2,000, 5 ms at 6,000), a stall of every stream's next chunk each second. Older kernels say 0.
 */
export function openDescriptors(): number | null {
  try {
    const size = statSync(FD_DIR).size;
    return size > 0 ? size : readdirSync(FD_DIR).length;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return code === "EMFILE" || code === "ENFILE" ? Number.POSITIVE_INFINITY : null;
  }
}

/** The soft open-file limit (RLIMIT_NOFILE; Bun raises it to the hard limit at start), or null when unknown. */
function openFileLimit(): number | null {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = Number(line?.split(/\s{2,}/)[1]);
    return Number.isFinite(soft) && soft > 0 ? soft : null;
  } catch {
    return null;
  }
}

export interface ConnectionGuardOptions {
  /** Configured cap; null = AUTO_SHARE of the open-file limit. */
  max: number | null;
  /** Closes idle keep-alive connections; returns how many. */
  closeIdle: () => number;
}

const SAMPLE_MS = 1000;

export function startConnectionGuard(o: ConnectionGuardOptions): ConnectionGuard {
  const limit = openFileLimit();
  const max = openDescriptors() === null ? null : (o.max ?? (limit === null ? null : Math.floor(limit * AUTO_SHARE)));
  let busy = false;
  if (max === null) {
    log.warn("Connection cap unavailable: open file descriptors cannot be counted on this platform");
    return { busy: () => false, stop: () => undefined };
  }
  const sample = () => {
    let open = openDescriptors() ?? 0;
    let closed = 0;
    if (open >= max) {
      closed = o.closeIdle();
      open = openDescriptors() ?? 0;
    }
    const shown = Number.isFinite(open) ? open : "all";
    const over = open >= max;
    if (over !== busy) {
      busy = over;
      if (over)
        log.warn("Connection cap reached: refusing new requests", {
          open_descriptors: shown,
          max,
          idle_closed: closed,
        });
      else log.info("Back under the connection cap", { open_descriptors: shown, max });
    } else if (closed > 0)
      log.warn("Connection cap reached: closed idle connections", {
        idle_closed: closed,
        open_descriptors: shown,
        max,
      });
  };
  const timer = setInterval(sample, SAMPLE_MS);
  timer.unref();
  return { busy: () => busy, stop: () => clearInterval(timer) };
}
