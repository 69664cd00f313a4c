/**
 * The runtime's engine and threads. JavaScriptCore at start-up and after: the compiled binary starts with the JIT's
 * tier-up thresholds scaled up (scripts/_compile.ts STARTUP_JIT_POLICY): start-up, health checks and the management
 * API run a handful of times, and compiling them would only leave the compilers' code and output resident (~3 MB of
 * an idle gateway).
 * From source (bun run, tests) the policy is already the normal one.
 */
import { setPriority } from "node:os";

let engaged = false;

/** Restores the normal JIT policy, once the traffic the JIT pays for arrives; later calls do nothing. */
export function engageJit(): void {
  if (engaged) return;
  engaged = true;
  Bun.unsafe.setJITPolicy(1);
}

/**
 * A moment after the server listens (after the first health check, not in its way): a full collection, then
 * Bun.shrink() drops the compiled code of what ran once at start-up (migrations, seeding, wiring) and returns freed
 * memory to the OS (~2.5 MB). Code that runs again is rebuilt from the embedded bytecode on its next call. The
 * collection comes first because shrink skips deleting code while a collection is under way.
 */
export function releaseStartupMemory(): void {
  setTimeout(() => {
    Bun.gc(true);
    Bun.shrink();
  }, 100).unref();
}

/**
 * Lowers the calling thread's scheduling priority (nice `niceness`), for background threads that must yield the
 * CPU to the ones serving requests. Linux only: there setpriority(2) with pid 0 applies to the calling thread,
 * elsewhere it would lower the whole process.
 */
export function lowerThreadPriority(niceness: number): void {
  if (process.platform !== "linux") return;
  try {
    setPriority(0, niceness);
  } catch {
    // Not permitted here (container policy): the thread keeps its priority.
  }
}
