/**
 * The embedded sandbox (docs/behaviour/tools.md#embedded-sandbox): Python (Pyodide) in a child process of the gateway,
 * started from the gateway's own binary as the hidden `sandbox-worker` subcommand, hardened inside and confined by its
 * own seccomp filter (worker.ts, syscall-filter.ts) and walled outside (os-limits.ts). One worker per request session:
 * its variables persist across the session's calls, and the process is recycled when the session closes. Results render
 * exactly as the remote sandbox's (docs/behaviour/tools.md#remote-sandbox-protocol).
 */
import { logger } from "../../runtime/logger";
import type { ToolBackend, ToolSession } from "../types";
import {
  detectIsolation,
  probeCommand,
  type SandboxIsolation,
  workerCommand,
  workerLimits,
  wrapWorkerArgv,
} from "./os-limits";
import { SandboxPool } from "./pool";
import { DEFAULT_OUTPUT_CAP_BYTES } from "./protocol";
import { codeArgument, renderSandboxResult, toolError } from "./render";
import type { WorkerProcess } from "./worker-process";

export interface EmbeddedSandboxOptions {
  /** GATEWAY_SANDBOX_TIMEOUT_S: wall-clock seconds per call (default 30). */
  timeoutS: number;
  /** GATEWAY_SANDBOX_MEMORY_MB: the interpreter's heap cap (default 256). */
  memoryMb: number;
  /** Warm spare workers kept while the pool is in use (default 1). */
  spares?: number;
  /** The spares are stopped after this long without a session (default 5 min). */
  idleMs?: number;
  /** Most workers alive at once; more sessions wait (default 8). */
  maxProcesses?: number;
  /**
   * GATEWAY_SANDBOX_QUEUE_TIMEOUT_S: how long one call waits for a worker when all `maxProcesses` are in use,
   * seconds (default: `timeoutS`); past it the call answers a `[tool error]` and the session keeps its place in line.
   */
  queueTimeoutS?: number;
  /**
   * GATEWAY_SANDBOX_REQUIRE_CONFINEMENT (default true): refuse to run code where a worker cannot confine itself
   * with seccomp (no host file, process or socket for sandboxed code). False runs it with the other walls only.
   */
  requireConfinement?: boolean;
  /** How long a worker may take to load (default 30 s). */
  startTimeoutMs?: number;
  /** Bytes of stdout and of stderr kept per call (default 64 KiB). */
  outputCapBytes?: number;
  /** The OS wrappers; default: detected on this host (once). */
  isolation?: SandboxIsolation;
  /** The worker command before the OS wrappers; default: this binary's `sandbox-worker` (tests use a stand-in). */
  command?: string[];
}

/** Resident memory the runtime itself needs beside the interpreter's heap, for the RSS watchdog. */
const RUNTIME_RSS_MB = 512;

const log = logger("sandbox");

/** A call waited its whole queue timeout for a worker. */
class SandboxBusy extends Error {}

interface SessionSettings {
  timeoutS: number;
  queueTimeoutS: number;
  maxProcesses: number;
  /** Why code cannot run at all on this host (confinement required but unavailable), or null. */
  refusal: string | null;
}

class EmbeddedSandboxSession implements ToolSession {
  private worker: Promise<WorkerProcess> | null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Takes a still-waiting acquire out of the pool's line when the session closes. */
  private readonly leave = new AbortController();

  constructor(
    private readonly pool: SandboxPool,
    private readonly settings: SessionSettings,
  ) {
    this.worker = this.take();
  }

  private take(): Promise<WorkerProcess> {
    const worker = this.settings.refusal
      ? Promise.reject(new Error(this.settings.refusal))
      : this.pool.acquire(this.leave.signal);
    worker.catch(() => {});
    return worker;
  }

  run(args: unknown): Promise<string> {
    // One call at a time per session: the worker runs one snippet at a time.
    const result = this.queue.then(() => this.runOne(args));
    this.queue = result.catch(() => {});
    return result;
  }

