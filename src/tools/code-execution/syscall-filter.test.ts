/**
 * The sandbox worker's seccomp program, run here by a small classic-BPF interpreter (the kernel's semantics for the
 * few opcodes the program uses), for both architectures: what is allowed, what is refused with which errno, and the
 * syscall tables checked against this machine's kernel headers.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ALLOWED_SYSCALLS, buildSyscallFilter, type FilterArch, SYSCALL_TABLES } from "./syscall-filter";

const PID = 4242;
const EPERM = { errno: 1 };
const ENOSYS = { errno: 38 };

/** What the kernel answers for one call: seccomp_data = nr, arch, ip, args[6]. */
function decide(program: Uint8Array, audit: number, nr: number, args: bigint[] = []): "allow" | { errno: number } {
  const data = new DataView(new ArrayBuffer(64));
  data.setInt32(0, nr, true);
  data.setUint32(4, audit, true);
  for (const [i, a] of args.entries()) data.setBigUint64(16 + 8 * i, BigInt.asUintN(64, a), true);
  const code = new DataView(program.buffer, program.byteOffset, program.byteLength);
  let acc = 0;
  for (let pc = 0; pc * 8 < program.byteLength; pc++) {
    const op = code.getUint16(pc * 8, true);
    const jt = code.getUint8(pc * 8 + 2);
    const jf = code.getUint8(pc * 8 + 3);
    const k = code.getUint32(pc * 8 + 4, true);
    if (op === 0x20) acc = data.getUint32(k, true);
    else if (op === 0x15) pc += acc === k ? jt : jf;
    else if (op === 0x45) pc += (acc & k) !== 0 ? jt : jf;
    else if (op === 0x06) return k === 0x7fff0000 ? "allow" : { errno: k & 0xffff };
    else throw new Error(`opcode ${op} not expected in this program`);
  }
  throw new Error("the program fell off its end");
}

/** Numbers of syscalls the filter must refuse (absent from its tables), per architecture. */
const REFUSED: Record<FilterArch, Record<string, number>> = {
  x64: {
    open: 2,
    openat: 257,
    openat2: 437,
    creat: 85,
    stat: 4,
    newfstatat: 262,
    statx: 332,
    access: 21,
    readlink: 89,
    getdents64: 217,
    unlink: 87,
    unlinkat: 263,
    rename: 82,
    renameat2: 316,
    mkdir: 83,
    chmod: 90,
    truncate: 76,
    chdir: 80,
    chroot: 161,
    mount: 165,
    execve: 59,
    execveat: 322,
    fork: 57,
    vfork: 58,
    socket: 41,
    connect: 42,
    bind: 49,
    listen: 50,
    accept4: 288,
    socketpair: 53,
    sendmsg: 46,
    ptrace: 101,
    process_vm_readv: 310,
    pidfd_open: 434,
    pidfd_getfd: 438,
    tkill: 200,
    rt_sigqueueinfo: 129,
    memfd_create: 319,
    bpf: 321,
    perf_event_open: 298,
    userfaultfd: 323,
    io_uring_setup: 425,
    keyctl: 250,
    unshare: 272,
    setns: 308,
    setuid: 105,
    name_to_handle_at: 303,
    open_by_handle_at: 304,
    inotify_add_watch: 254,
    setxattr: 188,
    seccomp: 317,
    shmget: 29,
    pipe2: 293,
  },
  arm64: {
    openat: 56,
    openat2: 437,
    newfstatat: 79,
    statx: 291,
    faccessat: 48,
    readlinkat: 78,
    getdents64: 61,
    unlinkat: 35,
    renameat2: 276,
    mkdirat: 34,
    fchmodat: 53,
    truncate: 45,
    chdir: 49,
    chroot: 51,
    mount: 40,
    execve: 221,
    execveat: 281,
    socket: 198,
    connect: 203,
    bind: 200,
    listen: 201,
    accept4: 242,
    socketpair: 199,
    sendmsg: 211,
    ptrace: 117,
    process_vm_readv: 270,
    pidfd_open: 434,
    tkill: 130,
    rt_sigqueueinfo: 138,
    memfd_create: 279,
    bpf: 280,
    perf_event_open: 241,
    userfaultfd: 282,
    io_uring_setup: 425,
    keyctl: 219,
    unshare: 97,
    setns: 268,
    setuid: 146,
    open_by_handle_at: 265,
    inotify_add_watch: 27,
    setxattr: 5,
    seccomp: 277,
    pipe2: 59,
  },
};

