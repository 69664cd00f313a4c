/**
 * The embedded sandbox (SPEC §9.4a): Python (Pyodide) in a child process of the gateway, started from the gateway's
 * own binary as the hidden `sandbox-worker` subcommand, hardened inside (worker.ts) and walled outside
 * (os-limits.ts). One worker per request session: its variables persist across the session's calls, and the
 * process is recycled when the session closes. Results render exactly as the remote sandbox's (§9.4).
 */
import type { ToolBackend, ToolSession } from "../types";
import { detectIsolation, probeCommand, type SandboxIsolation, workerCommand, workerLimits, wrapWorkerArgv } from "./os-limits";
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

class EmbeddedSandboxSession implements ToolSession {
  private worker: Promise<WorkerProcess> | null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly pool: SandboxPool,
    private readonly timeoutS: number,
  ) {
    this.worker = this.take();
  }

  private take(): Promise<WorkerProcess> {
    const worker = this.pool.acquire();
    worker.catch(() => {});
    return worker;
  }

  run(args: unknown): Promise<string> {
    // One call at a time per session: the worker runs one snippet at a time.
    const result = this.queue.then(() => this.runOne(args));
    this.queue = result.catch(() => {});
    return result;
  }

  private async runOne(args: unknown): Promise<string> {
    const code = codeArgument(args);
    if (code === null) return toolError("missing 'code': pass the Python source as a string");
    if (this.closed) return toolError("the sandbox session is closed");
    let worker: WorkerProcess;
    try {
      this.worker ??= this.take();
      worker = await this.worker;
      await worker.ready;
    } catch (err) {
      this.drop();
      return toolError(`the sandbox could not start: ${err instanceof Error ? err.message : String(err)}`);
    }
    const outcome = await worker.exec(code);
    if (outcome.kind === "result") {
      if (!worker.alive) this.drop();
      return renderSandboxResult({ stdout: outcome.stdout, stderr: outcome.stderr, returnCode: outcome.returnCode, files: [] });
    }
    this.drop();
    const why = outcome.kind === "timeout" ? `execution timed out after ${this.timeoutS} s` : outcome.reason;
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
    // Not waiting for a running call: a worker that ran code is killed at once (ends a stuck call too).
    const worker = this.worker;
    this.worker = null;
    if (!worker) return;
    try {
      this.pool.release(await worker);
    } catch {
      // It never started: nothing to release.
    }
  }
}

export class EmbeddedSandbox implements ToolBackend {
  readonly name = "code_execution" as const;
  private pool: SandboxPool | null = null;

  constructor(private readonly options: EmbeddedSandboxOptions) {}

  /** The pool, created on first use (nothing runs at start-up). */
  get workers(): SandboxPool {
    if (this.pool) return this.pool;
    const { timeoutS, memoryMb } = this.options;
    const command = this.options.command ?? [
      ...workerCommand(),
      "--memory-mb",
      String(memoryMb),
      "--output-cap",
      String(this.options.outputCapBytes ?? DEFAULT_OUTPUT_CAP_BYTES),
    ];
    const isolation = this.options.isolation ?? detectIsolation(probeCommand());
    const argv = wrapWorkerArgv(isolation, workerLimits(memoryMb, timeoutS), command);
    this.pool = new SandboxPool({
      spawnOptions: () => ({
        argv,
        timeoutS,
        rssLimitBytes: (memoryMb + RUNTIME_RSS_MB) * 1024 * 1024,
        startTimeoutMs: this.options.startTimeoutMs ?? 30_000,
      }),
      spares: this.options.spares ?? 1,
      idleMs: this.options.idleMs ?? 5 * 60_000,
      maxProcesses: this.options.maxProcesses ?? 8,
    });
    return this.pool;
  }

  async openSession(): Promise<ToolSession> {
    return new EmbeddedSandboxSession(this.workers, this.options.timeoutS);
  }

  async shutdown(): Promise<void> {
    await this.pool?.shutdown();
  }
}
