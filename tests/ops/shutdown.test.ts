/**
 * Shutdown of the compiled binary (SPEC §0 "Drain"): a second SIGTERM during the drain exits at once, and
 * `shutdown_grace_seconds` bounds the drain: a stream longer than the grace is cut when it runs out, its usage is
 * still settled and flushed to the database, and the process exits 0. (tests/e2e/drain.test.ts covers a drain
 * where everything finishes in time.)
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type MockServer, startOpenAIMock } from "../../src/providers/_mocks";
import { ensureBinary, type Served, startServe, stopAll, tempDir } from "../e2e/_gateway";

const MASTER = "shutdown-test-master-key-0123456789";
let mock: MockServer;

beforeAll(async () => {
  await ensureBinary();
  mock = startOpenAIMock();
}, 180_000);
afterAll(async () => {
  await stopAll();
  mock.stop();
});

async function gateway(grace: number): Promise<{ gw: Served; dir: string; key: string }> {
  const dir = tempDir("gw-shutdown-");
  writeFileSync(
    join(dir, "config.yml"),
    [
      `master_key: "${MASTER}"`,
      `database_url: "sqlite:///${join(dir, "gw.db")}"`,
      `shutdown_grace_seconds: ${grace}`,
      "log_writer_strategy: batch",
      "bootstrap_api_key: false",
      "providers:",
      "  openai:",
      "    api_key: sk-shutdown-test",
      `    api_base: "${mock.apiBase}"`,
    ].join("\n"),
  );
  const gw = await startServe(["--config", join(dir, "config.yml"), "--log-format", "json"], { cwd: dir });
  const res = await fetch(`${gw.url}/v1/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
    body: "{}",
  });
  const { key } = (await res.json()) as { key: string };
  return { gw, dir, key };
}

/** Starts a chat stream and reads it to its end (or until the connection is cut); never rejects. */
function stream(url: string, key: string, model: string): Promise<{ status: number; body: string }> {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({
      model: `openai:${model}`,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "long" }],
    }),
  }).then(
    async (r) => {
      let body = "";
      const decoder = new TextDecoder();
      try {
        for await (const chunk of r.body ?? []) body += decoder.decode(chunk, { stream: true });
      } catch {
        // cut by the server
      }
      return { status: r.status, body };
    },
    () => ({ status: 0, body: "" }),
  );
}

test("a second SIGTERM during the drain exits at once (non-zero)", async () => {
  const { gw, key } = await gateway(30);
  const long = stream(gw.url, key, "chunks-300+interval-100"); // 30 s: longer than this test
  await Bun.sleep(300);
  gw.kill("SIGTERM");
  await Bun.sleep(300);
  expect(gw.output()).toContain("SIGTERM received: draining");
  const second = performance.now();
  gw.kill("SIGTERM");
  const code = await gw.exited;
  const took = performance.now() - second;
  expect(code).not.toBe(0);
  expect(took).toBeLessThan(1000);
  const cut = await long;
  expect(cut.body.includes("data: [DONE]")).toBe(false);
}, 60_000);

test("shutdown_grace_seconds: a stream longer than the grace is cut, its usage flushed, exit 0", async () => {
  const { gw, dir, key } = await gateway(1);
  const long = stream(gw.url, key, "chunks-100+interval-100"); // 10 s
  const short = stream(gw.url, key, "chunks-5+interval-50"); // 250 ms: finishes within the grace
  await Bun.sleep(300);
  const signalled = performance.now();
  gw.kill("SIGTERM");
  const code = await gw.exited;
  const took = performance.now() - signalled;
  expect(code).toBe(0);
  expect(took).toBeGreaterThanOrEqual(900);
  expect(took).toBeLessThan(5000);
  const [cut, done] = await Promise.all([long, short]);
  expect(done.body.trimEnd().endsWith("data: [DONE]")).toBe(true);
  expect(cut.status).toBe(200);
  expect(cut.body).toContain("tok0 ");
  expect(cut.body.includes("data: [DONE]")).toBe(false);
  expect(gw.output()).toContain("Grace period over with requests still in flight");

  const db = new Database(join(dir, "gw.db"), { readonly: true });
  const rows = db
    .query("SELECT status, status_code, estimated, completion_tokens FROM usage_logs ORDER BY status_code")
    .all() as {
    status: string;
    status_code: number;
    estimated: number;
    completion_tokens: number | null;
  }[];
  db.close();
  expect(rows).toHaveLength(2);
  expect(rows[0]).toMatchObject({ status: "success", status_code: 200, completion_tokens: 5 });
  // The cut stream is settled (billed at its estimate, as a client that left) and its row reached the database.
  expect(rows[1]).toMatchObject({ status: "error", status_code: 499, estimated: 1 });
}, 60_000);