describe.each(["x64", "arm64"] as const)("the worker's syscall filter on %s", (arch) => {
  const program = buildSyscallFilter(arch, PID);
  const { audit, nr } = SYSCALL_TABLES[arch];
  const call = (name: keyof typeof nr, args: bigint[] = []) => decide(program, audit, nr[name], args);

  test("every allow-listed syscall passes whatever its arguments", () => {
    const plain = ALLOWED_SYSCALLS.filter((name) => name in nr);
    expect(plain.length).toBeGreaterThan(50);
    for (const name of plain)
      expect([name, decide(program, audit, (nr as Record<string, number>)[name] ?? -1, [9n, 9n, 9n])]).toEqual([
        name,
        "allow",
      ]);
  });

  test("paths, programs, sockets, other processes and kernel interfaces are refused with EPERM", () => {
    for (const [name, number] of Object.entries(REFUSED[arch]))
      expect([name, decide(program, audit, number)]).toEqual([name, EPERM]);
  });

  test("threads are allowed, new processes are not; clone3 answers ENOSYS so libc falls back to clone", () => {
    const CLONE_THREAD = 0x10000n;
    expect(call("clone", [0x3d0f00n])).toBe("allow"); // glibc pthread_create's flags
    expect(call("clone", [CLONE_THREAD])).toBe("allow");
    expect(call("clone", [17n])).toEqual(EPERM); // fork(): SIGCHLD only
    expect(call("clone", [0x10000000n | 17n])).toEqual(EPERM); // CLONE_NEWUSER
    expect(call("clone3")).toEqual(ENOSYS);
  });

  test("signals reach only the worker itself", () => {
    expect(call("kill", [BigInt(PID), 0n])).toBe("allow");
    expect(call("tgkill", [BigInt(PID), 4243n, 10n])).toBe("allow");
    expect(call("kill", [1n, 9n])).toEqual(EPERM);
    expect(call("kill", [-1n, 9n])).toEqual(EPERM);
    expect(call("kill", [0n, 9n])).toEqual(EPERM); // the process group
    expect(call("tgkill", [1n, 1n, 9n])).toEqual(EPERM);
  });

  test("ioctl and prctl only with the requests Bun makes; prlimit64 only reads this process's limits", () => {
    expect(call("ioctl", [0n, 0x5401n])).toBe("allow"); // TCGETS
    expect(call("ioctl", [0n, 0x5412n])).toEqual(EPERM); // TIOCSTI
    expect(call("ioctl", [3n, 0x4008ae89n])).toEqual(EPERM);
    expect(call("prctl", [15n])).toBe("allow"); // PR_SET_NAME
    expect(call("prctl", [0x53564d41n])).toBe("allow"); // PR_SET_VMA
    expect(call("prctl", [4n, 1n])).toEqual(EPERM); // PR_SET_DUMPABLE
    expect(call("prctl", [22n])).toEqual(EPERM); // PR_SET_SECCOMP
    expect(call("prlimit64", [0n, 7n, 0n, 0x7ffe0000n])).toBe("allow");
    expect(call("prlimit64", [0n, 7n, 0x7ffe0000n, 0n])).toEqual(EPERM);
    expect(call("prlimit64", [0n, 7n, 0x1_0000_0000n, 0n])).toEqual(EPERM);
    expect(call("prlimit64", [1n, 7n, 0n, 0x7ffe0000n])).toEqual(EPERM);
  });

  test("a call through another architecture's table is refused; so are syscall numbers added to the kernel later", () => {
    const I386 = 0x40000003;
    expect(decide(program, I386, 3)).toEqual(EPERM); // read on i386, allowed on neither table as such
    expect(decide(program, arch === "x64" ? SYSCALL_TABLES.arm64.audit : SYSCALL_TABLES.x64.audit, nr.read)).toEqual(
      EPERM,
    );
    expect(decide(program, audit, 0x40000000 | nr.read)).toEqual(EPERM); // x32
    expect(decide(program, audit, 470)).toEqual(EPERM);
  });
});

test("an architecture without a table is refused (the worker then runs no code)", () => {
  expect(() => buildSyscallFilter("riscv64", PID)).toThrow("no seccomp syscall table for the riscv64 architecture");
});

/** This machine's kernel headers, through the C preprocessor: `__NR_<name>` for every name in a table. */
function headerNumbers(arch: FilterArch, names: string[]): Record<string, number> | null {
  const gcc = Bun.which("gcc");
  const header = arch === "x64" ? "/usr/include/x86_64-linux-gnu/asm/unistd_64.h" : "/usr/include/asm-generic/unistd.h";
  if (!gcc || !existsSync(header)) return null;
  // arm64 takes asm-generic's table with the options arch/arm64/include/uapi/asm/unistd.h turns on.
  const arm64 = [
    "__BITS_PER_LONG 64",
    "__ARCH_WANT_RENAMEAT",
    "__ARCH_WANT_NEW_STAT",
    "__ARCH_WANT_SET_GET_RLIMIT",
    "__ARCH_WANT_SYS_CLONE3",
  ];
  const source = [
    ...(arch === "arm64" ? arm64.map((d) => `#define ${d}`) : []),
    `#include <${header}>`,
    ...names.map((n) => `NR ${n} __NR_${n}`),
  ].join("\n");
  const dir = mkdtempSync(join(tmpdir(), "nr-"));
  writeFileSync(join(dir, "nr.c"), source);
  const res = Bun.spawnSync([gcc, "-E", "-P", join(dir, "nr.c")], { stdout: "pipe", stderr: "pipe" });
  if (res.exitCode !== 0) return null;
  const out: Record<string, number> = {};
  // A name the headers do not define stays `__NR_<name>` and is left out, so the comparison below fails on it.
  for (const m of res.stdout.toString().matchAll(/^NR (\w+) (\d+)$/gm)) if (m[1] && m[2]) out[m[1]] = Number(m[2]);
  return out;
}

test.each(["x64", "arm64"] as const)("the %s syscall numbers match the kernel headers", (arch) => {
  const table: Record<string, number> = { ...SYSCALL_TABLES[arch].nr, ...REFUSED[arch] };
  const fromHeaders = headerNumbers(arch, Object.keys(table));
  if (fromHeaders === null) return; // no compiler or headers on this machine: the tables were checked where there were
  expect(fromHeaders).toEqual(table);
});
