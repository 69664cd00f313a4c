/**
 * Release binaries: cross-compiles `gateway` for every supported platform with the same flags as scripts/build.ts
 * (scripts/_compile.ts), into dist/release/ with a SHA256SUMS file (`sha256sum -c SHA256SUMS` format).
 * Bun downloads each target's runtime from the npm registry on first use (TRIALS §3). The bytecode order profile is
 * recorded once, on this machine, and lays out every target.
 *
 *   bun scripts/release.ts                                  # every target
 *   bun scripts/release.ts --only linux-x64,darwin-arm64    # some targets
 *   bun scripts/release.ts --out dist/release --jobs 2
 *
 * Exits 1 when any requested target fails; SHA256SUMS then lists only what was built.
 * .github/workflows/release.yml runs this on a `v*` tag and publishes dist/release/* on the GitHub release.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { type CompileResult, compileGateway, recordBytecodeOrder, ROOT } from "./_compile";

export interface ReleaseTarget {
  /** Short name used by `--only` and in the artifact name. */
  name: string;
  /** Bun's `--target`. */
  target: string;
  /** Artifact file name in the release directory. */
  file: string;
}

/** linux x64/arm64 on glibc and musl, macOS x64/arm64, windows x64. */
export const RELEASE_TARGETS: readonly ReleaseTarget[] = [
  { name: "linux-x64", target: "bun-linux-x64", file: "gateway-linux-x64" },
  { name: "linux-arm64", target: "bun-linux-arm64", file: "gateway-linux-arm64" },
  { name: "linux-x64-musl", target: "bun-linux-x64-musl", file: "gateway-linux-x64-musl" },
  { name: "linux-arm64-musl", target: "bun-linux-arm64-musl", file: "gateway-linux-arm64-musl" },
  { name: "darwin-x64", target: "bun-darwin-x64", file: "gateway-darwin-x64" },
  { name: "darwin-arm64", target: "bun-darwin-arm64", file: "gateway-darwin-arm64" },
  { name: "windows-x64", target: "bun-windows-x64", file: "gateway-windows-x64.exe" },
];

export interface ReleaseArtifact {
  target: ReleaseTarget;
  result: CompileResult;
  sha256: string | null;
}

export interface ReleaseResult {
  outDir: string;
  artifacts: ReleaseArtifact[];
  sumsFile: string;
  ok: boolean;
}

/** Hex SHA-256 of a file, streamed (the binaries are over 100 MB). */
export async function sha256File(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest("hex");
}

/** Parses `sha256sum` output: `<hex>  <name>` per line. */
export function parseSums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line.trim());
    if (m) sums.set(m[2]!, m[1]!);
  }
  return sums;
}

function selectTargets(only?: readonly string[]): ReleaseTarget[] {
  if (!only?.length) return [...RELEASE_TARGETS];
  const unknown = only.filter((n) => !RELEASE_TARGETS.some((t) => t.name === n));
  if (unknown.length)
    throw new Error(`unknown target(s) ${unknown.join(", ")}; known: ${RELEASE_TARGETS.map((t) => t.name).join(", ")}`);
  return RELEASE_TARGETS.filter((t) => only.includes(t.name));
}

/** Builds the requested targets (all by default) into `outDir`, `jobs` at a time, and writes SHA256SUMS. */
export async function buildRelease(
  opts: { outDir?: string; only?: readonly string[]; jobs?: number; log?: (line: string) => void } = {},
): Promise<ReleaseResult> {
  const outDir = resolve(ROOT, opts.outDir ?? "dist/release");
  const log = opts.log ?? (() => undefined);
  const targets = selectTargets(opts.only);
  // A stale artifact from an earlier run must not be published beside fresh ones.
  try {
    for (const f of readdirSync(outDir))
      if (f.startsWith("gateway-") || f === "SHA256SUMS") rmSync(join(outDir, f), { force: true });
  } catch {
    // no directory yet
  }
  const artifacts: ReleaseArtifact[] = [];
  const scratch = mkdtempSync(join(tmpdir(), "gw-order-"));
  try {
    log("recording the bytecode order profile");
    const bytecodeOrder = await recordBytecodeOrder(scratch);
    const queue = [...targets];
    const worker = async () => {
      for (let t = queue.shift(); t; t = queue.shift()) {
        log(`building ${t.file} (--target=${t.target})`);
        const result = await compileGateway({ outfile: join(outDir, t.file), target: t.target, bytecodeOrder });
        const sha256 = result.ok ? await sha256File(result.outfile) : null;
        log(
          result.ok
            ? `  ok ${t.file}: ${(result.bytes / 1e6).toFixed(1)} MB in ${result.seconds.toFixed(1)} s${result.smokeTested ? " (smoke-tested)" : ""}`
            : `  FAILED ${t.file}: ${result.error}\n${result.output}`,
        );
        artifacts.push({ target: t, result, sha256 });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.jobs ?? 2, targets.length)) }, worker));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  artifacts.sort((a, b) => RELEASE_TARGETS.indexOf(a.target) - RELEASE_TARGETS.indexOf(b.target));
  const sumsFile = join(outDir, "SHA256SUMS");
  const lines = artifacts.filter((a) => a.sha256).map((a) => `${a.sha256}  ${basename(a.result.outfile)}\n`);
  writeFileSync(sumsFile, lines.join(""));
  return { outDir, artifacts, sumsFile, ok: artifacts.every((a) => a.result.ok) };
}

if (import.meta.main) {
  const option = (name: string): string | undefined => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const only = option("only")
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const release = await buildRelease({
    outDir: option("out"),
    only,
    jobs: Number(option("jobs") ?? 2),
    log: (line) => console.log(line),
  });
  console.log(`\n${release.sumsFile}:`);
  for (const a of release.artifacts) {
    console.log(
      `  ${a.result.ok ? "ok    " : "FAILED"} ${a.target.file.padEnd(28)} ${a.result.ok ? `${(a.result.bytes / 1e6).toFixed(1)} MB` : a.result.error}`,
    );
  }
  process.exit(release.ok ? 0 : 1);
}
