/**
 * The seccomp-bpf program that confines a sandbox worker once its interpreter is loaded (worker.ts installs it
 * through src/runtime/seccomp.ts, on every thread at once). It is an allow-list: the worker may go on using the
 * descriptors it already holds (its stdin/stdout/stderr sockets to the gateway, its event loop), memory, threads,
 * timers and signals to itself, and nothing else. Every other system call fails with EPERM, which Bun reports as an
 * ordinary error (Python sees a JsException or OSError) and the worker lives on:
 *
 *  - no path is ever resolved: open/openat/openat2/creat, stat/statx/access/readlink, mkdir/unlink/rename/link/
 *    symlink/chmod/chown/truncate/utime, chdir/chroot, the mount API, getdents, inotify/fanotify, *xattr, handles;
 *    so the only files the worker can read are the ones it was given before the filter went in (none on the host);
 *  - no new process or program: execve/execveat, fork/vfork, clone without CLONE_THREAD (clone3 answers ENOSYS so
 *    libc falls back to clone, whose flags a filter can read);
 *  - no network: socket/socketpair/connect/bind/listen/accept (the stdio sockets keep send/recv);
 *  - no reach into other processes: kill/tgkill only at the worker's own pid, no tkill/rt_sigqueueinfo, ptrace,
 *    process_vm_*, pidfd_*, kcmp, prlimit64 only reads its own limits;
 *  - no kernel attack surface the worker does not need: bpf, perf_event_open, userfaultfd, io_uring, keyctl,
 *    memfd_create, SysV IPC and message queues, namespaces (unshare/setns), setuid/setgid families, personality,
 *    and every syscall added to the kernel later (an allow-list does not have to know them).
 *
 * Some are allowed only with some arguments: clone with CLONE_THREAD (a thread, not a process), kill and tgkill at
 * the worker's own pid, ioctl for the few terminal/descriptor queries Bun makes on its stdio, prctl for naming
 * threads and memory regions, prlimit64 to read its own limits. The program checks the architecture first (a
 * 32-bit or x32 call on x86-64 goes through another table: refused), then the syscall number.
 */

export type FilterArch = "x64" | "arm64";

/** Syscall numbers per architecture (x86-64: arch/x86/entry/syscalls/syscall_64.tbl; arm64: asm-generic/unistd.h). */
export const SYSCALL_TABLES = {
  x64: {
    audit: 0xc000003e,
    nr: {
      read: 0,
      write: 1,
      close: 3,
      fstat: 5,
      poll: 7,
      lseek: 8,
      mmap: 9,
      mprotect: 10,
      munmap: 11,
      brk: 12,
      rt_sigaction: 13,
      rt_sigprocmask: 14,
      rt_sigreturn: 15,
      ioctl: 16,
      readv: 19,
      writev: 20,
      sched_yield: 24,
      mremap: 25,
      madvise: 28,
      dup: 32,
      nanosleep: 35,
      getpid: 39,
      sendto: 44,
      recvfrom: 45,
      shutdown: 48,
      clone: 56,
      exit: 60,
      kill: 62,
      fcntl: 72,
      gettimeofday: 96,
      getrlimit: 97,
      getrusage: 98,
      sysinfo: 99,
      getuid: 102,
      getgid: 104,
      geteuid: 107,
      getegid: 108,
      rt_sigpending: 127,
      rt_sigtimedwait: 128,
      rt_sigsuspend: 130,
      sigaltstack: 131,
      prctl: 157,
      arch_prctl: 158,
      gettid: 186,
      futex: 202,
      sched_getaffinity: 204,
      set_tid_address: 218,
      restart_syscall: 219,
      clock_gettime: 228,
      clock_getres: 229,
      clock_nanosleep: 230,
      exit_group: 231,
      epoll_wait: 232,
      epoll_ctl: 233,
      tgkill: 234,
      ppoll: 271,
      set_robust_list: 273,
      epoll_pwait: 281,
      timerfd_create: 283,
      timerfd_settime: 286,
      timerfd_gettime: 287,
      eventfd2: 290,
      epoll_create1: 291,
      dup3: 292,
      prlimit64: 302,
      getcpu: 309,
      getrandom: 318,
      membarrier: 324,
      rseq: 334,
      clone3: 435,
      epoll_pwait2: 441,
    },
  },
  arm64: {
    audit: 0xc00000b7,
    nr: {
      read: 63,
      write: 64,
      close: 57,
      fstat: 80,
      lseek: 62,
      mmap: 222,
      mprotect: 226,
      munmap: 215,
      brk: 214,
      rt_sigaction: 134,
      rt_sigprocmask: 135,
      rt_sigreturn: 139,
      ioctl: 29,
      readv: 65,
      writev: 66,
      sched_yield: 124,
      mremap: 216,
      madvise: 233,
      dup: 23,
      nanosleep: 101,
      getpid: 172,
      sendto: 206,
      recvfrom: 207,
      shutdown: 210,
      clone: 220,
      exit: 93,
      kill: 129,
      fcntl: 25,
      gettimeofday: 169,
      getrlimit: 163,
      getrusage: 165,
      sysinfo: 179,
      getuid: 174,
      getgid: 176,
      geteuid: 175,
      getegid: 177,
      rt_sigpending: 136,
      rt_sigtimedwait: 137,
      rt_sigsuspend: 133,
      sigaltstack: 132,
      prctl: 167,
      gettid: 178,
      futex: 98,
      sched_getaffinity: 123,
      set_tid_address: 96,
      restart_syscall: 128,
      clock_gettime: 113,
      clock_getres: 114,
      clock_nanosleep: 115,
      exit_group: 94,
      epoll_ctl: 21,
      tgkill: 131,
      ppoll: 73,
      set_robust_list: 99,
      epoll_pwait: 22,
      timerfd_create: 85,
      timerfd_settime: 86,
      timerfd_gettime: 87,
      eventfd2: 19,
      epoll_create1: 20,
      dup3: 24,
      prlimit64: 261,
      getcpu: 168,
      getrandom: 278,
      membarrier: 283,
      rseq: 293,
      clone3: 435,
      epoll_pwait2: 441,
    },
  },
} as const satisfies Record<FilterArch, { audit: number; nr: Record<string, number> }>;

