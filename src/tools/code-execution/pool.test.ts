/** The warm pool and the session life cycle, on a stand-in worker that speaks the protocol without Python. */
import { afterEach, describe, expect, test } from "bun:test";
import { EmbeddedSandbox } from "./embedded";
import type { SandboxIsolation } from "./os-limits";
import { WorkerProcess } from "./worker-process";

const FAKE = new URL("./fixtures/fake-worker.ts", import.meta.url).pathname;
const NONE: SandboxIsolation = {
  limits: "none",
  netns: "none",
  setpriv: null,
  bin: { prlimit: "", sh: "/bin/sh", unshare: "" },
  confinement: { available: true },
};
/** A host where workers could not install their seccomp filter. */
const NO_SECCOMP: SandboxIsolation = {
  ...NONE,
  confinement: { available: false, reason: "seccomp(SET_MODE_FILTER) failed (errno 1)" },
};

const backends: EmbeddedSandbox[] = [];
interface FakeOptions {
  spares?: number;
  idleMs?: number;
  maxProcesses?: number;
  timeoutS?: number;
  queueTimeoutS?: number;
  requireConfinement?: boolean;
  isolation?: SandboxIsolation;
}

function fake(mode = "0", opts: FakeOptions = {}) {
  const backend = new EmbeddedSandbox({
    timeoutS: opts.timeoutS ?? 5,
    queueTimeoutS: opts.queueTimeoutS,
    memoryMb: 256,
    spares: opts.spares ?? 1,
    idleMs: opts.idleMs ?? 60_000,
    maxProcesses: opts.maxProcesses ?? 8,
    startTimeoutMs: 5_000,
    isolation: opts.isolation ?? NONE,
    requireConfinement: opts.requireConfinement,
    command: [process.execPath, FAKE, mode],
  });
  backends.push(backend);
  return backend;
}

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await Bun.sleep(10);
  }
}

afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.shutdown()));
});

