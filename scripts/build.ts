/**
 * Builds the single-file binary dist/gateway (TRIALS §3) with the flags in scripts/_compile.ts:
 *   bun build --compile --minify --bytecode --format=esm --splitting ... src/main.ts --outfile dist/gateway
 * in two passes: a first binary records which bytecode a start uses, the second is laid out by it (_compile.ts).
 * A binary this machine can run must also answer `--help` and write its OpenAPI document (see _compile.ts).
 * Release binaries for every platform: scripts/release.ts.
 *
 * Usage: bun scripts/build.ts [--outfile PATH] [--target bun-linux-x64|bun-linux-x64-musl|...]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileGateway, recordBytecodeOrder } from "./_compile";

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const started = performance.now();
const scratch = mkdtempSync(join(tmpdir(), "gw-order-"));
const result = await recordBytecodeOrder(scratch)
  .then((bytecodeOrder) =>
    compileGateway({ outfile: option("outfile") ?? "dist/gateway", target: option("target"), bytecodeOrder }),
  )
  .catch((err: unknown) => ({
    ok: false as const,
    output: "",
    error: err instanceof Error ? err.message : String(err),
  }))
  .finally(() => rmSync(scratch, { recursive: true, force: true }));
process.stdout.write(result.output);
if (!result.ok) {
  console.error(`build failed: ${result.error}`);
  process.exit(1);
}
console.log(
  `built ${result.outfile} (${(result.bytes / 1e6).toFixed(1)} MB) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
