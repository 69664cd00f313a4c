/**
 * The one way this repo compiles the gateway binary (TRIALS §3), shared by scripts/build.ts (dist/gateway) and
 * scripts/release.ts (one binary per platform):
 *   bun build --compile --minify --bytecode --format=esm --sourcemap=none --asset-naming=[name].[ext] src/main.ts
 * `--bytecode` without `--format=esm` prints "Failed to generate bytecode" yet exits 0 and writes a binary that
 * crashes at start, so success is judged by the exit status, the output, AND (for a binary this machine can run)
 * the new binary answering `--help` and writing its OpenAPI document from an unrelated directory.
 * Docs UI assets and migrations are embedded; nothing ships beside the binary. Never `strip` the result: that
 * removes the embedded app.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "..");
export const ENTRY = "src/main.ts";
/** Worker threads are separate entry points of a standalone executable (Bun's docs: "Worker"). */
export const WORKER_ENTRIES = ["src/services/governance/sqlite-usage-worker.ts"];

/** The `bun build` arguments (without the bun executable); `target` is a Bun target such as `bun-linux-arm64-musl`. */
export function compileArgs(outfile: string, target?: string): string[] {
  return [
    "build",
    "--compile",
    "--minify",
    "--bytecode",
    "--format=esm",
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
      const res = Bun.spawnSync([outfile, ...args], { cwd: scratch, stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
      const text = `${res.stdout.toString()}${res.stderr.toString()}`;
      if (res.exitCode !== 0 || !text.includes(expect)) return `${outfile} ${args.join(" ")} exited with ${res.exitCode}:\n${text}`;
    }
    return null;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Compiles src/main.ts into `outfile` (for `target`, default the host). A failed build leaves no file behind.
 * Async so several cross builds can run side by side.
 */
export async function compileGateway(opts: { outfile: string; target?: string }): Promise<CompileResult> {
  const outfile = resolve(ROOT, opts.outfile);
  mkdirSync(dirname(outfile), { recursive: true });
  rmSync(outfile, { force: true });
  const started = performance.now();
  // Bun inlines process.env.NODE_ENV at build time: pin it, or a build started by `bun test` (NODE_ENV=test) ships a
  // binary whose consola thinks it runs under test and hides info output.
  const proc = Bun.spawn([process.execPath, ...compileArgs(outfile, opts.target)], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NODE_ENV: "production" },
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const output = `${out}${err}`;
  const result = (error?: string, smokeTested = false): CompileResult => {
    if (error) rmSync(outfile, { force: true });
    const bytes = !error && existsSync(outfile) ? statSync(outfile).size : 0;
    return { ok: !error, outfile, output, error, bytes, seconds: (performance.now() - started) / 1000, smokeTested };
  };
  if (code !== 0) return result(`bun build exited with ${code}`);
  if (/error:/i.test(output)) return result("bun build reported an error (a failed bytecode step still exits 0)");
  if (!existsSync(outfile)) return result(`${outfile} was not written`);
  if (!runsHere(opts.target)) return result();
  const smoke = smokeTest(outfile);
  return smoke ? result(`smoke test failed: ${smoke}`) : result(undefined, true);
}
