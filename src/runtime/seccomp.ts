/**
 * Installs a seccomp-bpf filter on every thread of this process (Linux), through libc by bun:ffi: Bun has no API
 * for it. The filter is permanent: it can never be removed or loosened, and threads started later inherit it.
 * Bun runs several threads (its I/O pool, the GC's helpers, the JIT), so the filter goes in with
 * SECCOMP_FILTER_FLAG_TSYNC, which applies it to all of them at once or fails; a filter on the calling thread alone
 * would leave the others free.
 */
import { dlopen, FFIType, ptr, read } from "bun:ffi";

const PR_SET_NO_NEW_PRIVS = 38;
const SECCOMP_SET_MODE_FILTER = 1;
const SECCOMP_FILTER_FLAG_TSYNC = 1;
const SYS_SECCOMP: Partial<Record<string, number>> = { x64: 317, arm64: 277 };
const LIBC = ["libc.so.6", "libc.so"];

function openLibc() {
  const symbols = {
    prctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
    syscall: { args: [FFIType.i64, FFIType.i64, FFIType.i64, FFIType.ptr], returns: FFIType.i64 },
    __errno_location: { args: [], returns: FFIType.ptr },
  } as const;
  let failure = "";
  for (const name of LIBC) {
    try {
      return dlopen(name, symbols).symbols;
    } catch (e) {
      failure = e instanceof Error ? e.message : String(e);
    }
  }
  throw new Error(`cannot load libc: ${failure}`);
}

/**
 * Installs `program` (struct sock_filter[], 8 bytes per instruction) on every thread, after setting
 * no_new_privs (required to install a filter without CAP_SYS_ADMIN). Throws, with the reason, when the platform or
 * the kernel refuses; then nothing was installed.
 */
export function installSeccompFilter(program: Uint8Array): void {
  if (process.platform !== "linux") throw new Error(`seccomp needs Linux (this is ${process.platform})`);
  const nr = SYS_SECCOMP[process.arch];
  if (nr === undefined) throw new Error(`no seccomp syscall number for the ${process.arch} architecture`);
  if (program.byteLength % 8 !== 0 || program.byteLength === 0 || program.byteLength / 8 > 4096)
    throw new Error("malformed seccomp program");
  const libc = openLibc();
  const errno = () => {
    const at = libc.__errno_location();
    return at === null ? "unknown" : String(read.i32(at, 0));
  };
  if (libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) !== 0)
    throw new Error(`prctl(PR_SET_NO_NEW_PRIVS) failed (errno ${errno()})`);
  // struct sock_fprog { unsigned short len; struct sock_filter *filter; } (the pointer 8-aligned).
  const fprog = new DataView(new ArrayBuffer(16));
  fprog.setUint16(0, program.byteLength / 8, true);
  fprog.setBigUint64(8, BigInt(ptr(program)), true);
  const result = Number(libc.syscall(nr, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, ptr(fprog)));
  if (result === 0) return;
  // With TSYNC a positive result is the id of a thread that could not be synchronised.
  throw new Error(
    result > 0
      ? `seccomp: thread ${result} could not take the filter`
      : `seccomp(SET_MODE_FILTER) failed (errno ${errno()})`,
  );
}
