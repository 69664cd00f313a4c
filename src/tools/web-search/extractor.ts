/**
 * The parent's handle on the page-extraction child (extract-worker.ts): started on first use under the sandbox's
 * OS wrappers, fed one page at a time, stopped after `idleMs` without work and recycled after `maxPages` pages
 * (so its CPU rlimit, which counts over the process's life, never runs out mid-page). A page that takes longer
 * than `timeoutMs`, or a crash, kills the child: pending pages fail (their results fall back to the snippet)
 * and the next page starts a fresh one.
 */
import type { Subprocess } from "bun";
import {
  detectIsolation,
  probeCommand,
  workerCommand,
  workerLimits,
  wrapWorkerArgv,
} from "../code-execution/os-limits";
import type { ExtractReply } from "./extract-worker";

export interface ExtractorOptions {
  /** The child's argv; default: this binary's `sandbox-worker --extract` under the detected OS wrappers. */
  argv?: string[];
  timeoutMs: number;
  idleMs: number;
  maxPages: number;
}

interface Pending {
  resolve: (markdown: string) => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Memory the extraction child may use beside the runtime (a 5 MiB page's DOM takes a few hundred MiB). */
const EXTRACT_MEMORY_MB = 1024;

export class PageExtractor {
  private proc: Subprocess<"pipe", "pipe", "ignore"> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private served = 0;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private argv: string[] | null;

  constructor(private readonly options: ExtractorOptions) {
    this.argv = options.argv ?? null;
  }

  /** Whether a child is running (tests). */
  get running(): boolean {
    return this.proc !== null;
  }

  private start(): Subprocess<"pipe", "pipe", "ignore"> {
    this.argv ??= wrapWorkerArgv(detectIsolation(probeCommand()), workerLimits(EXTRACT_MEMORY_MB, 30), [
      ...workerCommand(),
      "--extract",
    ]);
    const proc = Bun.spawn(this.argv, {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "ignore",
      cwd: "/",
      env: { LANG: "C.UTF-8", NO_COLOR: "1", BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" },
    });
    this.proc = proc;
    this.served = 0;
    void this.read(proc);
    void proc.exited.then((code) => {
      if (this.proc === proc) this.proc = null;
      this.failAll(new Error(`the extraction process ended (${proc.signalCode ?? `code ${code}`})`));
    });
    return proc;
  }

  private async read(proc: Subprocess<"pipe", "pipe", "ignore">): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of proc.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        let reply: ExtractReply | null = null;
        try {
          reply = JSON.parse(buffered.slice(0, nl)) as ExtractReply;
        } catch {
          reply = null;
        }
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf("\n");
        const waiter = reply ? this.pending.get(reply.id) : undefined;
        if (!reply || !waiter) continue;
        this.pending.delete(reply.id);
        clearTimeout(waiter.timer);
        if ("markdown" in reply) waiter.resolve(reply.markdown);
        else waiter.reject(new Error(reply.error));
      }
      this.settle();
    }
  }

  private failAll(err: Error): void {
    for (const [id, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      this.pending.delete(id);
      waiter.reject(err);
    }
  }

  /** After a batch: recycle a worn child, or arm the idle stop. */
  private settle(): void {
    if (this.pending.size > 0) return;
    if (this.served >= this.options.maxPages) {
      this.stop();
      return;
    }
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stop(), this.options.idleMs);
    this.idleTimer.unref?.();
  }

  /** Converts one page; rejects on timeout or a crash of the child. */
  toMarkdown(html: string): Promise<string> {
    const proc = this.proc ?? this.start();
    const id = this.nextId++;
    this.served++;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        // The child is stuck on a page: kill it (the exit handler fails whatever else was queued on it).
        this.pending.delete(id);
        reject(new Error(`extraction timed out after ${this.options.timeoutMs} ms`));
        this.stop();
      }, this.options.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      try {
        proc.stdin.write(`${JSON.stringify({ id, html })}\n`);
        proc.stdin.flush();
      } catch {
        // The child is gone: its exit handler fails this page.
      }
    });
  }

  /** Stops the child (pending pages fail). */
  stop(): void {
    const proc = this.proc;
    this.proc = null;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (proc) proc.kill("SIGKILL");
  }
}
