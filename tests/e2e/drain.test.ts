/**
 * Graceful drain of the compiled binary under load (SPEC §0 "Drain"): on SIGTERM readiness is 503 within 100 ms,
 * new requests get 503, every in-flight request and stream completes, every usage row reaches the database, and
 * the process exits 0.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type MockServer, startOpenAIMock } from "../../src/providers/_mocks";
import { ensureBinary, type Served, startServe, stopAll, tempDir } from "./_gateway";

const MASTER = "drain-test-master-key-0123456789";
let mock: MockServer;
let dir: string;
let gw: Served;

beforeAll(async () => {
  await ensureBinary();
  mock = startOpenAIMock();
  dir = tempDir("gw-drain-");
  writeFileSync(
    join(dir, "config.yml"),
    [
      `master_key: "${MASTER}"`,
      `database_url: "sqlite:///${join(dir, "gw.db")}"`,
      "shutdown_grace_seconds: 20",
      "log_writer_strategy: batch",
      "providers:",
      "  openai:",
      "    api_key: sk-drain-test",
      `    api_base: "${mock.apiBase}"`,
    ].join("\n"),
  );
  gw = await startServe(["--config", join(dir, "config.yml")], { cwd: dir });
}, 120_000);

afterAll(async () => {
  await stopAll();
  mock.stop();
});

test("SIGTERM under load: readiness 503 fast, in-flight work completes, usage flushed, exit 0", async () => {
  const res = await fetch(`${gw.url}/v1/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
    body: "{}",
  });
  const { key } = (await res.json()) as { key: string };
  const call = (model: string, stream: boolean) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: `openai:${model}`, stream, messages: [{ role: "user", content: "drain me" }] }),
    }).then(async (r) => ({ status: r.status, body: await r.text() }));

  const streams = Array.from({ length: 15 }, () => call("chunks-20+interval-60", true));
  const slowJson = Array.from({ length: 15 }, () => call("slow-first-byte-800", false));
  await Bun.sleep(300); // every request is in flight: streams mid-way, JSON calls waiting on the upstream

  const signalled = performance.now();
  gw.kill("SIGTERM");
  let notReadyAfterMs = -1;
  while (performance.now() - signalled < 2000) {
    const r = await fetch(`${gw.url}/health/readiness`).catch(() => null);
    if (r?.status === 503) {
      notReadyAfterMs = performance.now() - signalled;
      break;
    }
    await Bun.sleep(5);
  }
  expect(notReadyAfterMs).toBeGreaterThanOrEqual(0);
  expect(notReadyAfterMs).toBeLessThan(100);
  const refused = await call("gpt-4o", false);
  expect(refused.status).toBe(503);

  const done = await Promise.all([...streams, ...slowJson]);
  for (const r of done) expect(r.status).toBe(200);
  for (const r of done.slice(0, 15)) expect(r.body.trimEnd().endsWith("data: [DONE]")).toBe(true);
  for (const r of done.slice(15)) expect(JSON.parse(r.body).choices[0].message.content).toBeString();

  expect(await gw.exited).toBe(0);
  if (process.env.GW_TEST_DEBUG) console.log(gw.output());
  const db = new Database(join(dir, "gw.db"), { readonly: true });
  const rows = db.query("SELECT status, count(*) AS n FROM usage_logs GROUP BY status").all() as {
    status: string;
    n: number;
  }[];
  db.close();
  expect(rows).toEqual([{ status: "success", n: 30 }]);
}, 60_000);
