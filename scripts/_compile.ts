/**
 * The one way this repo compiles the gateway binary (TRIALS §3), shared by scripts/build.ts (dist/gateway) and
 * scripts/release.ts (one binary per platform):
 *   bun build --compile --minify --bytecode --format=esm --splitting --compile-jit-policy=100
 *             --bytecode-order=<profile> --sourcemap=none --asset-naming=[name].[ext] src/main.ts <workers>
 * `--bytecode` without `--format=esm` prints "Failed to generate bytecode" yet exits 0 and writes a binary that
 * crashes at start, so success is judged by the exit status, the output, AND (for a binary this machine can run)
 * the new binary answering `--help` and writing its OpenAPI document from an unrelated directory.
 * Memory at idle (scripts/idle-rss.ts): `--splitting` keeps what `serve` never imports (other commands, the tools' DOM
 * and Pyodide code) out of the module it loads; the JIT policy keeps run-once start-up code in the
 * interpreter until inference traffic arrives; the bytecode order profile, recorded by `recordBytecodeOrder` from a
 * run of the same sources, packs the bytecode a start touches together.
 * Docs UI assets and migrations are embedded; nothing ships beside the binary. Never `strip` the result: that
 * removes the embedded app.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "..");
export const ENTRY = "src/main.ts";
/** Worker threads are separate entry points of a standalone executable (Bun's docs: "Worker"). */
export const WORKER_ENTRIES = ["src/services/governance/sqlite-usage-worker.ts"];

/**
 * JavaScriptCore's tier-up thresholds are scaled by this until the first settled inference request
 * (src/runtime/engine.ts sets 1): code that runs once at start-up is not worth compiling, and the compilers' code
 * and output would stay resident.
 */
export const STARTUP_JIT_POLICY = 100;

/**
 * The `bun build` arguments (without the bun executable); `target` is a Bun target such as `bun-linux-arm64-musl`,
 * `bytecodeOrder` a profile from `recordBytecodeOrder` (any target may use one recorded on this machine).
 */
export function compileArgs(outfile: string, target?: string, bytecodeOrder?: string): string[] {
  return [
    "build",
    "--compile",
    "--minify",
    "--bytecode",
    "--format=esm",
    "--splitting",
    `--compile-jit-policy=${STARTUP_JIT_POLICY}`,
    ...(bytecodeOrder ? [`--bytecode-order=${bytecodeOrder}`] : []),
    "--sourcemap=none",
    // Fixed asset names (no hash): an embedded Pyodide reads its wasm at a fixed path (TRIALS A2); keep base names unique.
    "--asset-naming=[name].[ext]",
    ...(target ? [`--target=${target}`] : []),
    ENTRY,
    ...WORKER_ENTRIES,
    "--outfile",
    outfile,
  ];
}

/** True when a binary built for `target` runs on this machine (no target = the host). */
export function runsHere(target?: string): boolean {
  return !target || target === `bun-${process.platform}-${process.arch}`;
}

export interface CompileResult {
  ok: boolean;
  outfile: string;
  /** bun build's own stdout and stderr. */
  output: string;
  /** Why it failed, when it did. */
  error?: string;
  bytes: number;
  seconds: number;
  /** Whether the smoke test ran (only for binaries this machine can execute). */
  smokeTested: boolean;
}

