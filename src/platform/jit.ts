/**
 * The compiled binary starts with JavaScriptCore's JIT tier-up thresholds scaled up (scripts/_compile.ts
 * STARTUP_JIT_POLICY): start-up, health checks and the management API run a handful of times, and compiling them
 * would only leave the compilers' code and output resident (~4 MB of an idle gateway). `engageJit` restores the
 * normal policy once the traffic the JIT pays for arrives; from source (bun run, tests) the policy is already 1.
 */
let engaged = false;

/** Restores the normal JIT policy; later calls do nothing. */
export function engageJit(): void {
  if (engaged) return;
  engaged = true;
  Bun.unsafe.setJITPolicy(1);
}
