/**
 * The embedded sandbox for real: Pyodide in `bun src/main.ts sandbox-worker` children under this host's OS
 * wrappers. Each known escape path (docs/behaviour/tools.md#the-embedded-sandboxs-walls) is tried and must end as a
 * clean `[tool error]` or its ordinary Python error, with nothing happening on the host (no sentinel file, no
 * connection to a local listener) and the gateway process unharmed. The paths into Pyodide's internals (its JS API,
 * reached through sys.modules or a polluted Object.prototype) must find the worker process itself confined: every host
 * file refused by the OS, as a Python exception, with the worker alive for the next call. One backend (pool of 2
 * spares) serves most of the file so workers start once or twice.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ToolSession } from "../types";
import { EmbeddedSandbox } from "./embedded";
import { detectIsolation, workerCommand } from "./os-limits";

const TIMEOUT_S = 3;
const SLOW = 90_000;
// Any call may have to wait for a fresh worker (~2-4 s on a busy 2-core machine) after a test killed one.
setDefaultTimeout(SLOW);

let backend: EmbeddedSandbox;
let session: ToolSession;
let dir: string;
let sentinel: string;
let listener: Bun.TCPSocketListener<undefined>;
let connections = 0;
/** A secret the worker's user could read on this host (world-readable: as root the worker runs as nobody). */
let hostDir: string;
let secretFile: string;
const SECRET = `master_key: sk-planted-${crypto.randomUUID()}`;

beforeAll(() => {
  backend = new EmbeddedSandbox({ timeoutS: TIMEOUT_S, memoryMb: 256, spares: 2 });
  dir = mkdtempSync(join(tmpdir(), "sandbox-escape-"));
  sentinel = join(dir, "pwned");
  hostDir = mkdtempSync(join(tmpdir(), "sandbox-host-"));
  chmodSync(hostDir, 0o755);
  secretFile = join(hostDir, "config.yml");
  writeFileSync(secretFile, SECRET);
  chmodSync(secretFile, 0o644);
  listener = Bun.listen<undefined>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open: () => {
        connections++;
      },
      data: () => {},
    },
  });
});

afterAll(async () => {
  await session?.close();
  await backend.shutdown();
  listener.stop(true);
  rmSync(dir, { recursive: true, force: true });
  rmSync(hostDir, { recursive: true, force: true });
});

/** Runs in the shared session; the sentinel, listener and planted secret must stay untouched whatever the code did. */
async function run(code: string): Promise<string> {
  session ??= await backend.openSession();
  const text = await session.run({ code });
  expect(existsSync(sentinel)).toBe(false);
  expect(connections).toBe(0);
  expect(readFileSync(secretFile, "utf8")).toBe(SECRET);
  expect(readdirSync(hostDir)).toEqual(["config.yml"]);
  return text;
}

/** Python that reaches Pyodide's real internal JS API by another way than sys.modules (see the file). */
const REACH_API = readFileSync(new URL("./fixtures/reach-pyodide-api.py", import.meta.url), "utf8");

/** Python that tries to read each path with `load(path)` (a JS promise) and prints what happened, one line each. */
const readEach = (load: string, paths: string[]) => `
import _pyodide_core, sys
for path in ${JSON.stringify(paths)}:
    try:
        data = bytes(_pyodide_core.run_sync(${load}).to_py())
        print("READ", path, data[:200])
    except Exception as e:
        print("refused", path, type(e).__name__, str(e).splitlines()[0])
`;

