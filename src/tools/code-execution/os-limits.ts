/**
 * The OS wall around the sandbox worker process: resource limits, no network namespace and fewer privileges,
 * each detected once on this host and dropped gracefully (with one log line) where the host cannot do it.
 *
 *  - limits: `prlimit` (util-linux) when present, else `ulimit` in `sh -c`; CPU seconds, address space, open
 *    files, core dumps off, no file writes (RLIMIT_FSIZE 0).
 *  - network: `unshare -n` (root) or `unshare -r -n` (an unprivileged user namespace) gives the worker a network
 *    namespace with only a downed loopback, so nothing it could reach by escaping the wasm reaches a host port.
 *  - privileges: `setpriv --no-new-privs`, and when the gateway runs as root, the worker drops to nobody (65534).
 *  - confinement: whether a worker can install its seccomp filter here (worker.ts; probed by running the worker
 *    with `--probe-confinement` under the same user). What follows when it cannot is the embedded sandbox's
 *    decision, and its log line (embedded.ts).
 *
 * The wrappers exec in turn, so the spawned pid is the worker's own pid (kill and /proc/<pid> reach the worker).
 * Address space is not a tight memory cap for a Bun process: the runtime reserves about 2.5 GB of virtual memory
 * even under a limit (measured here: with RLIMIT_AS below ~2.5 GB Bun fails or hangs at start), so the cap applied
 * is RUNTIME_RESERVE_MB + memoryMb; the tight caps are the wasm heap cap inside the worker (a Python MemoryError)
 * and the parent's RSS watchdog (see worker-process.ts).
 */
import { logger } from "../../runtime/logger";

const log = logger("sandbox");

export type LimitMechanism = "prlimit" | "ulimit" | "none";
export type NetnsMechanism = "unshare" | "unshare-userns" | "none";

export interface SandboxIsolation {
  limits: LimitMechanism;
  netns: NetnsMechanism;
  /** Absolute paths of the wrapper programs found (argv[0] of each prefix). */
  bin: { prlimit: string; sh: string; unshare: string };
  /** `setpriv` prefix (no-new-privs, and uid/gid 65534 when running as root), or null when unavailable. */
  setpriv: string[] | null;
  /** Whether a worker can confine itself with seccomp on this host, and if not, why. */
  confinement: { available: true } | { available: false; reason: string };
}

export interface WorkerLimits {
  /** RLIMIT_AS, bytes. */
  addressSpaceBytes: number;
  /** RLIMIT_CPU, seconds (a backstop over the whole session; the wall-clock timeout is per call). */
  cpuSeconds: number;
  /** RLIMIT_NOFILE. */
  openFiles: number;
}

/** Virtual address space Bun/JSC reserves at start even under RLIMIT_AS (measured: about 2.5 GB). */
export const RUNTIME_RESERVE_MB = 3072;
const NOBODY = 65534;

/** The limits for a worker: address space = reserve + memory cap; CPU = 10 calls' worth of the timeout + 30 s. */
export function workerLimits(memoryMb: number, timeoutS: number): WorkerLimits {
  return {
    addressSpaceBytes: (RUNTIME_RESERVE_MB + memoryMb) * 1024 * 1024,
    cpuSeconds: Math.ceil(timeoutS * 10 + 30),
    openFiles: 64,
  };
}

