/**
 * Release binaries (scripts/release.ts): the linux x64 artifact, built by the same function the release workflow
 * runs, starts from an empty directory and answers /health, and SHA256SUMS matches the artifact.
 * Only this target is built here (the others cannot run on this machine); `bun scripts/release.ts` builds all.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { buildRelease, parseSums, RELEASE_TARGETS, sha256File } from "../../scripts/release";
import { cleanEnv, freePort, tempDir } from "../e2e/_gateway";

const outDir = tempDir("gw-release-");
const runDir = tempDir("gw-release-run-");
let proc: ReturnType<typeof Bun.spawn> | null = null;

afterAll(async () => {
  if (proc && proc.exitCode === null) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
  rmSync(outDir, { recursive: true, force: true });
  rmSync(runDir, { recursive: true, force: true });
});

test("the target table covers linux (glibc and musl) x64/arm64, macOS x64/arm64 and windows x64", () => {
  expect(RELEASE_TARGETS.map((t) => t.target).sort()).toEqual(
    [
      "bun-darwin-arm64",
      "bun-darwin-x64",
      "bun-linux-arm64",
      "bun-linux-arm64-musl",
      "bun-linux-x64",
      "bun-linux-x64-musl",
      "bun-windows-x64",
    ].sort(),
  );
  expect(new Set(RELEASE_TARGETS.map((t) => t.file)).size).toBe(RELEASE_TARGETS.length);
});

test("linux x64 artifact: SHA256SUMS matches, the binary serves /health and exits 0 on SIGTERM", async () => {
  const release = await buildRelease({ outDir, only: ["linux-x64"] });
  const [artifact] = release.artifacts;
  expect(artifact?.result.error).toBeUndefined();
  expect(release.ok).toBe(true);
  const file = join(outDir, "gateway-linux-x64");
  expect(statSync(file).size).toBeGreaterThan(50e6);

  const sums = parseSums(readFileSync(release.sumsFile, "utf8"));
  expect([...sums.keys()]).toEqual(["gateway-linux-x64"]);
  expect(sums.get("gateway-linux-x64")).toBe(await sha256File(file));
  // The file is also in the format `sha256sum -c` reads, when that tool exists.
  if (Bun.which("sha256sum")) {
    const check = Bun.spawnSync(["sha256sum", "-c", "SHA256SUMS"], { cwd: outDir, stdout: "pipe", stderr: "pipe" });
    expect(check.stdout.toString()).toContain("gateway-linux-x64: OK");
    expect(check.exitCode).toBe(0);
  }

  const port = freePort();
  proc = Bun.spawn([file, "serve", "--host", "127.0.0.1", "--port", String(port), "--log-format", "json"], {
    cwd: runDir,
    env: cleanEnv({ OTARI_MASTER_KEY: "release-test-master-key-0123456789" }),
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  let health: Response | null = null;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && proc.exitCode === null) {
    health = await fetch(`http://127.0.0.1:${port}/health`).catch(() => null);
    if (health?.status === 200) break;
    await Bun.sleep(20);
  }
  expect(health?.status).toBe(200);
  expect(await health?.json()).toMatchObject({ status: "healthy" });
  proc.kill("SIGTERM");
  expect(await proc.exited).toBe(0);
}, 240_000);