describe("embedded sandbox: Python works", () => {
  test(
    "23 factorial, a final expression's value, partial lines and state across calls of a session",
    async () => {
      expect(await run("import math\nprint(math.factorial(23))")).toBe("stdout:\n25852016738884976640000\n");
      expect(await run("math.factorial(23)")).toBe("stdout:\n25852016738884976640000\n");
      expect(await run("for i in range(3): print(i, end=' ')")).toBe("stdout:\n0 1 2 ");
      expect(await run("secret = 41")).toBe("(no output)");
      expect(await run("secret + 1")).toBe("stdout:\n42\n");
      expect(await run("import asyncio\nawait asyncio.sleep(0.01)\n'awaited'")).toBe("stdout:\n'awaited'\n");
    },
    SLOW,
  );

  test("a Python exception is its traceback on stderr with return code 1, runner frames removed", async () => {
    expect(await run("def f():\n    return 1/0\nf()")).toBe(
      '[tool error] stderr:\nTraceback (most recent call last):\n  File "<code>", line 3, in <module>\n  File "<code>", line 2, in f\nZeroDivisionError: division by zero\n\nreturn_code: 1',
    );
    expect(await run("print('partial')\nprint('oops', file=__import__('sys').stderr)")).toBe(
      "stdout:\npartial\n\nstderr:\noops\n",
    );
    expect(await run("def broken(:\n  pass")).toStartWith("[tool error] stderr:\n");
  });

  test("output is capped per call", async () => {
    const text = await run("print('x' * 200_000)");
    expect(text).toContain("[output truncated: ");
    expect(text.length).toBeLessThan(70_000);
  });

  test("input() gets EOF instead of reading the worker's protocol channel", async () => {
    expect(await run("input()")).toContain("EOFError");
  });
});

