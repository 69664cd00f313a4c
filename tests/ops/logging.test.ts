/**
 * Logs of the compiled binary with `--log-format json` (SPEC §0 "Printing secrets once", `log_prompts`):
 * under a success, a stream, a provider error and a bad key, every stderr line is one JSON object with
 * ts/level/msg, request-scoped lines carry the request id the client got in `x-request-id`, and no line holds the
 * master key, a virtual key, the provider credential or prompt text. The only exemption: the generated master key
 * and bootstrap key lines printed once at first start, as plain text.
 * `log_prompts` writes the messages at debug level only when `log_level` is debug too; both sides are tested.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type MockServer, startOpenAIMock } from "../../src/providers/_mocks";
import { ensureBinary, startServe, stopAll, tempDir } from "../e2e/_gateway";

const PROVIDER_CREDENTIAL = "sk-logtest-provider-credential-4f9d2a";
const BAD_KEY = "gw-this-key-does-not-exist-but-is-long-enough-0123456789abcdef";
const PROMPTS = {
  success: "prompt-text-success-7c1e9b",
  stream: "prompt-text-stream-2d8f41",
  failure: "prompt-text-failure-91ab3c",
  badKey: "prompt-text-badkey-5e6f70",
};

interface LogLine {
  ts: string;
  level: string;
  msg: string;
  logger?: string;
  request_id?: string;
  [field: string]: unknown;
}

interface RunResult {
  /** Plain lines that are not JSON (the exempt first-start secrets, nothing else). */
  plainLines: string[];
  lines: LogLine[];
  rawLines: string[];
  stdout: string;
  exitCode: number;
  masterKey: string;
  bootstrapKey: string;
  virtualKey: string;
  ids: { success: string; stream: string; failure: string; badKey: string };
}

let mock: MockServer;
beforeAll(async () => {
  await ensureBinary();
  mock = startOpenAIMock();
}, 180_000);
afterAll(async () => {
  await stopAll();
  mock.stop();
});

async function chat(
  url: string,
  key: string,
  model: string,
  prompt: string,
  stream = false,
): Promise<{ status: string; id: string; body: string }> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model, stream, messages: [{ role: "user", content: prompt }] }),
  });
  return { status: String(res.status), id: res.headers.get("x-request-id") ?? "", body: await res.text() };
}

/** One fresh gateway (new database, no master key configured), the four requests, SIGTERM, its logs. */
async function scenario(env: Record<string, string>): Promise<RunResult> {
  const dir = tempDir("gw-logs-");
  writeFileSync(
    join(dir, "config.yml"),
    [
      `database_url: "sqlite:///${join(dir, "gw.db")}"`,
      "providers:",
      "  openai:",
      `    api_key: ${PROVIDER_CREDENTIAL}`,
      `    api_base: "${mock.apiBase}"`,
    ].join("\n"),
  );
  const gw = await startServe(["--config", join(dir, "config.yml"), "--log-format", "json"], { cwd: dir, env });
  const startup = gw.stderr();
  const masterKey = /Generated a master key[^:]*: (\S+)/.exec(startup)?.[1] ?? "";
  const bootstrapKey = /Save this key now: (\S+)/.exec(startup)?.[1] ?? "";
  expect(masterKey.length).toBeGreaterThan(20);
  expect(bootstrapKey.startsWith("gw-")).toBe(true);

  const created = await fetch(`${gw.url}/v1/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${masterKey}`, "content-type": "application/json" },
    body: JSON.stringify({ key_name: "logs" }),
  });
  expect(created.status).toBe(200);
  const virtualKey = ((await created.json()) as { key: string }).key;

  const success = await chat(gw.url, virtualKey, "openai:gpt-4o-mini", PROMPTS.success);
  expect(success.status).toBe("200");
  const stream = await chat(gw.url, bootstrapKey, "openai:gpt-4o-mini", PROMPTS.stream, true);
  expect(stream.body.trimEnd().endsWith("data: [DONE]")).toBe(true);
  const failure = await chat(gw.url, virtualKey, "openai:error-500", PROMPTS.failure);
  expect(failure.status).toBe("502");
  const badKey = await chat(gw.url, BAD_KEY, "openai:gpt-4o-mini", PROMPTS.badKey);
  expect(badKey.status).toBe("401");

  const exitCode = await gw.stop();
  const rawLines = gw
    .stderr()
    .split("\n")
    .filter((l) => l.trim() !== "");
  const plainLines: string[] = [];
  const lines: LogLine[] = [];
  for (const raw of rawLines) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) lines.push(parsed as LogLine);
      else plainLines.push(raw);
    } catch {
      plainLines.push(raw);
    }
  }
  return {
    plainLines,
    lines,
    rawLines,
    stdout: gw.stdout(),
    exitCode,
    masterKey,
    bootstrapKey,
    virtualKey,
    ids: { success: success.id, stream: stream.id, failure: failure.id, badKey: badKey.id },
  };
}