type SyscallName = keyof (typeof SYSCALL_TABLES)["x64"]["nr"] | keyof (typeof SYSCALL_TABLES)["arm64"]["nr"];

/**
 * Allowed whatever the arguments: I/O and events on descriptors the worker already holds, memory (mmap/mprotect
 * with PROT_EXEC too: JavaScriptCore's JIT and WebAssembly need it), threads and their synchronisation, signal
 * handling (wasm bounds checks and the GC's thread suspension use signals), clocks and sleeps, and facts about the
 * process itself. The hot ones come first: the program is a linear scan.
 */
export const ALLOWED_SYSCALLS: readonly SyscallName[] = [
  "futex",
  "madvise",
  "epoll_pwait2",
  "epoll_pwait",
  "epoll_wait",
  "epoll_ctl",
  "read",
  "write",
  "recvfrom",
  "sendto",
  "mprotect",
  "mmap",
  "munmap",
  "mremap",
  "brk",
  "membarrier",
  "sched_yield",
  "sched_getaffinity",
  "getcpu",
  "close",
  "dup",
  "dup3",
  "fcntl",
  "fstat",
  "lseek",
  "readv",
  "writev",
  "shutdown",
  "poll",
  "ppoll",
  "eventfd2",
  "epoll_create1",
  "timerfd_create",
  "timerfd_settime",
  "timerfd_gettime",
  "clock_gettime",
  "clock_getres",
  "clock_nanosleep",
  "nanosleep",
  "gettimeofday",
  "rt_sigaction",
  "rt_sigprocmask",
  "rt_sigreturn",
  "rt_sigpending",
  "rt_sigtimedwait",
  "rt_sigsuspend",
  "sigaltstack",
  "restart_syscall",
  "set_robust_list",
  "set_tid_address",
  "rseq",
  "arch_prctl",
  "gettid",
  "getpid",
  "getuid",
  "geteuid",
  "getgid",
  "getegid",
  "getrandom",
  "getrlimit",
  "getrusage",
  "sysinfo",
  "exit",
  "exit_group",
];

/** ioctl requests Bun makes on its stdio: TCGETS, TIOCGWINSZ, FIONREAD, FIONBIO, FIONCLEX, FIOCLEX, TIOCGPTN. */
const IOCTLS = [0x5401, 0x5413, 0x541b, 0x5421, 0x5450, 0x5451, 0x80045430];
/** prctl options for naming: PR_SET_NAME, PR_GET_NAME (threads), PR_SET_VMA (memory regions). */
const PRCTLS = [15, 16, 0x53564d41];
const CLONE_THREAD = 0x00010000;
const EPERM = 1;
const ENOSYS = 38;

// Classic BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h).
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JSET_K = 0x45;
const RET_K = 0x06;
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;
/** struct seccomp_data: nr at 0, arch at 4, args[i] at 16 + 8i (little-endian: the low word first). */
const NR = 0;
const ARCH = 4;
const argLow = (i: number) => 16 + 8 * i;
const argHigh = (i: number) => 20 + 8 * i;

