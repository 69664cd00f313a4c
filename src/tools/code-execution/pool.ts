/**
 * The warm pool of sandbox workers. Empty at idle; the first session starts it, and from then on `spares`
 * pristine workers are kept loaded so a session does not pay the ~2 s interpreter start. A worker serves one
 * session and is then killed (module state must not cross requests), unless it never ran a snippet, in which
 * case it goes back as a spare. After `idleMs` without a session the spares are stopped. At most
 * `maxProcesses` workers exist at once; sessions beyond that wait in line for one to finish (each call of a session
 * bounds its own wait, see embedded.ts; the session keeps its place in line until it closes).
 */
import { logger } from "../../runtime/logger";
import { WorkerProcess, type WorkerSpawnOptions } from "./worker-process";

const log = logger("sandbox");

export interface PoolOptions {
  /** Builds the spawn options of a new worker (argv under the OS wrappers, timeouts, memory). */
  spawnOptions: () => WorkerSpawnOptions;
  spares: number;
  idleMs: number;
  maxProcesses: number;
}

export class SandboxPool {
  private readonly spares: WorkerProcess[] = [];
  private readonly live = new Set<WorkerProcess>();
  private readonly waiters: (() => void)[] = [];
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private started = 0;

  constructor(private readonly options: PoolOptions) {}

  /** Workers started since the pool was created (tests and metrics). */
  get startedCount(): number {
    return this.started;
  }

  /** Live workers: in sessions, spare or starting. */
  get size(): number {
    return this.live.size;
  }

  get spareCount(): number {
    return this.spares.length;
  }

  /** Process ids of the live workers (diagnostics and tests). */
  pids(): number[] {
    return [...this.live].map((w) => w.pid);
  }

  private spawn(): WorkerProcess {
    const worker = new WorkerProcess(this.options.spawnOptions());
    this.started++;
    this.live.add(worker);
    worker.ready.catch((err: unknown) => {
      if (!worker.killedOnPurpose)
        log.error("sandbox worker failed to start", { error: err instanceof Error ? err.message : String(err) });
    });
    void worker.exitedPromise.then(() => {
      this.live.delete(worker);
      const i = this.spares.indexOf(worker);
      if (i >= 0) this.spares.splice(i, 1);
      this.waiters.shift()?.();
      // A worker that never got ready is not replaced here (no restart loop on a broken install); the next
      // session spawns again.
      if (worker.started) this.topUp();
    });
    return worker;
  }

  private topUp(): void {
    if (this.stopped || this.idleTimer === null) return;
    while (this.spares.length < this.options.spares && this.live.size < this.options.maxProcesses)
      this.spares.push(this.spawn());
  }

  private touch(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.drainSpares(), this.options.idleMs);
    this.idleTimer.unref?.();
  }

  /** Stops the spares (the pool goes back to empty until the next session). */
  drainSpares(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    for (const worker of this.spares.splice(0)) worker.kill("idle");
  }

  /**
   * A worker for one session (pristine; maybe still loading: await `ready` or just `exec`). When all are in use it
   * waits in line; `signal` takes it out of the line (the promise then rejects with the signal's reason).
   */
  async acquire(signal?: AbortSignal): Promise<WorkerProcess> {
    if (this.stopped) throw new Error("the sandbox pool is shut down");
    signal?.throwIfAborted();
    this.touch();
    for (;;) {
      const spare = this.spares.shift();
      if (spare) {
        if (!spare.alive) continue;
        this.topUp();
        return spare;
      }
      if (this.live.size < this.options.maxProcesses) {
        const worker = this.spawn();
        this.topUp();
        return worker;
      }
      await this.waitTurn(signal);
      if (this.stopped) throw new Error("the sandbox pool is shut down");
    }
  }

  /** Resolves when a worker exits (or the pool stops); rejects when `signal` aborts first, leaving the line. */
  private waitTurn(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const leave = () => {
        const i = this.waiters.indexOf(wake);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal?.reason);
      };
      const wake = () => {
        signal?.removeEventListener("abort", leave);
        resolve();
      };
      this.waiters.push(wake);
      signal?.addEventListener("abort", leave, { once: true });
    });
  }

  /** Ends a session's use of a worker: a pristine one goes back as a spare, any other is killed. */
  release(worker: WorkerProcess): void {
    // One spare over the target is fine: it saves a start, and the idle drain stops it.
    if (
      !this.stopped &&
      worker.alive &&
      !worker.used &&
      this.idleTimer !== null &&
      this.spares.length <= this.options.spares
    ) {
      this.spares.push(worker);
      return;
    }
    worker.kill("session ended");
  }

  /** Kills every worker and refuses new sessions. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    this.drainSpares();
    const all = [...this.live];
    for (const worker of all) worker.kill("shutdown");
    for (const resolve of this.waiters.splice(0)) resolve();
    await Promise.all(all.map((w) => w.exitedPromise));
  }
}