describe("sandbox pool", () => {
  test("empty until first use, then keeps the spares warm; a used worker is recycled, not reused", async () => {
    const backend = fake("0", { spares: 2 });
    // Constructing the backend starts nothing.
    expect(backend.workers.size).toBe(0);
    const session = await backend.openSession();
    expect(await session.run({ code: "hello" })).toBe("stdout:\nhello\n");
    await until(() => backend.workers.spareCount === 2);
    const before = backend.workers.pids();
    await session.close();
    await until(() => backend.workers.size === 2);
    // The session's worker is gone; the two spares remain.
    expect(backend.workers.pids().every((pid) => before.includes(pid))).toBe(true);
    expect(backend.workers.startedCount).toBe(3);
  });

  test("a session that never ran code hands its worker back as a spare", async () => {
    const backend = fake("0", { spares: 1 });
    const first = await backend.openSession();
    await until(() => backend.workers.size === 2);
    await Bun.sleep(50);
    await first.close();
    await Bun.sleep(50);
    const second = await backend.openSession();
    expect(await second.run({ code: "x" })).toBe("stdout:\nx\n");
    await second.close();
    expect(backend.workers.startedCount).toBe(2);
  });

  test("spares are stopped after the idle time (empty at idle)", async () => {
    const backend = fake("0", { spares: 2, idleMs: 300 });
    const session = await backend.openSession();
    await session.run({ code: "a" });
    await session.close();
    await until(() => backend.workers.size === 0, 3_000);
  });

  test("at most maxProcesses workers: a further session waits for one to end", async () => {
    const backend = fake("0", { spares: 0, maxProcesses: 1 });
    const a = await backend.openSession();
    expect(await a.run({ code: "a" })).toBe("stdout:\na\n");
    let bDone = false;
    const b = backend.openSession().then(async (s) => {
      const text = await s.run({ code: "b" });
      bDone = true;
      await s.close();
      return text;
    });
    await Bun.sleep(150);
    expect(bDone).toBe(false);
    expect(backend.workers.size).toBe(1);
    await a.close();
    expect(await b).toBe("stdout:\nb\n");
  });

  test("a call waits at most the queue timeout for a worker, keeps its place in line, and gets the next free one", async () => {
    const backend = fake("0", { spares: 0, maxProcesses: 1, queueTimeoutS: 0.3 });
    const a = await backend.openSession();
    expect(await a.run({ code: "a" })).toBe("stdout:\na\n");
    const b = await backend.openSession();
    const started = performance.now();
    expect(await b.run({ code: "b" })).toBe(
      "[tool error] the sandbox is busy: no sandbox worker came free within 0.3 s (1 run at once at most); try again later",
    );
    expect(performance.now() - started).toBeLessThan(5_000);
    await a.close();
    expect(await b.run({ code: "b again" })).toBe("stdout:\nb again\n");
    await b.close();
  });

  test("closing a session that waits in line returns at once and takes it out of the line", async () => {
    const backend = fake("0", { spares: 0, maxProcesses: 1, queueTimeoutS: 30 });
    const a = await backend.openSession();
    expect(await a.run({ code: "a" })).toBe("stdout:\na\n");
    const waiting = await backend.openSession();
    const third = await backend.openSession();
    const started = performance.now();
    await waiting.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    await a.close();
    // The freed worker goes to the session still in line, not to the closed one.
    expect(await third.run({ code: "third" })).toBe("stdout:\nthird\n");
    await third.close();
    expect(backend.workers.startedCount).toBe(2);
  });

  test("where workers cannot confine themselves, code is refused unless the operator opted out; nothing is started", async () => {
    const strict = fake("0", { spares: 1, isolation: NO_SECCOMP });
    const session = await strict.openSession();
    const text = await session.run({ code: "x" });
    expect(text).toStartWith("[tool error] the sandbox could not start: code execution is off on this gateway");
    expect(text).toContain("cannot confine themselves with seccomp here (seccomp(SET_MODE_FILTER) failed (errno 1))");
    expect(text).toContain("GATEWAY_SANDBOX_REQUIRE_CONFINEMENT=false");
    await session.close();
    expect(strict.workers.startedCount).toBe(0);
    const optedOut = await fake("0", { spares: 0, isolation: NO_SECCOMP, requireConfinement: false }).openSession();
    expect(await optedOut.run({ code: "x" })).toBe("stdout:\nx\n");
    await optedOut.close();
  });

  test("a worker that dies mid-call gives a [tool error] and the session goes on with a fresh one", async () => {
    const backend = fake("0", { spares: 1 });
    const session = await backend.openSession();
    const crashed = await session.run({ code: "crash" });
    expect(crashed).toStartWith("[tool error] the sandbox process exited with code 9");
    expect(crashed).toContain("the sandbox was restarted");
    expect(await session.run({ code: "again" })).toBe("stdout:\nagain\n");
    await session.close();
  });

  test("wall-clock timeout kills the worker; the next call works", async () => {
    const backend = fake("0", { spares: 1, timeoutS: 0.3 });
    const session = await backend.openSession();
    const started = performance.now();
    expect(await session.run({ code: "sleep:5000" })).toStartWith("[tool error] execution timed out after 0.3 s");
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(await session.run({ code: "after" })).toBe("stdout:\nafter\n");
    await session.close();
  });

  test("a worker that cannot start gives a [tool error], without a restart loop", async () => {
    const backend = fake("fail", { spares: 2 });
    const session = await backend.openSession();
    const text = await session.run({ code: "x" });
    expect(text).toStartWith("[tool error] the sandbox could not start: the sandbox process exited with code 3");
    expect(text).toContain("broken install");
    await session.close();
    await Bun.sleep(300);
    // The session's worker and the first two spares; nothing respawned them.
    expect(backend.workers.startedCount).toBe(3);
    expect(backend.workers.size).toBe(0);
  });

  test("calls of one session run one at a time; bad arguments are a [tool error]", async () => {
    const backend = fake("0", { spares: 0 });
    const session = await backend.openSession();
    const texts = await Promise.all([
      session.run({ code: "sleep:100" }),
      session.run({ code: "second" }),
      session.run({ nope: 1 }),
    ]);
    expect(texts).toEqual([
      "stdout:\nsleep:100\n",
      "stdout:\nsecond\n",
      "[tool error] missing 'code': pass the Python source as a string",
    ]);
    await session.close();
  });

  test("the RSS watchdog kills a worker whose resident memory passes its limit", async () => {
    const worker = new WorkerProcess({
      argv: [process.execPath, FAKE, "0"],
      timeoutS: 10,
      rssLimitBytes: 150 * 1024 * 1024,
      startTimeoutMs: 5_000,
    });
    await worker.ready;
    const outcome = await worker.exec("alloc:400");
    expect(outcome).toEqual({ kind: "died", reason: "memory limit exceeded (resident memory over 150 MiB)" });
    expect(worker.alive).toBe(false);
    await worker.exitedPromise;
  });

  test("a worker that floods its reply channel without a newline is killed before the gateway buffers it all", async () => {
    const worker = new WorkerProcess({
      argv: [process.execPath, FAKE, "0"],
      timeoutS: 30,
      rssLimitBytes: 4 * 1024 ** 3,
      startTimeoutMs: 5_000,
    });
    await worker.ready;
    expect(await worker.exec("flood:64")).toEqual({ kind: "died", reason: "sent an oversized reply" });
    await worker.exitedPromise;
  });

  test("closing a session ends a running call at once", async () => {
    const backend = fake("0", { spares: 0, timeoutS: 30 });
    const session = await backend.openSession();
    const running = session.run({ code: "sleep:20000" });
    await Bun.sleep(200);
    const started = performance.now();
    await session.close();
    expect(await running).toStartWith("[tool error] session ended");
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
