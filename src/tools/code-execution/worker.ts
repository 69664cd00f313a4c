/**
 * The sandbox worker: the body of the hidden `gateway sandbox-worker` command, run in a child process of the
 * gateway under OS limits (see os-limits.ts). It loads Pyodide hardened against the escapes below, then answers
 * JSON-lines exec requests on stdin (protocol.ts). Every snippet of one request session runs in the same
 * namespace; the parent recycles the whole process after the session, so nothing leaks across requests.
 *
 * Hardening, in order (each step closes an escape found by trying it;
 * docs/behaviour/tools.md#the-embedded-sandboxs-walls):
 *  1. `createRequire` is patched before Pyodide's Emscripten module evaluates: `child_process` gets a spawnSync
 *     that runs nothing (os.system -> status 127), `fs` is empty (NODEFS / mountNodeFS reach no host file), `ws`
 *     throws (SOCKFS cannot open a WebSocket to a host port).
 *  2. WebAssembly.Memory#grow is capped, so the interpreter's heap stops at the memory cap with a Python
 *     MemoryError (the OS limit on the process is the backstop).
 *  3. `jsglobals` is a bare object with timers only; the `js` and `pyodide_js` modules are unregistered and popped
 *     from sys.modules (unregistering alone leaves `sys.modules['pyodide_js']`), and `pyodide_js._api` (Pyodide's
 *     internal API: file loading, the package manager, `runPythonInternal`), which stays there too, is replaced by
 *     a plain module that keeps only the one flag Pyodide's asyncio support reads from it.
 *  4. Every string->code path is cut: the constructors of (async/generator) functions are replaced by undefined
 *     and `eval` by a no-op (not deleted: emscripten_run_script calls it), and the host globals (process, fetch,
 *     WebSocket, Worker, require, Buffer, ...) are deleted once what the worker needs is captured.
 *  5. Last, once nothing is left to load, the process confines itself with a seccomp filter on every thread
 *     (syscall-filter.ts): no file can be opened, no process started, no socket made, no other process signalled.
 *     This is the wall that holds whatever JS object sandboxed code still reaches: Bun's own file reads fail with
 *     EPERM, which Python sees as an exception, and the worker lives on. A worker that cannot confine itself
 *     refuses to run code (`--allow-unconfined` lets it, for an operator who opted out).
 * Steps 1 to 4 are defence in depth inside one JS realm; the seccomp filter, the process boundary and its OS limits
 * are the outer wall.
 */
import { openSync } from "node:fs";
import type { PyodideAPI } from "pyodide";
import type { PyDict } from "pyodide/ffi";
import { installSeccompFilter } from "../../runtime/seccomp";
import {
  DEFAULT_OUTPUT_CAP_BYTES,
  type ExecReply,
  parseExecRequest,
  type WorkerMessage,
  type WorkerOptions,
} from "./protocol";
import { RUNNER_SOURCE } from "./runner.py.ts";
import { buildSyscallFilter } from "./syscall-filter";

type RequireFn = (id: string) => unknown;
interface NodeModuleShape {
  createRequire: (url: string | URL) => RequireFn;
  syncBuiltinESMExports: () => void;
}
type PyFunction = (source: string) => Promise<number>;

const WASM_PAGE = 65536;

/**
 * Output of one stream for one call, capped; partial lines are kept (Pyodide's `write` handler: the `batched` one drops
 * a partial last line).
 */
class CappedOutput {
  private text = "";
  private kept = 0;
  private dropped = 0;
  private decoder = new TextDecoder("utf-8");

  constructor(private readonly cap: number) {}

  write = (buf: Uint8Array): number => {
    const room = this.cap - this.kept;
    if (room > 0) {
      const part = buf.length <= room ? buf : buf.subarray(0, room);
      this.text += this.decoder.decode(part, { stream: true });
      this.kept += part.length;
    }
    if (buf.length > room) this.dropped += buf.length - Math.max(room, 0);
    return buf.length;
  };

  take(): string {
    let text = this.text + this.decoder.decode();
    if (this.dropped > 0) text += `\n[output truncated: ${this.dropped} more bytes]`;
    this.text = "";
    this.kept = 0;
    this.dropped = 0;
    this.decoder = new TextDecoder("utf-8");
    return text;
  }
}

/** Step 1: stub the Node hooks Emscripten reaches through `createRequire` (must run before Pyodide loads). */
async function stubEmscriptenNodeHooks(): Promise<void> {
  const mod = (await import("node:module")) as unknown as { default: NodeModuleShape };
  const original = mod.default.createRequire;
  mod.default.createRequire = (url: string | URL): RequireFn => {
    const real = original(url);
    return (id: string): unknown => {
      if (/child_process/.test(id))
        return { spawnSync: () => ({ status: 127, signal: null }), spawn: noSockets, execSync: noSockets };
      if (id === "node:fs" || id === "fs") return {};
      if (id === "ws") {
        const ws = Object.assign(noSockets, { Server: noSockets });
        return ws;
      }
      return real(id);
    };
  };
  // The named export `createRequire` (what `await import("node:module")` destructures) follows the default's patch.
  mod.default.syncBuiltinESMExports();
}

