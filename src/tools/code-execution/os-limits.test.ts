/** The OS wrappers: both limit mechanisms really apply their limits, and detection matches this host. */
import { describe, expect, test } from "bun:test";
import { detectIsolation, limitPrefix, type SandboxIsolation, workerLimits, wrapWorkerArgv } from "./os-limits";

const limits = workerLimits(256, 30);
const cat = Bun.which("cat") ?? "/bin/cat";

function limitsUnder(prefix: string[]): string {
  const res = Bun.spawnSync([...prefix, cat, "/proc/self/limits"], { stdout: "pipe", stderr: "pipe" });
  expect(res.exitCode).toBe(0);
  return res.stdout.toString();
}

function expectApplied(text: string): void {
  expect(text).toMatch(new RegExp(`Max address space\\s+${limits.addressSpaceBytes}\\s`));
  expect(text).toMatch(new RegExp(`Max cpu time\\s+${limits.cpuSeconds}\\s`));
  expect(text).toMatch(/Max open files\s+64\s+64/);
  expect(text).toMatch(/Max core file size\s+0\s/);
  expect(text).toMatch(/Max file size\s+0\s/);
}

describe("sandbox OS limits", () => {
  test("limits: address space = 3 GiB runtime reserve + memory cap; CPU = 10 timeouts + 30 s; 64 files", () => {
    expect(limits).toEqual({ addressSpaceBytes: (3072 + 256) * 1024 * 1024, cpuSeconds: 330, openFiles: 64 });
  });

  test("detection matches the host and the chosen prefix applies the limits", () => {
    const isolation = detectIsolation([Bun.which("true") ?? "/bin/true"]);
    expect(isolation.limits).toBe(Bun.which("prlimit") ? "prlimit" : "ulimit");
    if (isolation.limits !== "none") expectApplied(limitsUnder(limitPrefix(isolation.limits, limits, isolation.bin)));
  });

  test("the ulimit fallback (sh -c) applies the same limits", () => {
    const bin = { prlimit: "", sh: Bun.which("sh") ?? "/bin/sh", unshare: "" };
    expectApplied(limitsUnder(limitPrefix("ulimit", limits, bin)));
  });

  test("the wrappers nest in order and exec the command last", () => {
    const isolation: SandboxIsolation = {
      limits: "prlimit",
      netns: "unshare",
      setpriv: ["/usr/bin/setpriv", "--no-new-privs", "--"],
      bin: { prlimit: "/usr/bin/prlimit", sh: "/bin/sh", unshare: "/usr/bin/unshare" },
      confinement: { available: true },
    };
    expect(wrapWorkerArgv(isolation, limits, ["gw", "sandbox-worker"])).toEqual([
      "/usr/bin/unshare",
      "-n",
      "--",
      "/usr/bin/prlimit",
      `--as=${limits.addressSpaceBytes}`,
      "--cpu=330",
      "--nofile=64",
      "--core=0",
      "--fsize=0",
      "--",
      "/usr/bin/setpriv",
      "--no-new-privs",
      "--",
      "gw",
      "sandbox-worker",
    ]);
    expect(wrapWorkerArgv({ ...isolation, limits: "none", netns: "none", setpriv: null }, limits, ["gw"])).toEqual([
      "gw",
    ]);
  });
});