describe("embedded sandbox: known escape paths", () => {
  test("reading /etc/passwd: the filesystem is Pyodide's in-memory one", async () => {
    const text = await run("open('/etc/passwd').read()");
    expect(text).toStartWith("[tool error] stderr:");
    expect(text).toContain("FileNotFoundError");
    expect(await run("import os\nsorted(os.listdir('/'))")).not.toContain("'etc'");
  });

  test("os.system / posix.system run nothing on the host", async () => {
    expect(await run(`import os\nos.system('touch ${sentinel}')`)).toBe("stdout:\n32512\n");
    expect(await run(`import posix\nposix.system('id > ${sentinel}')`)).toBe("stdout:\n32512\n");
  });

  test("subprocess imports but cannot start a process", async () => {
    const text = await run(`import subprocess\nsubprocess.run(['touch', '${sentinel}'])`);
    expect(text).toStartWith("[tool error]");
    expect(text).toContain("OSError");
  });

  test("fork does not exist", async () => {
    const text = await run("import os\nos.fork()");
    expect(text).toStartWith("[tool error]");
    expect(text).toMatch(/AttributeError|OSError/);
  });

  test("import js / pyodide_js and the ways back to them are cut", async () => {
    expect(await run("import js")).toContain("ModuleNotFoundError: No module named 'js'");
    expect(await run("import pyodide_js\npyodide_js.mountNodeFS('/host', '/etc')")).toContain(
      "ModuleNotFoundError: No module named 'pyodide_js'",
    );
    expect(await run("from pyodide.code import run_js\nrun_js('process.pid')")).toContain("No module named 'js'");
    // A JsProxy's constructor chain no longer reaches Function.
    expect(await run("from pyodide.ffi import to_js\nprint(to_js([1]).constructor.constructor)")).toBe(
      "stdout:\nNone\n",
    );
    // Reviving the JS import hook from the GC finds nothing to import.
    const revived = await run(
      [
        "import gc, sys",
        "finders = [o for o in gc.get_objects() if type(o).__name__ == 'JsFinder']",
        "for f in finders: sys.meta_path.insert(0, f)",
        "import pyodide_js",
      ].join("\n"),
    );
    expect(revived).toContain("No module named 'pyodide_js'");
    // emscripten_run_script calls eval(), which is a no-op.
    expect(
      await run(
        `import ctypes\nctypes.CDLL(None).emscripten_run_script(b"require('fs').writeFileSync('${sentinel}', 'x')")\n'survived'`,
      ),
    ).toContain("survived");
  });

  test("socket connect reaches no host port (and urllib neither)", async () => {
    const port = listener.port;
    const text = await run(`import socket\ns = socket.create_connection(('127.0.0.1', ${port}), timeout=1)`);
    expect(text).toStartWith("[tool error]");
    expect(text).toContain("OSError");
    const viaUrllib = await run(
      `import urllib.request\nurllib.request.urlopen('http://127.0.0.1:${port}/', timeout=1)`,
    );
    expect(viaUrllib).toStartWith("[tool error]");
    await Bun.sleep(200);
    expect(connections).toBe(0);
  });

  test(
    "socket listen opens no host port: the worker dies cleanly, the session goes on in a fresh one",
    async () => {
      const text = await run(
        "import socket\ns = socket.socket()\ns.bind(('127.0.0.1', 18089))\ns.listen()\n'listening'",
      );
      expect(text).toStartWith("[tool error]");
      expect(text).not.toContain("listening");
      const probe = await Bun.connect({ hostname: "127.0.0.1", port: 18089, socket: { data: () => {} } }).then(
        (s) => {
          s.end();
          return "connected";
        },
        () => "refused",
      );
      expect(probe).toBe("refused");
      expect(await run("'alive'")).toBe("stdout:\n'alive'\n");
    },
    SLOW,
  );

  test(
    "while True: pass is stopped at the wall-clock timeout and the pool recovers",
    async () => {
      const started = performance.now();
      const text = await run("while True: pass");
      const took = performance.now() - started;
      expect(text).toBe(
        `[tool error] execution timed out after ${TIMEOUT_S} s; the sandbox was restarted, so variables and imports from earlier calls are gone`,
      );
      expect(took).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 - 50);
      expect(took).toBeLessThan(TIMEOUT_S * 1000 + 2_000);
      expect(await run("secret")).toContain("NameError");
      expect(await run("6 * 7")).toBe("stdout:\n42\n");
    },
    SLOW,
  );

  test("SystemExit, sys.exit and os._exit become return codes", async () => {
    expect(await run("raise SystemExit(3)")).toBe("[tool error] return_code: 3");
    expect(await run("import sys\nprint('bye')\nsys.exit()")).toBe("stdout:\nbye\n");
    expect(await run("import sys\nsys.exit('fatal: stop')")).toBe(
      "[tool error] stderr:\nfatal: stop\n\nreturn_code: 1",
    );
    expect(await run("raise KeyboardInterrupt")).toContain("KeyboardInterrupt");
    expect(await run("'still here'")).toBe("stdout:\n'still here'\n");
  });

  test(
    "os._exit ends the worker with its code; the next call gets a fresh one",
    async () => {
      expect(await run("import os\nprint('going')\nos._exit(4)")).toBe("[tool error] stdout:\ngoing\n\nreturn_code: 4");
      expect(await run("1 + 1")).toBe("stdout:\n2\n");
    },
    SLOW,
  );

  test("allocating 10 GB is Python's OverflowError; 1.5 GB under the 256 MB cap is a MemoryError", async () => {
    // A sandbox of its own with a wall clock far above the allocations' time: on a loaded machine, filling 256 MB
    // took longer than the suite's 3 s, and a timeout here would hide whether the cap answered MemoryError.
    const roomy = new EmbeddedSandbox({ timeoutS: 60, memoryMb: 256, spares: 0 });
    const own = await roomy.openSession();
    try {
      expect(await own.run({ code: "bytearray(10 * 1024**3)" })).toContain("OverflowError");
      expect(await own.run({ code: "x = bytearray(1536 * 1024**2)" })).toContain("MemoryError");
      const chunks = "chunks = []\nfor _ in range(8): chunks.append(bytearray(64 * 1024**2))";
      expect(await own.run({ code: chunks })).toContain("MemoryError");
      expect(await own.run({ code: "del chunks\n'recovered'" })).toBe("stdout:\n'recovered'\n");
    } finally {
      await own.close();
      await roomy.shutdown();
    }
  });
});