/** Runs the binary from a scratch directory: it must answer --help and write its OpenAPI document. */
export function smokeTest(outfile: string): string | null {
  const scratch = mkdtempSync(join(tmpdir(), "gw-build-"));
  try {
    for (const [args, expect] of [
      [["--help"], "serve"],
      [["openapi", "--write", "openapi.json"], "Wrote openapi.json"],
    ] as const) {
      const res = Bun.spawnSync([outfile, ...args], {
        cwd: scratch,
        stdout: "pipe",
        stderr: "pipe",
        env: { ...process.env, NO_COLOR: "1" },
      });
      const text = `${res.stdout.toString()}${res.stderr.toString()}`;
      if (res.exitCode !== 0 || !text.includes(expect))
        return `${outfile} ${args.join(" ")} exited with ${res.exitCode}:\n${text}`;
    }
    return null;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Runs `bun build`; the error, if any, and bun's own output. A failed build leaves no file behind. */
async function bunBuild(
  outfile: string,
  target?: string,
  bytecodeOrder?: string,
): Promise<{ error?: string; output: string }> {
  mkdirSync(dirname(outfile), { recursive: true });
  rmSync(outfile, { force: true });
  // Bun inlines process.env.NODE_ENV at build time: pin it, or a build started by `bun test` (NODE_ENV=test) ships a
  // binary whose consola thinks it runs under test and hides info output.
  const proc = Bun.spawn([process.execPath, ...compileArgs(outfile, target, bytecodeOrder)], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NODE_ENV: "production" },
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  const output = `${out}${err}`;
  const error =
    code !== 0
      ? `bun build exited with ${code}`
      : /error:/i.test(output)
        ? "bun build reported an error (a failed bytecode step still exits 0)"
        : !existsSync(outfile)
          ? `${outfile} was not written`
          : undefined;
  if (error) rmSync(outfile, { force: true });
  return { error, output };
}

/**
 * Compiles src/main.ts into `outfile` (for `target`, default the host), laid out by `bytecodeOrder` when given.
 * A failed build leaves no file behind. Async so several cross builds can run side by side.
 */
export async function compileGateway(opts: {
  outfile: string;
  target?: string;
  bytecodeOrder?: string;
}): Promise<CompileResult> {
  const outfile = resolve(ROOT, opts.outfile);
  const started = performance.now();
  const { error, output } = await bunBuild(outfile, opts.target, opts.bytecodeOrder);
  const result = (error?: string, smokeTested = false): CompileResult => {
    if (error) rmSync(outfile, { force: true });
    const bytes = !error && existsSync(outfile) ? statSync(outfile).size : 0;
    return { ok: !error, outfile, output, error, bytes, seconds: (performance.now() - started) / 1000, smokeTested };
  };
  if (error) return result(error);
  if (!runsHere(opts.target)) return result();
  const smoke = smokeTest(outfile);
  return smoke ? result(`smoke test failed: ${smoke}`) : result(undefined, true);
}

function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

/**
 * Records the bytecode order profile into `dir` and returns its path: compiles a host binary without a profile,
 * runs `serve` on a fresh SQLite database with metrics on, waits for /health, creates a budget, a user and a key
 * (what scripts/idle-rss.ts measures), scrapes /metrics and stops it with SIGTERM (Bun writes the profile at exit).
 * Throws with the gateway's output when any step fails.
 */
export async function recordBytecodeOrder(dir: string): Promise<string> {
  const binary = join(dir, "gateway-unordered");
  const built = await bunBuild(binary);
  if (built.error) throw new Error(`${built.error}\n${built.output}`);
  const profile = join(dir, "bytecode-order.txt");
  const master = "bytecode-order-master-key-0123456789";
  const port = freePort();
  writeFileSync(
    join(dir, "config.yml"),
    [
      `database_url: "sqlite:///${join(dir, "gateway.db")}"`,
      `master_key: "${master}"`,
      "log_level: warning",
      "enable_metrics: true",
      "providers:",
      "  recorder:",
      "    provider_type: openai-compatible",
      '    api_base: "http://127.0.0.1:9/v1"',
      "pricing:",
      '  "recorder:model":',
      "    input_price_per_million: 1.0",
      "    output_price_per_million: 2.0",
    ].join("\n"),
  );
  // Only the written config counts: the builder's OTARI_/GATEWAY_ variables must not shape the run.
  const env: Record<string, string> = { BUN_BYTECODE_ORDER_OUT: profile, NO_COLOR: "1" };
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && !/^(OTARI_|GATEWAY_|DATABASE_URL$)/.test(key)) env[key] ??= value;
  const proc = Bun.spawn(
    [binary, "serve", "--config", join(dir, "config.yml"), "--host", "127.0.0.1", "--port", String(port)],
    { cwd: dir, env, stdout: "pipe", stderr: "pipe" },
  );
  const output = Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]).then(
    ([o, e]) => `${o}${e}`,
  );
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let deadline = performance.now() + 20_000; ; await Bun.sleep(10)) {
      if (proc.exitCode !== null || performance.now() > deadline) throw new Error("serve did not answer /health");
      if (
        await fetch(`${base}/health`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
    }
    const call = async (path: string, body?: unknown): Promise<Record<string, string>> => {
      const res = await fetch(base + path, {
        method: body === undefined ? "GET" : "POST",
        headers: { authorization: `Bearer ${master}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
      return path === "/metrics" ? {} : ((await res.json()) as Record<string, string>);
    };
    const budget = await call("/v1/budgets", { max_budget: 100 });
    await call("/v1/users", { user_id: "recorder", budget_id: budget.budget_id });
    await call("/v1/keys", { key_name: "recorder", user_id: "recorder" });
    await call("/metrics");
    proc.kill("SIGTERM");
    if ((await proc.exited) !== 0 || !existsSync(profile)) throw new Error("serve did not exit cleanly with a profile");
    return profile;
  } catch (err) {
    proc.kill("SIGKILL");
    await proc.exited;
    throw new Error(
      `recording the bytecode order failed: ${err instanceof Error ? err.message : String(err)}\n${await output}`,
    );
  }
}