function noSockets(): never {
  throw new Error("no sockets or processes in the sandbox");
}

/** Step 2: cap the growth of every wasm memory (Pyodide's heap) at `maxBytes`. */
function capWasmMemory(maxBytes: number): void {
  const proto = WebAssembly.Memory.prototype;
  const grow = proto.grow;
  const maxPages = Math.floor(maxBytes / WASM_PAGE);
  Object.defineProperty(proto, "grow", {
    value: function cappedGrow(this: WebAssembly.Memory, delta: number): number {
      if (this.buffer.byteLength / WASM_PAGE + delta > maxPages) throw new RangeError("sandbox memory cap reached");
      return grow.call(this, delta);
    },
    writable: false,
    configurable: false,
  });
}

/**
 * Pyodide treats a JS value as an error only when it has `name`, `message` and `stack`; a promise rejected with
 * anything else is a fatal error in `run_sync` that kills the interpreter. Bun's asynchronous fs errors have no
 * stack, so a refused file read (the seccomp filter's EPERM) would end the worker instead of raising in Python:
 * an inherited, empty `stack` makes every Error one.
 */
function giveErrorsAStack(): void {
  Object.defineProperty(Error.prototype, "stack", { value: "", writable: true, configurable: true });
}

/** Step 4: remove every string->code path and the host globals. */
function cutStringToCode(): void {
  const protos = [
    Function.prototype,
    Object.getPrototypeOf(async () => {}),
    Object.getPrototypeOf(function* () {}),
    Object.getPrototypeOf(async function* () {}),
  ];
  for (const proto of protos)
    Object.defineProperty(proto, "constructor", { value: undefined, writable: false, configurable: false });
  Object.defineProperty(globalThis, "eval", { value: () => undefined, writable: false, configurable: false });
  const g = globalThis as unknown as Record<string, unknown>;
  for (const name of [
    "fetch",
    "WebSocket",
    "Worker",
    "process",
    "require",
    "module",
    "Buffer",
    "navigator",
    "XMLHttpRequest",
    "EventSource",
    "BroadcastChannel",
    "Request",
    "Response",
  ]) {
    delete g[name];
  }
  // Emscripten still asks `process` for getuid/umask and sets exitCode on exit: a bare stand-in answers those
  // without exposing the real one (a missing `process` there is a Pyodide fatal error).
  g.process = { getuid: () => 0, umask: () => 0o022, exitCode: undefined };
}

/** Step 3 in Python: the JS modules leave sys.modules, and Pyodide's internal API gives way to a plain stand-in. */
const SEAL_SOURCE = `
import sys, types
sys.modules.pop("pyodide_js", None)
sys.modules.pop("js", None)
_api = sys.modules.get("pyodide_js._api")
_stand_in = types.ModuleType("pyodide_js._api")
# asyncio.run and loop.run_until_complete read this flag (pyodide/webloop.py).
_stand_in.config = types.SimpleNamespace(enableRunUntilComplete=bool(getattr(getattr(_api, "config", None), "enableRunUntilComplete", False)))
sys.modules["pyodide_js._api"] = _stand_in
del sys, types, _api, _stand_in
`;

/** Step 5: the seccomp filter, on every thread of this process (`pid`); throws when this host cannot install it. */
export function confineProcess(pid: number): void {
  installSeccompFilter(buildSyscallFilter(process.arch, pid));
}

/**
 * `gateway sandbox-worker --probe-confinement`: can this host confine a worker? Installs the filter, checks that it
 * holds (opening "/" is refused), and returns the exit code: 0, or 1 with the reason on stderr.
 */