describe("embedded sandbox: Pyodide's internals reach no host file (the worker is confined)", () => {
  test("the known path, sys.modules['pyodide_js._api'] + run_sync(loadBinaryFile), finds no internal API", async () => {
    const text = await run(
      readEach('sys.modules["pyodide_js._api"].loadBinaryFile(path)', [secretFile, `/proc/${process.pid}/cmdline`]),
    );
    expect(text).not.toContain("sk-planted");
    expect(text).not.toContain("READ");
    expect(text).toContain(`refused ${secretFile} AttributeError`);
  });

  test(
    "the real internal API, reached another way, gets EPERM from the OS for every host path, as a Python exception; the worker lives on",
    async () => {
      expect(await run("kept = 'state'")).toBe("(no output)");
      const paths = [
        secretFile,
        `/proc/${process.pid}/cmdline`,
        `/proc/${process.pid}/environ`,
        "/etc/hostname",
        hostDir,
      ];
      const text = await run(REACH_API + readEach("API.loadBinaryFile(path)", paths));
      expect(text).toStartWith("stdout:\nreached: True\n");
      expect(text).not.toContain("sk-planted");
      expect(text).not.toContain("READ");
      for (const path of paths)
        expect(text).toContain(`refused ${path} JsException Error: EPERM: operation not permitted, open '${path}'`);
      // The same worker answers: the session's variables are still there.
      expect(await run("kept")).toBe("stdout:\n'state'\n");
    },
    SLOW,
  );

  test("Pyodide's own mounts and package loading through that API reach no host file either", async () => {
    const text = await run(
      `${REACH_API}
for label, f in [("mountNodeFS", lambda: API.public_api.mountNodeFS("/host", ${JSON.stringify(hostDir)})),
                 ("loadPackage", lambda: _pyodide_core.run_sync(API.public_api.loadPackage("micropip"))),
                 ("loadDynlib", lambda: _pyodide_core.run_sync(API.loadDynlib(${JSON.stringify(secretFile)}, True)))]:
    try:
        f()
        print(label, "returned")
    except Exception as e:
        print(label, type(e).__name__)
import os
print(sorted(os.listdir("/host")) if os.path.exists("/host") else "no /host")`,
    );
    expect(text).not.toContain("sk-planted");
    expect(text).not.toContain("config.yml");
  });

  test("every thread of the worker runs under the seccomp filter, with no_new_privs", async () => {
    await run("1");
    const [pid] = backend.workers.pids();
    const tasks = readdirSync(`/proc/${pid}/task`);
    expect(tasks.length).toBeGreaterThan(1);
    for (const tid of tasks) {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8");
      expect(status).toMatch(/\nSeccomp:\s+2\n/);
      expect(status).toMatch(/\nNoNewPrivs:\s+1\n/);
    }
  });

  test("the JS objects Python can still reach from its modules are the event loop's timer and an empty package list", async () => {
    // A session of its own: the others' namespaces hold what they reached.
    const fresh = await backend.openSession();
    const text = await fresh.run({
      code: `
import gc, sys
from pyodide.ffi import JsProxy
reach = set()
for name, module in list(sys.modules.items()):
    if isinstance(module, JsProxy):
        reach.add("module " + name)
        continue
    for attr in dir(module):
        try:
            value = getattr(module, attr)
        except BaseException:
            continue
        if isinstance(value, JsProxy):
            reach.add(name + "." + attr)
for o in gc.get_objects():
    if isinstance(o, dict):
        for k, v in list(o.items()):
            if isinstance(v, JsProxy):
                reach.add("dict " + str(k))
print(sorted(reach))`,
    });
    await fresh.close();
    expect(text).toBe(
      "stdout:\n['dict loadedPackages', 'dict scheduleCallback', 'pyodide._package_loader.loadedPackages', 'pyodide.webloop.scheduleCallback']\n",
    );
  });

  test("js through other modules, pyodide.http, pyodide.code and ctypes reach nothing", async () => {
    const text = await run(`
import sys
print([n for n, m in sys.modules.items() if n in ("js", "pyodide_js") or getattr(m, "__name__", "") in ("js", "pyodide_js")])
for label, code in [
    ("run_js", "from pyodide.code import run_js; run_js('1')"),
    ("pyfetch", "import pyodide.http, asyncio; asyncio.run(pyodide.http.pyfetch('file://${secretFile}'))"),
    ("open_url", "import pyodide.http; pyodide.http.open_url('file://${secretFile}')"),
    ("ctypes libc", "import ctypes; ctypes.CDLL('libc.so.6')"),
    ("ctypes system", "import ctypes; print(ctypes.CDLL(None).system(b'cat ${secretFile} > ${sentinel}'))"),
]:
    try:
        exec(code, {})
        print(label, "returned")
    except BaseException as e:
        print(label, type(e).__name__)
`);
    expect(text).toStartWith("stdout:\n[]\n");
    expect(text).not.toContain("sk-planted");
    for (const label of ["run_js", "pyfetch", "open_url", "ctypes libc"])
      expect(text).not.toContain(`${label} returned`);
  });

  test("host paths from Python: reads, listings, writes, unlinks and renames touch only the in-memory filesystem", async () => {
    const text = await run(`
import os
for label, f in [("open", lambda: open(${JSON.stringify(secretFile)}).read()),
                 ("os.open", lambda: os.open(${JSON.stringify(secretFile)}, os.O_RDONLY)),
                 ("listdir", lambda: os.listdir(${JSON.stringify(hostDir)})),
                 ("unlink", lambda: os.unlink(${JSON.stringify(secretFile)})),
                 ("rename", lambda: os.rename(${JSON.stringify(secretFile)}, ${JSON.stringify(`${secretFile}.moved`)})),
                 ("write", lambda: open(${JSON.stringify(secretFile)}, "w").write("pwned"))]:
    try:
        print(label, "returned", f())
    except OSError as e:
        print(label, type(e).__name__)
os.makedirs(${JSON.stringify(hostDir)}, exist_ok=True)
open(${JSON.stringify(secretFile)}, "w").write("pwned")
os.rename(${JSON.stringify(secretFile)}, ${JSON.stringify(`${secretFile}.moved`)})
print(sorted(os.listdir(${JSON.stringify(hostDir)})))`);
    for (const label of ["open", "os.open", "listdir", "unlink", "rename", "write"])
      expect(text).toContain(`${label} FileNotFoundError`);
    expect(text).toContain("['config.yml.moved']");
    expect(text).not.toContain("sk-planted");
  });

  test("signals to the gateway, exec and spawn fail as Python errors", async () => {
    const text = await run(`
import os, signal
for label, f in [("kill", lambda: os.kill(${process.pid}, signal.SIGKILL)),
                 ("killpg", lambda: os.killpg(0, signal.SIGKILL)),
                 ("execv", lambda: os.execv("/bin/sh", ["sh", "-c", "touch ${sentinel}"])),
                 ("posix_spawn", lambda: os.posix_spawn("/bin/sh", ["sh", "-c", "touch ${sentinel}"], {})),
                 ("popen", lambda: os.popen("touch ${sentinel}").read())]:
    try:
        print(label, "returned", repr(f()))
    except Exception as e:
        print(label, type(e).__name__)`);
    for (const label of ["kill", "killpg", "execv", "posix_spawn", "popen"])
      expect(text).not.toContain(`${label} returned`);
  });
});

