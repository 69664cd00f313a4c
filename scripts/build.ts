/**
 * Builds the single-file binary dist/gateway (TRIALS §3):
 *   bun build --compile --minify --bytecode --format=esm src/main.ts --outfile dist/gateway
 * `--bytecode` without `--format=esm` prints "Failed to generate bytecode" yet exits 0 and writes a binary that
 * crashes at start, so success is judged by the exit status, the output, AND the new binary answering `--help`.
 * Docs UI assets (src/http/docs/assets.ts) and migrations are embedded; nothing ships beside the binary.
 * Never `strip` the result: that removes the embedded app.
 *
 * Usage: bun scripts/build.ts [--outfile PATH] [--target bun-linux-x64|bun-linux-x64-musl|...]
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const outfile = resolve(root, option("outfile") ?? "dist/gateway");
const target = option("target");

const args = [
  "build",
  "--compile",
  "--minify",
  "--bytecode",
  "--format=esm",
  "--sourcemap=none",
  // Fixed asset names (no hash): an embedded Pyodide reads its wasm at a fixed path (TRIALS A2); keep base names unique.
  "--asset-naming=[name].[ext]",
  ...(target ? [`--target=${target}`] : []),
  "src/main.ts",
  "--outfile",
  outfile,
];

mkdirSync(dirname(outfile), { recursive: true });
rmSync(outfile, { force: true });
const started = performance.now();
// Bun inlines process.env.NODE_ENV at build time: pin it, or a build started by `bun test` (NODE_ENV=test) ships a
// binary whose consola thinks it runs under test and hides info output.
const build = Bun.spawnSync([process.execPath, ...args], { cwd: root, stdout: "pipe", stderr: "pipe", env: { ...process.env, NODE_ENV: "production" } });
const output = `${build.stdout.toString()}${build.stderr.toString()}`;
process.stdout.write(output);
if (build.exitCode !== 0) {
  console.error(`build failed: bun build exited with ${build.exitCode}`);
  process.exit(1);
}
if (/error:/i.test(output)) {
  console.error("build failed: bun build reported an error (a failed bytecode step still exits 0)");
  process.exit(1);
}
if (!existsSync(outfile)) {
  console.error(`build failed: ${outfile} was not written`);
  process.exit(1);
}

// A cross-compiled binary cannot run here; a native one must answer --help and build its OpenAPI document (the
// embedded app and consola output) from an unrelated directory.
if (!target || target === `bun-${process.platform}-${process.arch}`) {
  const scratch = mkdtempSync(join(tmpdir(), "gw-build-"));
  const smoke = (args: string[], expect: string) => {
    const res = Bun.spawnSync([outfile, ...args], { cwd: scratch, stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
    const text = `${res.stdout.toString()}${res.stderr.toString()}`;
    if (res.exitCode === 0 && text.includes(expect)) return;
    console.error(`build failed: ${outfile} ${args.join(" ")} exited with ${res.exitCode}:\n${text}`);
    rmSync(outfile, { force: true });
    process.exit(1);
  };
  try {
    smoke(["--help"], "serve");
    smoke(["openapi", "--write", "openapi.json"], "Wrote openapi.json");
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const mb = (statSync(outfile).size / 1e6).toFixed(1);
console.log(`built ${outfile} (${mb} MB) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
