/**
 * Cold start of the compiled binary: starts `dist/gateway serve` on a fresh temp SQLite database N times (default
 * 10) and prints the median time from spawn to the first 200 from /health, plus the binary's size. Each run pays
 * for migrations, master/bootstrap key generation and pricing seeding, as a first start does.
 *
 * Usage: bun scripts/cold-start.ts [--runs N] [--binary dist/gateway] [--port P]   (run `bun run build` first; no --port: a free one)
 */
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const binary = resolve(import.meta.dir, "..", option("binary", "dist/gateway"));
const runs = Number(option("runs", "10"));
const fixedPort = process.argv.includes("--port") ? Number(option("port", "")) : null;
if (!existsSync(binary)) {
  console.error(`${binary} not found: run \`bun run build\` first`);
  process.exit(1);
}
if (!Number.isInteger(runs) || runs < 1) {
  console.error("--runs must be a positive integer");
  process.exit(2);
}

function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

async function once(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "gw-cold-"));
  const port = fixedPort ?? freePort();
  const started = performance.now();
  const child = Bun.spawn(
    [
      binary,
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--database-url",
      `sqlite:///${join(dir, "gw.db")}`,
    ],
    {
      cwd: dir,
      stdout: "ignore",
      stderr: "ignore",
      env: { ...process.env, OTARI_MASTER_KEY: "cold-start-master-key" },
    },
  );
  try {
    const deadline = started + 20_000;
    while (performance.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode} before answering`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health`);
        if (res.status === 200) return performance.now() - started;
      } catch {
        // not listening yet
      }
      await Bun.sleep(2);
    }
    throw new Error("no 200 from /health within 20 s");
  } finally {
    child.kill("SIGKILL");
    await child.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

const times: number[] = [];
for (let i = 0; i < runs; i++) times.push(await once());
times.sort((a, b) => a - b);
const mid = Math.floor(times.length / 2);
const median = times.length % 2 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2;
const size = statSync(binary).size;
console.log(`binary: ${binary} ${size} bytes (${(size / 1e6).toFixed(1)} MB)`);
console.log(
  `cold start to first 200 from /health over ${runs} runs: median ${median.toFixed(1)} ms (min ${times[0]!.toFixed(1)}, max ${times.at(-1)!.toFixed(1)})`,
);
