/**
 * Builds the single-file binary dist/gateway (TRIALS §3) with the flags in scripts/_compile.ts:
 *   bun build --compile --minify --bytecode --format=esm src/main.ts --outfile dist/gateway
 * A binary this machine can run must also answer `--help` and write its OpenAPI document (see _compile.ts).
 * Release binaries for every platform: scripts/release.ts.
 *
 * Usage: bun scripts/build.ts [--outfile PATH] [--target bun-linux-x64|bun-linux-x64-musl|...]
 */
import { compileGateway } from "./_compile";

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const result = await compileGateway({ outfile: option("outfile") ?? "dist/gateway", target: option("target") });
process.stdout.write(result.output);
if (!result.ok) {
  console.error(`build failed: ${result.error}`);
  process.exit(1);
}
console.log(`built ${result.outfile} (${(result.bytes / 1e6).toFixed(1)} MB) in ${result.seconds.toFixed(1)} s`);
