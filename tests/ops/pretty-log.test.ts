/**
 * The human-readable log (`log_format: pretty`, the default on a TTY) of the compiled binary writes control
 * characters from clients as escapes: a model name holding a terminal escape and a CR LF followed by a made-up
 * CRITICAL line neither drives the terminal nor forges a line.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type MockServer, startOpenAIMock } from "../../src/providers/_mocks";
import { ensureBinary, eventually, startServe, stopAll, tempDir } from "../e2e/_gateway";

const MASTER = "pretty-log-master-key-0123456789";
const FORGED = "2026-01-01T00:00:00Z CRITICAL forged line";

let mock: MockServer;
beforeAll(async () => {
  await ensureBinary();
  mock = startOpenAIMock();
}, 120_000);
afterAll(async () => {
  await stopAll();
  await mock.stop();
});

test("a model name with \\x1b[2J and \\r\\n<timestamp> CRITICAL ... is logged escaped on one line", async () => {
  const dir = tempDir("gw-pretty-");
  writeFileSync(
    join(dir, "config.yml"),
    [
      `master_key: "${MASTER}"`,
      `database_url: "sqlite:///${join(dir, "gw.db")}"`,
      "bootstrap_api_key: false",
      "providers:",
      "  openai:",
      "    api_key: sk-pretty",
      `    api_base: "${mock.apiBase}"`,
    ].join("\n"),
  );
  const gw = await startServe(["--config", join(dir, "config.yml"), "--log-format", "pretty"], { cwd: dir });
  const res = await fetch(`${gw.url}/v1/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
    body: "{}",
  });
  const { key } = (await res.json()) as { key: string };
  const model = `openai:evil\u001b[2J\r\n${FORGED}`;
  const chat = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
  });
  expect(chat.status).toBe(200);
  // The unpriced model is named in a warning, once.
  await eventually(async () => gw.stderr().includes("No pricing configured"));
  const log = gw.stderr();
  expect(log).not.toContain("\u001b");
  expect(log).not.toContain("\r");
  const lines = log.split("\n");
  expect(lines.some((line) => line.startsWith(FORGED))).toBe(false);
  const warning = lines.find((line) => line.includes("No pricing configured"));
  expect(warning).toContain(`evil\\u001b[2J\\r\\n${FORGED}`);
});