  /** The session's worker, waiting at most the queue timeout for one to come free. */
  private async acquired(pending: Promise<WorkerProcess>): Promise<WorkerProcess> {
    const { queueTimeoutS } = this.settings;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SandboxBusy()), queueTimeoutS * 1000);
    });
    try {
      return await Promise.race([pending, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async runOne(args: unknown): Promise<string> {
    const code = codeArgument(args);
    if (code === null) return toolError("missing 'code': pass the Python source as a string");
    if (this.closed) return toolError("the sandbox session is closed");
    let worker: WorkerProcess;
    try {
      this.worker ??= this.take();
      worker = await this.acquired(this.worker);
      await worker.ready;
    } catch (err) {
      if (err instanceof SandboxBusy) {
        // The acquire stays in line: the session's next call may find its worker ready.
        const { queueTimeoutS, maxProcesses } = this.settings;
        log.warn("sandbox call waited for a worker in vain", {
          queue_timeout_s: queueTimeoutS,
          max_processes: maxProcesses,
        });
        return toolError(
          `the sandbox is busy: no sandbox worker came free within ${queueTimeoutS} s (${maxProcesses} run at once at most); try again later`,
        );
      }
      this.drop();
      return toolError(`the sandbox could not start: ${err instanceof Error ? err.message : String(err)}`);
    }
    const outcome = await worker.exec(code);
    if (outcome.kind === "result") {
      if (!worker.alive) this.drop();
      return renderSandboxResult({
        stdout: outcome.stdout,
        stderr: outcome.stderr,
        returnCode: outcome.returnCode,
        files: [],
      });
    }
    this.drop();
    const why = outcome.kind === "timeout" ? `execution timed out after ${this.settings.timeoutS} s` : outcome.reason;
    return toolError(`${why}; the sandbox was restarted, so variables and imports from earlier calls are gone`);
  }

  /** Forgets the current worker (dead or dying); the next call gets a fresh one. */
  private drop(): void {
    const worker = this.worker;
    this.worker = null;
    worker?.then((w) => this.pool.release(w)).catch(() => {});
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.leave.abort(new Error("the sandbox session is closed"));
    // Not waiting for a running call: a worker that ran code is killed at once (ends a stuck call too).
    const worker = this.worker;
    this.worker = null;
    if (!worker) return;
    try {
      this.pool.release(await worker);
    } catch {
      // It never started, or it was still waiting in line: nothing to release.
    }
  }
}

export class EmbeddedSandbox implements ToolBackend {
  readonly name = "code_execution" as const;
  private state: { pool: SandboxPool; session: SessionSettings } | null = null;

  constructor(private readonly options: EmbeddedSandboxOptions) {}

  /** The pool (diagnostics and tests). */
  get workers(): SandboxPool {
    return this.setUp().pool;
  }

  /** The pool and the sessions' settings, made on first use (nothing runs at start-up). */
  private setUp(): { pool: SandboxPool; session: SessionSettings } {
    if (this.state) return this.state;
    const { timeoutS, memoryMb } = this.options;
    const requireConfinement = this.options.requireConfinement ?? true;
    const command = this.options.command ?? [
      ...workerCommand(),
      "--memory-mb",
      String(memoryMb),
      "--output-cap",
      String(this.options.outputCapBytes ?? DEFAULT_OUTPUT_CAP_BYTES),
      ...(requireConfinement ? [] : ["--allow-unconfined"]),
    ];
    const isolation = this.options.isolation ?? detectIsolation(probeCommand());
    const maxProcesses = this.options.maxProcesses ?? 8;
    let refusal: string | null = null;
    if (!isolation.confinement.available) {
      const why = `its sandbox workers cannot confine themselves with seccomp here (${isolation.confinement.reason})`;
      if (requireConfinement) {
        refusal = `code execution is off on this gateway: ${why}. The operator can set GATEWAY_SANDBOX_REQUIRE_CONFINEMENT=false to run code with the other walls only, or GATEWAY_SANDBOX_URL`;
        log.error(`embedded sandbox refuses to run code: ${refusal}`);
      } else {
        log.warn(`embedded sandbox runs code unconfined (GATEWAY_SANDBOX_REQUIRE_CONFINEMENT=false): ${why}`);
      }
    }
    const argv = wrapWorkerArgv(isolation, workerLimits(memoryMb, timeoutS), command);
    const pool = new SandboxPool({
      spawnOptions: () => ({
        argv,
        timeoutS,
        rssLimitBytes: (memoryMb + RUNTIME_RSS_MB) * 1024 * 1024,
        startTimeoutMs: this.options.startTimeoutMs ?? 30_000,
      }),
      spares: this.options.spares ?? 1,
      idleMs: this.options.idleMs ?? 5 * 60_000,
      maxProcesses,
    });
    this.state = {
      pool,
      session: { timeoutS, queueTimeoutS: this.options.queueTimeoutS ?? timeoutS, maxProcesses, refusal },
    };
    return this.state;
  }

  async openSession(): Promise<ToolSession> {
    const { pool, session } = this.setUp();
    return new EmbeddedSandboxSession(pool, session);
  }

  async shutdown(): Promise<void> {
    await this.state?.pool.shutdown();
  }
}
