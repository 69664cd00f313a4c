/**
 * The parent's handle on one sandbox worker child: spawn (under the OS wrappers), wait for `ready`, run snippets
 * one at a time with a wall-clock timeout, watch its RSS, kill it. A worker that times out, crashes or exceeds its
 * memory is killed and reported as such; it is never reused.
 */
import { readFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { logger } from "../../runtime/logger";
import { parseWorkerMessage, type WorkerMessage } from "./protocol";

const log = logger("sandbox");

export type ExecOutcome =
  | { kind: "result"; stdout: string; stderr: string; returnCode: number }
  | { kind: "timeout"; seconds: number }
  | { kind: "died"; reason: string };

export interface WorkerSpawnOptions {
  argv: string[];
  /** Wall-clock seconds a snippet may run. */
  timeoutS: number;
  /** The worker is killed when its resident memory passes this many bytes while a snippet runs. */
  rssLimitBytes: number;
  /** How long the interpreter may take to load. */
  startTimeoutMs: number;
}

const RSS_POLL_MS = 200;
const STDERR_KEEP = 4096;
/** Longest reply line the parent buffers (characters): far above two JSON-escaped 64 KiB outputs. */
const MAX_REPLY_CHARS = 8 * 1024 * 1024;

function readRssBytes(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export class WorkerProcess {
  readonly ready: Promise<void>;
  private readonly proc: Subprocess<"pipe", "pipe", "pipe">;
  private nextId = 1;
  private waiting: ((msg: WorkerMessage | null) => void) | null = null;
  private exited = false;
  private deathReason: string | null = null;
  private stderrTail = "";
  /** True once a snippet ran: its state is no longer pristine. */
  used = false;
  /** True once the interpreter reported ready. */
  started = false;
  /** True when the parent killed it (recycled, idle, shutdown), as opposed to a crash or a failed start. */
  killedOnPurpose = false;

  constructor(private readonly options: WorkerSpawnOptions) {
    this.proc = Bun.spawn(options.argv, {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      cwd: "/",
      // Nothing of the gateway's environment (keys, database URL) reaches the worker.
      env: { LANG: "C.UTF-8", NO_COLOR: "1", BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" },
    });
    void this.proc.exited.then((code) => {
      this.exited = true;
      const signal = this.proc.signalCode;
      this.deathReason ??= signal
        ? `the sandbox process was killed (${signal})`
        : `the sandbox process exited with code ${code}`;
      this.deliver(null);
    });
    void this.pumpStdout();
    void this.pumpStderr();
    this.ready = this.waitReady();
  }

  get pid(): number {
    return this.proc.pid;
  }

  get alive(): boolean {
    return !this.exited && this.deathReason === null;
  }

  private deliver(msg: WorkerMessage | null): void {
    const waiter = this.waiting;
    this.waiting = null;
    waiter?.(msg);
  }

  private next(timeoutMs: number): Promise<WorkerMessage | null | "timeout"> {
    if (!this.alive) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        resolve("timeout");
      }, timeoutMs);
      this.waiting = (msg) => {
        clearTimeout(timer);
        resolve(msg);
      };
    });
  }

  private async pumpStdout(): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of this.proc.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      // A reply holds two output-capped streams; a line far beyond that is a worker gone rogue, not a reply.
      if (buffered.length > MAX_REPLY_CHARS) {
        this.kill("sent an oversized reply");
        return;
      }
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        const msg = parseWorkerMessage(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf("\n");
        if (msg) this.deliver(msg);
      }
    }
  }

  private async pumpStderr(): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of this.proc.stderr) {
      this.stderrTail = (this.stderrTail + decoder.decode(chunk, { stream: true })).slice(-STDERR_KEEP);
    }
  }

  private async waitReady(): Promise<void> {
    const msg = await this.next(this.options.startTimeoutMs);
    if (msg !== null && msg !== "timeout" && msg.type === "ready") {
      log.debug("sandbox worker ready", { pid: this.pid, load_ms: msg.loadMs });
      this.started = true;
      return;
    }
    const onPurpose = this.killedOnPurpose;
    const why =
      msg === "timeout"
        ? `the sandbox worker did not start within ${this.options.startTimeoutMs} ms`
        : msg?.type === "fatal"
          ? msg.message
          : (this.deathReason ?? "the sandbox worker exited during start-up");
    this.kill(why);
    this.killedOnPurpose = onPurpose;
    const tail = onPurpose ? "" : this.stderrTail.trim().split("\n").slice(-3).join(" | ");
    throw new Error(`${why}${tail ? ` (${tail})` : ""}`);
  }

  /** Runs one snippet. Never throws: a timeout or a dead worker is an outcome (and the worker is then dead). */
  async exec(code: string): Promise<ExecOutcome> {
    await this.ready;
    if (!this.alive) return { kind: "died", reason: this.deathReason ?? "the sandbox process is gone" };
    this.used = true;
    const id = this.nextId++;
    const watchdog = setInterval(() => {
      const rss = readRssBytes(this.pid);
      if (rss !== null && rss > this.options.rssLimitBytes) {
        this.kill(
          `memory limit exceeded (resident memory over ${Math.round(this.options.rssLimitBytes / 1048576)} MiB)`,
        );
      }
    }, RSS_POLL_MS);
    try {
      const reply = this.next(this.options.timeoutS * 1000);
      try {
        this.proc.stdin.write(`${JSON.stringify({ id, code })}\n`);
        this.proc.stdin.flush();
      } catch {
        // It died between the alive check and the write: the exit handler settles `reply`.
      }
      const msg = await reply;
      if (msg === "timeout") {
        this.kill(`timed out after ${this.options.timeoutS} s`);
        return { kind: "timeout", seconds: this.options.timeoutS };
      }
      if (msg?.type === "result" && msg.id === id) {
        if (msg.final) this.kill("the interpreter ended");
        return { kind: "result", stdout: msg.stdout, stderr: msg.stderr, returnCode: msg.returnCode };
      }
      this.kill(this.deathReason ?? "sent an unexpected reply");
      return { kind: "died", reason: this.deathReason ?? "the sandbox process is gone" };
    } finally {
      clearInterval(watchdog);
    }
  }

  /** Kills the worker (SIGKILL); idempotent. */
  kill(reason = "recycled"): void {
    if (this.deathReason === null && !this.exited) this.killedOnPurpose = true;
    this.deathReason ??= reason;
    if (!this.exited) this.proc.kill("SIGKILL");
    this.deliver(null);
  }

  /** Resolves when the process is gone. */
  get exitedPromise(): Promise<number> {
    return this.proc.exited;
  }
}
