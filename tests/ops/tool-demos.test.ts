/**
 * demo/code-exec/run.sh and demo/web-search/run.sh, the built-in tools' walkthroughs, run non-interactively with
 * the compiled binary and show their answers: 23! from the embedded sandbox, a fetched page as Markdown.
 */
import { beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { BINARY, cleanEnv, ensureBinary, plain, ROOT } from "../e2e/_gateway";

beforeAll(async () => {
  await ensureBinary();
}, 180_000);

async function runDemo(script: string): Promise<{ code: number; text: string }> {
  const proc = Bun.spawn(["bash", join(ROOT, "demo", script)], {
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
  return { code, text: plain(`${out}${err}`) };
}

test("demo/code-exec/run.sh computes 23! with the embedded sandbox", async () => {
  const { code, text } = await runDemo("code-exec/run.sh");
  if (code !== 0) console.error(text);
  expect(code).toBe(0);
  expect(text).toContain("OK: 23! = 25852016738884976640000");
}, 100_000);

test("demo/web-search/run.sh answers from the search backend with the page as Markdown", async () => {
  const { code, text } = await runDemo("web-search/run.sh");
  if (code !== 0) console.error(text);
  expect(code).toBe(0);
  expect(text).toContain("| test runner | bun test |");
}, 100_000);