describe("embedded sandbox: the worker process itself, confined", () => {
  test("whatever it reaches, Bun refuses host files, programs, sockets and other processes; timers, threads and memory work", () => {
    const fixture = new URL("./fixtures/confined-attempts.ts", import.meta.url).pathname;
    const res = Bun.spawnSync([process.execPath, fixture, secretFile, hostDir, String(process.pid)], {
      stdout: "pipe",
      stderr: "pipe",
      cwd: "/",
    });
    expect(res.stderr.toString()).toBe("");
    const results = JSON.parse(res.stdout.toString()) as Record<string, string>;
    const refused = [
      "readFileSync",
      "readFile",
      "Bun.file",
      "open for writing",
      "writeFileSync",
      "unlink",
      "rename",
      "stat",
      "readdir",
      "proc cmdline",
    ];
    for (const name of [...refused, "spawn", "fetch", "signal another process"])
      expect([name, results[name]]).toEqual([name, "EPERM"]);
    expect(results.listen).not.toStartWith("ok");
    expect(results).toMatchObject({
      "signal itself": "ok: true",
      timer: "ok: tick",
      thread: "ok: 42",
      "allocation and GC": "ok: 32",
    });
    expect(results["wasm memory growth"]).toStartWith("ok: ");
    expect(readFileSync(secretFile, "utf8")).toBe(SECRET);
    expect(readdirSync(hostDir)).toEqual(["config.yml"]);
  });

  test(
    "where seccomp is refused, the probe says why and the worker fails closed; --allow-unconfined runs code",
    async () => {
      const without = [process.execPath, new URL("./fixtures/without-seccomp.ts", import.meta.url).pathname];
      const probe = Bun.spawnSync([...without, ...workerCommand(), "--probe-confinement"], {
        stdout: "pipe",
        stderr: "pipe",
      });
      expect(probe.exitCode).toBe(1);
      expect(probe.stderr.toString()).toContain("seccomp(SET_MODE_FILTER) failed (errno 1)");

      const worker = (extra: string[]) =>
        Bun.spawn([...without, ...workerCommand(), ...extra], {
          stdin: "pipe",
          stdout: "pipe",
          stderr: "pipe",
          cwd: "/",
          env: {},
        });
      const strict = worker([]);
      strict.stdin.end();
      expect(await strict.exited).toBe(1);
      expect(await new Response(strict.stdout).text()).toBe(
        `${JSON.stringify({ type: "fatal", message: "sandbox failed to start: the worker could not confine itself with seccomp (seccomp(SET_MODE_FILTER) failed (errno 1))" })}\n`,
      );

      const lenient = worker(["--allow-unconfined"]);
      lenient.stdin.write(`${JSON.stringify({ id: 1, code: "6 * 7" })}\n`);
      lenient.stdin.end();
      expect(await lenient.exited).toBe(0);
      const lines = (await new Response(lenient.stdout).text())
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines[0]?.type).toBe("ready");
      expect(lines[1]).toMatchObject({ type: "result", id: 1, stdout: "42\n", returnCode: 0 });
      expect(await new Response(lenient.stderr).text()).toContain(
        "sandbox worker running unconfined (allowed by the operator)",
      );
    },
    SLOW,
  );
});