export function probeConfinement(): number {
  try {
    confineProcess(process.pid);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  try {
    openSync("/", "r");
  } catch (e) {
    if (typeof e === "object" && e !== null && "code" in e && e.code === "EPERM") return 0;
  }
  process.stderr.write("the seccomp filter did not refuse an open\n");
  return 1;
}

/** Runs the worker until stdin closes. Never returns normally: the process exits. */
export async function runSandboxWorker(options: Partial<WorkerOptions> = {}): Promise<never> {
  const memoryMb = options.memoryMb ?? 256;
  const cap = options.outputCapBytes ?? DEFAULT_OUTPUT_CAP_BYTES;
  const allowUnconfined = options.allowUnconfined ?? false;
  const pid = process.pid;
  // Capture what the worker itself needs before the globals go.
  const stdoutWrite = process.stdout.write.bind(process.stdout);
  const stderrWrite = process.stderr.write.bind(process.stderr);
  const exit = process.exit.bind(process);
  const stdin = Bun.stdin.stream();
  const send = (msg: WorkerMessage) => stdoutWrite(`${JSON.stringify(msg)}\n`);
  const out = new CappedOutput(cap);
  const err = new CappedOutput(cap);
  let current: number | null = null;
  let fatal: string[] | null = null;
  // The interpreter is gone (a Pyodide fatal error, which leaves the pending call unsettled forever, or os._exit):
  // answer the pending call and exit; the parent starts a fresh worker.
  let ending = false;
  const end = (cause: string | null, returnCode = 1) => {
    if (ending) return;
    ending = true;
    // Python's fatal-error dump of internal frames is noise for the model.
    const stdout = out.take().replace(/(^|\n)Stack \(most recent call first\):[\s\S]*$/, "");
    const stderr = err.take();
    if (current !== null) {
      const note = cause === null ? "" : `\nsandbox crashed: ${cause}`;
      send({ type: "result", id: current, stdout, stderr: `${stderr}${note}`.trimStart(), returnCode, final: true });
    } else {
      send({ type: "fatal", message: `sandbox crashed: ${cause ?? "exit"}` });
    }
    exit(70);
  };
  const onFatal = () =>
    end(
      fatal
        ?.find((line) => /Error:/.test(line))
        ?.split("\n")[0]
        ?.slice(0, 300) ?? "Pyodide fatal error",
    );
  const onUncaught = (e: unknown) => {
    // os._exit(n) surfaces as Emscripten's ExitStatus: report it as the snippet's return code.
    const status =
      typeof e === "object" && e !== null && "status" in e && typeof e.status === "number" ? e.status : null;
    if (status !== null) end(null, status);
    else end(e instanceof Error ? `${e.name}: ${e.message.split("\n")[0]}` : String(e));
  };
  process.on("uncaughtException", onUncaught);
  process.on("unhandledRejection", onUncaught);
  // stdout is the protocol channel: anything printed through console goes to stderr.
  const toStderr = (...args: unknown[]) => {
    const text = args
      .map((a) => (typeof a === "string" ? a : a instanceof Error ? `${a.name}: ${a.message}` : String(a)))
      .join(" ");
    stderrWrite(`${text}\n`);
    if (fatal) fatal.push(text);
    else if (text.includes("Pyodide has suffered a fatal error")) {
      fatal = [];
      setTimeout(onFatal, 50);
    }
  };
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  console.warn = toStderr;
  console.error = toStderr;

  const started = performance.now();
  let py: PyodideAPI;
  let run: PyFunction;
  try {
    await stubEmscriptenNodeHooks();
    capWasmMemory(memoryMb * 1024 * 1024);
    const { loadPyodide } = await import("pyodide");
    const { pyodideAssets } = await import("./pyodide-assets");
    const jsglobals = Object.create(null) as Record<string, unknown>;
    jsglobals.setTimeout = (f: () => void, ms?: number) => setTimeout(f, ms);
    jsglobals.clearTimeout = (id: ReturnType<typeof setTimeout>) => clearTimeout(id);
    py = await loadPyodide({
      ...pyodideAssets,
      jsglobals,
      env: { HOME: "/home/pyodide" },
      stdout: () => {},
      stderr: () => {},
    });
    py.setStdout({ write: out.write });
    py.setStderr({ write: err.write });
    py.setStdin({ stdin: () => null });
    // Step 3: cut the Python -> JS bridge.
    py.unregisterJsModule("pyodide_js");
    py.unregisterJsModule("js");
    py.runPython(SEAL_SOURCE);
    const dict = py.globals.get("dict") as () => PyDict;
    const runnerNs = dict();
    py.runPython(RUNNER_SOURCE, { globals: runnerNs });
    run = runnerNs.get("run") as PyFunction;
    try {
      confineProcess(pid);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      if (!allowUnconfined) throw new Error(`the worker could not confine itself with seccomp (${reason})`);
      stderrWrite(`sandbox worker running unconfined (allowed by the operator): ${reason}\n`);
    }
    giveErrorsAStack();
    cutStringToCode();
  } catch (e) {
    send({ type: "fatal", message: `sandbox failed to start: ${e instanceof Error ? e.message : String(e)}` });
    return exit(1);
  }
  send({ type: "ready", loadMs: Math.round(performance.now() - started) });

  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stdin) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl = buffered.indexOf("\n");
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf("\n");
      const request = parseExecRequest(line);
      if (!request) continue;
      let reply: ExecReply;
      current = request.id;
      try {
        const returnCode = await run(request.code);
        reply = {
          type: "result",
          id: request.id,
          stdout: out.take(),
          stderr: err.take(),
          returnCode: Number(returnCode),
        };
      } catch (e) {
        // The runner catches every Python exception, so this is the interpreter itself failing (a Pyodide fatal
        // error): report it and exit, the parent starts a fresh process.
        const message = e instanceof Error ? e.message.split("\n")[0] : String(e);
        reply = {
          type: "result",
          id: request.id,
          stdout: out.take(),
          stderr: `${err.take()}\nsandbox crashed: ${message}`.trimStart(),
          returnCode: 1,
          final: true,
        };
        send(reply);
        return exit(70);
      }
      current = null;
      send(reply);
    }
  }
  return exit(0);
}
