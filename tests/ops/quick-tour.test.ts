/**
 * demo/quick-tour.sh runs non-interactively against the mock provider with the compiled binary, within a bounded
 * time, and exits 0 (every step checks its own result: budget, user, key, price, SDK call and stream, usage,
 * metrics, clean SIGTERM exit).
 */
import { beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { BINARY, cleanEnv, ensureBinary, plain, ROOT } from "../e2e/_gateway";

beforeAll(async () => {
  await ensureBinary();
}, 180_000);

test("demo/quick-tour.sh completes and exits 0", async () => {
  const proc = Bun.spawn(["bash", join(ROOT, "demo", "quick-tour.sh")], {
    cwd: ROOT,
    env: cleanEnv({ GATEWAY_BIN: BINARY }),
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 90_000);
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  const text = plain(`${out}${err}`);
  if (code !== 0) console.error(text);
  expect(code).toBe(0);
  for (const step of [
    "budget: $5 a day",
    "user alice",
    "virtual key",
    "price for openai:gpt-4o-mini",
    "X-Gateway-Cost-USD: 0.",
    "usage chunk cost_usd: 0.",
    "gateway_tokens_total{",
    "gateway exited with 0",
    "quick tour finished",
  ]) {
    expect(text).toContain(step);
  }
}, 120_000);