describe("embedded sandbox: isolation between sessions and from the host", () => {
  test(
    "variables and module state do not cross sessions (the worker is recycled)",
    async () => {
      const a = await backend.openSession();
      expect(await a.run({ code: "import math\nmath.pi = 3\nleak = 'a'" })).toBe("(no output)");
      await a.close();
      const b = await backend.openSession();
      expect(await b.run({ code: "import math\nmath.pi" })).toBe("stdout:\n3.141592653589793\n");
      expect(await b.run({ code: "leak" })).toContain("NameError");
      await b.close();
    },
    SLOW,
  );

  test("the worker runs under the detected OS limits, namespace and user", async () => {
    await run("1");
    const isolation = detectIsolation([]);
    expect(isolation.confinement).toEqual({ available: true });
    const pids = backend.workers.pids();
    expect(pids.length).toBeGreaterThan(0);
    const pid = pids[0]!;
    const limits = readFileSync(`/proc/${pid}/limits`, "utf8");
    if (isolation.limits !== "none") {
      expect(limits).toMatch(/Max open files\s+64\s+64/);
      expect(limits).toMatch(/Max address space\s+\d+/);
      expect(limits).toMatch(/Max cpu time\s+\d+/);
      expect(limits).toMatch(/Max file size\s+0\s+0/);
    }
    if (isolation.netns !== "none")
      expect(readlinkSync(`/proc/${pid}/ns/net`)).not.toBe(readlinkSync("/proc/self/ns/net"));
    if (isolation.setpriv?.some((a) => a.startsWith("--reuid"))) {
      expect(readFileSync(`/proc/${pid}/status`, "utf8")).toMatch(/Uid:\s+65534\s/);
    }
    // The gateway's environment (secrets) does not reach the worker.
    expect(readFileSync(`/proc/${pid}/environ`, "utf8")).not.toMatch(/(^|\0)PATH=/);
  });

  test("the gateway process is unharmed", () => {
    expect(typeof process.pid).toBe("number");
    expect(Function.prototype.constructor).toBe(Function);
    expect(globalThis.fetch).toBeFunction();
  });
});
