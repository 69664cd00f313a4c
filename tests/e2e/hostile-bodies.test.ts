/**
 * Bodies built to hurt, against the compiled binary with a mock upstream that accepts any model name: deeply
 * nested JSON is refused at once, with or without a credential, and never stalls /health; no bad body earns a
 * 5xx; a number beyond the double range is a 422, not a null sent upstream; a model name of a megabyte is a 422
 * naming the limit and leaves nothing behind (no usage row, no metric series, no log line carrying it).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type MockServer, startOpenAIMock } from "../../src/providers/_mocks";
import { ensureBinary, type Served, startServe, stopAll, tempDir } from "./_gateway";

const MASTER = "hostile-test-master-key-0123456789";
const BODY_ROUTES = [
  "/v1/chat/completions",
  "/v1/messages",
  "/v1/messages/count_tokens",
  "/v1/responses",
  "/v1/embeddings",
  "/v1/moderations",
  "/v1/batches",
  "/v1/keys",
  "/v1/users",
  "/v1/budgets",
  "/v1/pricing",
  "/trpc/keys.create",
];

let mock: MockServer;
let gw: Served;
let key: string;

const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

function post(path: string, body: string, token: string | null): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(`${gw.url}${path}`, { method: "POST", headers, body });
}

beforeAll(async () => {
  await ensureBinary();
  mock = startOpenAIMock();
  const dir = tempDir("gw-hostile-");
  writeFileSync(
    join(dir, "config.yml"),
    [
      `master_key: "${MASTER}"`,
      `database_url: "sqlite:///${join(dir, "gw.db")}"`,
      "bootstrap_api_key: false",
      "enable_metrics: true",
      "log_writer_strategy: single",
      "providers:",
      "  openai:",
      "    api_key: sk-hostile-test",
      `    api_base: "${mock.apiBase}"`,
    ].join("\n"),
  );
  gw = await startServe(["--config", join(dir, "config.yml")], { cwd: dir });
  const res = await fetch(`${gw.url}/v1/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
    body: JSON.stringify({ user_id: "hostile" }),
  });
  key = ((await res.json()) as { key: string }).key;
}, 120_000);

afterAll(async () => {
  await stopAll();
  await mock.stop();
});

describe("deeply nested JSON", () => {
  test("60 KB of 30,000 nested arrays: 401 without a credential, 422 with one, on every route that takes a body", async () => {
    const body = nested(30_000);
    for (const path of BODY_ROUTES) {
      expect({ path, status: (await post(path, body, null)).status }).toEqual({ path, status: 401 });
      const token =
        path.startsWith("/v1/chat") ||
        path.startsWith("/v1/messages") ||
        path.startsWith("/v1/responses") ||
        path.startsWith("/v1/embeddings") ||
        path.startsWith("/v1/moderations")
          ? key
          : MASTER;
      const res = await post(path, body, token);
      expect({ path, status: res.status }).toEqual({ path, status: 422 });
      expect(await res.text()).toContain("nested deeper than 128 levels");
    }
  }, 60_000);

  test("four at once, with a key, do not hold up /health", async () => {
    const body = nested(30_000);
    const attacks = Array.from({ length: 4 }, () => post("/v1/chat/completions", body, key));
    // Before the fix these four took 40 s, and /health waited for all of them.
    const health = await fetch(`${gw.url}/health`, { signal: AbortSignal.timeout(5000) });
    expect(health.status).toBe(200);
    for (const res of await Promise.all(attacks)) expect(res.status).toBe(422);
  }, 60_000);

  test("100,000 levels, anywhere in the body, are a 4xx: never a stack overflow's 500", async () => {
    const deep = nested(100_000);
    for (const [path, body, token] of [
      ["/v1/chat/completions", deep, key],
      [
        "/v1/chat/completions",
        `{"model":"openai:gpt-4o","messages":[{"role":"user","content":"x"}],"metadata":{"a":${deep}}}`,
        key,
      ],
      ["/v1/keys", `{"key_name":"x","metadata":{"a":${deep}}}`, MASTER],
      ["/trpc/keys.create", `{"key_name":"x","metadata":{"a":${deep}}}`, MASTER],
    ] as const) {
      const res = await post(path, body, token);
      expect({ path, status: res.status }).toEqual({ path, status: 422 });
    }
  }, 60_000);
});

describe("numbers and names", () => {
  test("a number beyond the double range (1e309) is a 422, in a known field or one passed through", async () => {
    const chat = { model: "openai:gpt-4o", messages: [{ role: "user", content: "hi" }] };
    for (const body of [
      JSON.stringify({ ...chat, temperature: 1 }).replace('"temperature":1', '"temperature":1e309'),
      JSON.stringify({ ...chat, frequency_penalty: 1 }).replace('"frequency_penalty":1', '"frequency_penalty":-1e309'),
      JSON.stringify({ ...chat, top_p: 1 }).replace('"top_p":1', `"top_p":1${"0".repeat(400)}`),
    ]) {
      const before = mock.requests.length;
      const res = await post("/v1/chat/completions", body, key);
      expect(res.status).toBe(422);
      expect(await res.text()).toContain("numbers must be finite");
      expect(mock.requests.length).toBe(before);
    }
    // Large but finite, and tiny (underflow to 0), are ordinary numbers.
    const ordinary = JSON.stringify({ ...chat, temperature: 1e308, top_p: 0.5 }).replace(
      '"top_p":0.5',
      '"top_p":1e-400',
    );
    expect((await post("/v1/chat/completions", ordinary, key)).status).toBe(200);
  });

  test("twenty model names of a megabyte: 422 naming the limit; /metrics, the usage table and the log stay small", async () => {
    const metricsBefore = (await (await fetch(`${gw.url}/metrics`)).text()).length;
    for (let i = 0; i < 20; i++) {
      const model = `openai:${String(i).padStart(2, "0")}${"m".repeat(1024 * 1024)}`;
      const res = await post(
        "/v1/chat/completions",
        JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
        key,
      );
      expect(res.status).toBe(422);
      const text = await res.text();
      expect(text).toContain("model must be at most 256 characters");
      expect(text.length).toBeLessThan(2000);
    }
    const res = await fetch(`${gw.url}/v1/usage?limit=1000`, { headers: { authorization: `Bearer ${MASTER}` } });
    const rows = (await res.json()) as { model: string }[];
    for (const row of rows) expect(row.model.length).toBeLessThanOrEqual(256);
    const metricsAfter = (await (await fetch(`${gw.url}/metrics`)).text()).length;
    expect(metricsAfter - metricsBefore).toBeLessThan(64 * 1024);
    expect(gw.output()).not.toContain("m".repeat(300));
  }, 60_000);
});
