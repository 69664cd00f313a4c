/**
 * Bundles the console (src/ui) with Bun at build time: imported as a macro (`with { type: "macro" }`), so the
 * bundle's files become string constants of the module that imports it, in the compiled binary and when run from
 * source alike. A macro cannot call Bun.build (the bundler is waiting for it), so it runs `bun build` as a child.
 * Output names carry a content hash, so browsers may cache them forever.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function bundleConsole(): Record<string, string> {
  const out = mkdtempSync(join(tmpdir(), "gw-console-"));
  try {
    const entry = join(import.meta.dir, "../../ui/main.tsx");
    const result = Bun.spawnSync(
      [
        process.execPath,
        "build",
        entry,
        "--minify",
        "--target=browser",
        "--format=esm",
        "--outdir",
        out,
        "--entry-naming=[name]-[hash].[ext]",
        "--asset-naming=[name]-[hash].[ext]",
      ],
      // From the repository root whatever the caller's directory: elsewhere Bun finds no node_modules beside the
      // working directory and tries to auto-install the JSX runtime from the network, which hangs offline.
      {
        cwd: join(import.meta.dir, "../../.."),
        stdout: "pipe",
        stderr: "pipe",
        env: { ...process.env, NODE_ENV: "production" },
      },
    );
    if (result.exitCode !== 0)
      throw new Error(`bundling the console failed:\n${result.stdout.toString()}${result.stderr.toString()}`);
    return Object.fromEntries(readdirSync(out).map((name) => [name, readFileSync(join(out, name), "utf8")]));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
