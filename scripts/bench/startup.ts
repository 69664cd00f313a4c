/**
 * Cold start: spawn to the first 2xx/4xx answer on `url`, in a fresh working directory each time (for the gateway:
 * a fresh SQLite database, so each start pays for migrations and key generation as a first start does).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { start, stop, waitHttp } from "./processes";
import { median, round } from "./stats";

export interface ColdStart {
  median_ms: number;
  runs_ms: number[];
}

export async function coldStart(o: {
  name: string;
  runs: number;
  url: string;
  cmd: (dir: string) => string[];
  cwd?: string;
}): Promise<ColdStart> {
  const runs: number[] = [];
  for (let i = 0; i < o.runs; i++) {
    const dir = mkdtempSync(join(tmpdir(), "gw-cold-"));
    try {
      const started = performance.now();
      const child = start(`cold-${o.name}`, o.cmd(dir), { cwd: o.cwd ?? dir });
      await waitHttp(o.url, 20_000, 1);
      runs.push(round(performance.now() - started, 1));
      await stop(child.proc);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { median_ms: round(median(runs), 1), runs_ms: runs };
}
