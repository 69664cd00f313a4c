/**
 * The embedded sandbox for real: Pyodide in `bun src/main.ts sandbox-worker` children under this host's OS
 * wrappers. Each escape path of TRIALS A3 is tried and must end as a clean `[tool error]` or its ordinary Python
 * error, with nothing happening on the host (no sentinel file, no connection to a local listener) and the
 * gateway process unharmed. One backend (pool of 2 spares) serves the whole file so workers start once or twice.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ToolSession } from "../types";
import { EmbeddedSandbox } from "./embedded";
import { detectIsolation } from "./os-limits";

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

beforeAll(() => {
  backend = new EmbeddedSandbox({ timeoutS: TIMEOUT_S, memoryMb: 256, spares: 2 });
  dir = mkdtempSync(join(tmpdir(), "sandbox-escape-"));
  sentinel = join(dir, "pwned");
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
});

/** Runs in the shared session; the sentinel and listener must stay untouched whatever the code did. */
async function run(code: string): Promise<string> {
  session ??= await backend.openSession();
  const text = await session.run({ code });
  expect(existsSync(sentinel)).toBe(false);
  expect(connections).toBe(0);
  return text;
}

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
    expect(await run("print('partial')\nprint('oops', file=__import__('sys').stderr)")).toBe("stdout:\npartial\n\nstderr:\noops\n");
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

describe("embedded sandbox: TRIALS A3 escapes", () => {
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
    expect(await run("import pyodide_js\npyodide_js.mountNodeFS('/host', '/etc')")).toContain("ModuleNotFoundError: No module named 'pyodide_js'");
    expect(await run("from pyodide.code import run_js\nrun_js('process.pid')")).toContain("No module named 'js'");
    // A JsProxy's constructor chain no longer reaches Function.
    expect(await run("from pyodide.ffi import to_js\nprint(to_js([1]).constructor.constructor)")).toBe("stdout:\nNone\n");
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
    expect(await run(`import ctypes\nctypes.CDLL(None).emscripten_run_script(b"require('fs').writeFileSync('${sentinel}', 'x')")\n'survived'`)).toContain(
      "survived",
    );
  });

  test("socket connect reaches no host port (and urllib neither)", async () => {
    const port = listener.port;
    const text = await run(`import socket\ns = socket.create_connection(('127.0.0.1', ${port}), timeout=1)`);
    expect(text).toStartWith("[tool error]");
    expect(text).toContain("OSError");
    const viaUrllib = await run(`import urllib.request\nurllib.request.urlopen('http://127.0.0.1:${port}/', timeout=1)`);
    expect(viaUrllib).toStartWith("[tool error]");
    await Bun.sleep(200);
    expect(connections).toBe(0);
  });

  test(
    "socket listen opens no host port: the worker dies cleanly, the session goes on in a fresh one",
    async () => {
      const text = await run("import socket\ns = socket.socket()\ns.bind(('127.0.0.1', 18089))\ns.listen()\n'listening'");
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
    expect(await run("import sys\nsys.exit('fatal: stop')")).toBe("[tool error] stderr:\nfatal: stop\n\nreturn_code: 1");
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
    expect(await run("bytearray(10 * 1024**3)")).toContain("OverflowError");
    expect(await run("x = bytearray(1536 * 1024**2)")).toContain("MemoryError");
    expect(await run("chunks = []\nfor _ in range(8): chunks.append(bytearray(64 * 1024**2))")).toContain("MemoryError");
    expect(await run("del chunks\n'recovered'")).toBe("stdout:\n'recovered'\n");
  });
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
    if (isolation.netns !== "none") expect(readlinkSync(`/proc/${pid}/ns/net`)).not.toBe(readlinkSync("/proc/self/ns/net"));
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