/** One instruction; jumps name a label, resolved by `assemble`. */
type Insn = { code: number; k: number; jt?: string; jf?: string } | { label: string };

/** Lays the program out as struct sock_filter[] (8 bytes each: u16 code, u8 jt, u8 jf, u32 k). */
function assemble(program: Insn[]): Uint8Array {
  const code = program.filter((i): i is Exclude<Insn, { label: string }> => !("label" in i));
  const at = new Map<string, number>();
  let pc = 0;
  for (const insn of program) {
    if ("label" in insn) at.set(insn.label, pc);
    else pc++;
  }
  const bytes = new Uint8Array(code.length * 8);
  const view = new DataView(bytes.buffer);
  code.forEach((insn, i) => {
    const offset = (label: string | undefined): number => {
      if (label === undefined) return 0;
      const target = at.get(label);
      if (target === undefined) throw new Error(`seccomp program: no label ${label}`);
      const jump = target - i - 1;
      if (jump < 0 || jump > 255) throw new Error(`seccomp program: jump to ${label} out of range`);
      return jump;
    };
    view.setUint16(i * 8, insn.code, true);
    view.setUint8(i * 8 + 2, offset(insn.jt));
    view.setUint8(i * 8 + 3, offset(insn.jf));
    view.setUint32(i * 8 + 4, insn.k >>> 0, true);
  });
  return bytes;
}

const load = (offset: number): Insn => ({ code: LD_W_ABS, k: offset });
const ifEq = (k: number, jt: string, jf?: string): Insn => ({ code: JEQ_K, k, jt, jf });
const ret = (k: number): Insn => ({ code: RET_K, k });
const deny = ret(RET_ERRNO | EPERM);

/** Jumps to `yes` when the loaded word is one of `values`, else falls through. */
const anyOf = (values: readonly number[], yes: string): Insn[] => values.map((v) => ifEq(v, yes));

/**
 * The program for `arch`, letting the worker signal only itself (`pid`). Throws for an architecture it has no
 * table for: the caller must then refuse to run code (fail closed).
 */
export function buildSyscallFilter(arch: string, pid: number): Uint8Array {
  if (arch !== "x64" && arch !== "arm64") throw new Error(`no seccomp syscall table for the ${arch} architecture`);
  const table = SYSCALL_TABLES[arch];
  const nr = table.nr as Partial<Record<SyscallName, number>>;
  const num = (name: SyscallName): number[] => (nr[name] === undefined ? [] : [nr[name]]);
  return assemble([
    load(ARCH),
    ifEq(table.audit, "arch_ok"),
    deny,
    { label: "arch_ok" },
    load(NR),
    ...anyOf(
      ALLOWED_SYSCALLS.flatMap((name) => num(name)),
      "allow",
    ),
    ...anyOf(num("clone"), "clone"),
    ...anyOf(num("clone3"), "enosys"),
    ...anyOf([...num("kill"), ...num("tgkill")], "own_pid"),
    ...anyOf(num("ioctl"), "ioctl"),
    ...anyOf(num("prctl"), "prctl"),
    ...anyOf(num("prlimit64"), "prlimit"),
    deny,
    { label: "enosys" },
    ret(RET_ERRNO | ENOSYS),
    // A new thread shares this process (and this filter); anything else would be a new process.
    { label: "clone" },
    load(argLow(0)),
    { code: JSET_K, k: CLONE_THREAD, jt: "allow" },
    deny,
    // kill(pid, sig) and tgkill(tgid, tid, sig): the first argument (an int) must be this process.
    { label: "own_pid" },
    load(argLow(0)),
    ifEq(pid, "allow"),
    deny,
    { label: "ioctl" },
    load(argLow(1)),
    ...anyOf(IOCTLS, "allow"),
    deny,
    { label: "prctl" },
    load(argLow(0)),
    ...anyOf(PRCTLS, "allow"),
    deny,
    // prlimit64(0, resource, NULL, old): reading this process's own limits only.
    { label: "prlimit" },
    load(argLow(0)),
    ifEq(0, "prlimit_new", "prlimit_deny"),
    { label: "prlimit_new" },
    load(argLow(2)),
    ifEq(0, "prlimit_new_high", "prlimit_deny"),
    { label: "prlimit_new_high" },
    load(argHigh(2)),
    ifEq(0, "allow"),
    { label: "prlimit_deny" },
    deny,
    // Jumps only go forward: every check above ends here or in a deny of its own.
    { label: "allow" },
    ret(RET_ALLOW),
  ]);
}