/** The checks every run must pass, whatever its settings. */
function expectCleanLogs(run: RunResult, opts: { promptsAllowed: boolean }): void {
  expect(run.exitCode).toBe(0);
  expect(run.stdout).toBe("");
  // Exactly the two first-start secret lines are plain text (SPEC §0), once each.
  expect(run.plainLines).toHaveLength(2);
  expect(run.plainLines[0]).toStartWith("Generated a master key");
  expect(run.plainLines[1]).toStartWith("WARNING: No API keys found. Created bootstrap key");
  for (const line of run.lines) {
    expect(typeof line.ts).toBe("string");
    expect(new Date(line.ts).toISOString()).toBe(line.ts);
    expect(["debug", "info", "warning", "error", "critical"]).toContain(line.level);
    expect(typeof line.msg).toBe("string");
  }
  const secrets = [run.masterKey, run.bootstrapKey, run.virtualKey, BAD_KEY, PROVIDER_CREDENTIAL];
  const prompts = Object.values(PROMPTS);
  const jsonLines = run.rawLines.filter((l) => !run.plainLines.includes(l));
  for (const line of jsonLines) {
    for (const secret of secrets) expect(line).not.toContain(secret);
    if (!opts.promptsAllowed) for (const prompt of prompts) expect(line).not.toContain(prompt);
  }
  // Secrets appear nowhere but in their own exempt line.
  expect(run.plainLines[0]).not.toContain(run.bootstrapKey);
  expect(run.plainLines[1]).not.toContain(run.masterKey);
  // Request-scoped lines name the request id the client saw; ids are never invented.
  const known = new Set(Object.values(run.ids));
  for (const line of run.lines) {
    const scoped = line.logger === "admission" || line.msg === "prompt" || "endpoint" in line || "status_code" in line;
    if (scoped) expect(known).toContain(line.request_id ?? "(none)");
    if (line.request_id !== undefined) expect(known).toContain(line.request_id);
  }
  // The provider failure is logged as a warning for that request, with the upstream status.
  const failed = run.lines.find((l) => l.msg === "request failed" && l.request_id === run.ids.failure);
  expect(failed).toMatchObject({
    level: "warning",
    logger: "admission",
    provider: "openai",
    model: "error-500",
    status_code: 500,
  });
}

describe("JSON logs", () => {
  test("debug level, log_prompts off: JSON lines, request ids, no secrets, no prompt text", async () => {
    const run = await scenario({ OTARI_LOG_LEVEL: "debug" });
    expectCleanLogs(run, { promptsAllowed: false });
    const settled = run.lines.filter((l) => l.msg === "request settled");
    expect(settled.map((l) => l.request_id).sort()).toEqual([run.ids.success, run.ids.stream].sort());
    for (const l of settled)
      expect(l).toMatchObject({ level: "debug", provider: "openai", model: "gpt-4o-mini", status_code: 200 });
    expect(run.lines.some((l) => l.msg === "prompt")).toBe(false);
  }, 60_000);

  test("info level (default): no per-request success lines, the failure still logged", async () => {
    const run = await scenario({});
    expectCleanLogs(run, { promptsAllowed: false });
    expect(run.lines.some((l) => l.level === "debug")).toBe(false);
    expect(run.lines.some((l) => l.msg === "request settled")).toBe(false);
  }, 60_000);

  test("log_prompts with log_level debug: the messages are logged at debug with the request id", async () => {
    const run = await scenario({ OTARI_LOG_LEVEL: "debug", OTARI_LOG_PROMPTS: "true" });
    expectCleanLogs(run, { promptsAllowed: true });
    expect(run.lines.filter((l) => l.level === "warning" && l.msg.startsWith("log_prompts is on"))).toHaveLength(1);
    const prompts = run.lines.filter((l) => l.logger === "prompts" && l.msg === "prompt");
    const byRequest = new Map(prompts.map((l) => [l.request_id, l]));
    expect(byRequest.get(run.ids.success)).toMatchObject({
      level: "debug",
      msg: "prompt",
      endpoint: "/v1/chat/completions",
      model: "openai:gpt-4o-mini",
      messages: [{ role: "user", content: PROMPTS.success }],
    });
    expect(JSON.stringify(byRequest.get(run.ids.stream))).toContain(PROMPTS.stream);
    expect(JSON.stringify(byRequest.get(run.ids.failure))).toContain(PROMPTS.failure);
    // An unauthenticated request's body is never logged.
    expect(byRequest.has(run.ids.badKey)).toBe(false);
    expect(run.rawLines.some((l) => l.includes(PROMPTS.badKey))).toBe(false);
    // Prompt text appears only on the prompt lines.
    for (const l of run.lines.filter((x) => x.msg !== "prompt")) {
      for (const prompt of Object.values(PROMPTS)) expect(JSON.stringify(l)).not.toContain(prompt);
    }
  }, 60_000);

  test("log_prompts without log_level debug: nothing is logged, and start-up says why", async () => {
    const run = await scenario({ OTARI_LOG_PROMPTS: "true" });
    expectCleanLogs(run, { promptsAllowed: false });
    expect(run.lines.some((l) => l.msg === "prompt")).toBe(false);
    expect(
      run.lines.filter((l) => l.level === "warning" && l.msg === "log_prompts has no effect unless log_level is debug"),
    ).toHaveLength(1);
  }, 60_000);
});