function runs(argv: string[]): boolean {
  try {
    const res = Bun.spawnSync(argv, { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    return res.exitCode === 0;
  } catch {
    return false;
  }
}

/** Runs the worker's confinement probe under the worker's user. */
function probeConfinement(setpriv: string[] | null): SandboxIsolation["confinement"] {
  try {
    const res = Bun.spawnSync([...(setpriv ?? []), ...workerCommand(), "--probe-confinement"], {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
      cwd: "/",
      env: {},
    });
    if (res.exitCode === 0) return { available: true };
    const said = res.stderr.toString().trim().split("\n").at(-1) ?? "";
    return { available: false, reason: said || `the probe exited with code ${res.exitCode}` };
  } catch (e) {
    return { available: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

/** The argv prefix that applies `limits` with the given mechanism, then execs what follows. */
export function limitPrefix(mechanism: LimitMechanism, limits: WorkerLimits, bin: SandboxIsolation["bin"]): string[] {
  if (mechanism === "prlimit") {
    return [
      bin.prlimit,
      `--as=${limits.addressSpaceBytes}`,
      `--cpu=${limits.cpuSeconds}`,
      `--nofile=${limits.openFiles}`,
      "--core=0",
      "--fsize=0",
      "--",
    ];
  }
  if (mechanism === "ulimit") {
    // POSIX sh: -v in KiB, -t seconds, -n files, -c/-f in blocks. Sets soft and hard limits alike (-S and -H unset).
    const script = `ulimit -v ${Math.floor(limits.addressSpaceBytes / 1024)} && ulimit -t ${limits.cpuSeconds} && ulimit -n ${limits.openFiles} && ulimit -c 0 && ulimit -f 0 && exec "$@"`;
    return [bin.sh, "-c", script, "sandbox-limits"];
  }
  return [];
}

function netnsPrefix(mechanism: NetnsMechanism, unshare: string): string[] {
  if (mechanism === "unshare") return [unshare, "-n", "--"];
  if (mechanism === "unshare-userns") return [unshare, "-r", "-n", "--"];
  return [];
}

let detected: SandboxIsolation | null = null;

/** A program on PATH, else in the usual system directories (the gateway may run with an empty environment). */
function which(name: string): string | null {
  return Bun.which(name) ?? Bun.which(name, { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" });
}

/** Detects (once per process) what this host offers, and logs it once. `probe` is the worker command to try under setpriv. */
export function detectIsolation(probe: string[]): SandboxIsolation {
  if (detected) return detected;
  const bin = { prlimit: which("prlimit") ?? "", sh: which("sh") ?? "/bin/sh", unshare: which("unshare") ?? "" };
  const truth = which("true") ?? "/bin/true";
  const limits: LimitMechanism =
    bin.prlimit && runs([bin.prlimit, "--nofile=64", "--", truth])
      ? "prlimit"
      : runs([bin.sh, "-c", "ulimit -n 64 && ulimit -v 4194304 && ulimit -t 60"])
        ? "ulimit"
        : "none";
  const netns: NetnsMechanism = !bin.unshare
    ? "none"
    : runs([bin.unshare, "-n", "--", truth])
      ? "unshare"
      : runs([bin.unshare, "-r", "-n", "--", truth])
        ? "unshare-userns"
        : "none";
  let setpriv: string[] | null = null;
  const setprivBin = which("setpriv");
  if (setprivBin) {
    const root = typeof process.getuid === "function" && process.getuid() === 0;
    const candidates = root
      ? [[setprivBin, `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--no-new-privs", "--"]]
      : [];
    candidates.push([setprivBin, "--no-new-privs", "--"]);
    setpriv = candidates.find((prefix) => runs([...prefix, ...probe])) ?? null;
  }
  const confinement = probeConfinement(setpriv);
  detected = { limits, netns, setpriv, bin, confinement };
  const warnings: string[] = [];
  if (limits === "none") warnings.push("no prlimit or ulimit: the worker runs without CPU/memory/file rlimits");
  if (netns === "none")
    warnings.push(
      "unshare -n is not permitted here: the worker shares the host network namespace (its in-process hardening still blocks sockets)",
    );
  if (!setpriv) warnings.push("setpriv unavailable: the worker keeps the gateway's user");
  const summary = {
    limits,
    netns,
    user: setpriv?.some((a) => a.startsWith("--reuid")) ? "nobody" : "inherited",
    confinement: confinement.available ? "seccomp" : "none",
  };
  if (warnings.length > 0) log.warn(`embedded sandbox isolation reduced: ${warnings.join("; ")}`, summary);
  else log.info("embedded sandbox isolation", summary);
  return detected;
}

/** The full argv of a worker: namespace, limits and privilege wrappers around the worker command. */
export function wrapWorkerArgv(isolation: SandboxIsolation, limits: WorkerLimits, command: string[]): string[] {
  return [
    ...netnsPrefix(isolation.netns, isolation.bin.unshare),
    ...limitPrefix(isolation.limits, limits, isolation.bin),
    ...(isolation.setpriv ?? []),
    ...command,
  ];
}

/**
 * The command that starts a worker child: the gateway binary itself, hidden `sandbox-worker` subcommand.
 * Compiled, `Bun.main` lives in the embedded filesystem (`/$bunfs/...`) and `process.execPath` is the binary;
 * from source it is `bun src/main.ts`.
 */
export function workerCommand(): string[] {
  if (Bun.main.startsWith("/$bunfs/")) return [process.execPath, "sandbox-worker"];
  return [process.execPath, Bun.fileURLToPath(new URL("../../main.ts", import.meta.url)), "sandbox-worker"];
}

/** The probe command for setpriv detection: the worker binary answering --version. */
export function probeCommand(): string[] {
  return [...workerCommand().slice(0, -1), "--version"];
}

/** Forgets the detection (tests). */
export function resetIsolationForTests(): void {
  detected = null;
}
