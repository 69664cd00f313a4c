/**
 * The compiled binary for the client-library suites: `dist/gateway serve` on SQLite, with an OpenAI and an Anthropic
 * mock (real wire formats) running in the test process. One per test file: the libraries' cold imports are the slow
 * part, and tests tell their requests apart by user (each test mints a key for a user of its own).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type MockServer, startAnthropicMock, startOpenAIMock } from "../../src/providers/_mocks";
import { ensureBinary, type Served, startServe, stopAll, tempDir } from "../e2e/_gateway";

const MASTER = "clients-e2e-master-key-0123456789";

export type UsageRow = Record<string, unknown>;

export interface ClientGateway {
  /** `http://127.0.0.1:<port>` */
  url: string;
  openai: MockServer;
  anthropic: MockServer;
  /** Creates `userId` with a fresh key; returns the key's secret and id. */
  keyFor(userId: string): Promise<{ key: string; id: string }>;
  /** Deletes a key (a revoked key: 401 `Invalid API key` from then on). */
  revoke(keyId: string): Promise<void>;
  /** The user's usage rows (GET /v1/usage with the master key), oldest first, once `count` of them are written. */
  rows(userId: string, count: number): Promise<UsageRow[]>;
  stop(): Promise<void>;
}

async function admin<T>(url: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} -> ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

export async function startClientGateway(): Promise<ClientGateway> {
  await ensureBinary();
  const openai = startOpenAIMock();
  const anthropic = startAnthropicMock();
  const dir = tempDir("gw-clients-");
  writeFileSync(
    join(dir, "config.yml"),
    [
      `master_key: "${MASTER}"`,
      `database_url: "sqlite:///${join(dir, "gw.db")}"`,
      // the 5xx cases answer at once instead of after the routing retries' backoff
      "routing: { retries: 0 }",
      // rows written as each request settles: the tests read them without waiting for a batch flush
      "log_writer_strategy: single",
      "providers:",
      "  openai:",
      "    api_key: sk-clients-openai",
      `    api_base: "${openai.apiBase}"`,
      "  anthropic:",
      "    api_key: sk-ant-clients",
      `    api_base: "${anthropic.apiBase}"`,
    ].join("\n"),
  );
  const served: Served = await startServe(["--config", join(dir, "config.yml")], { cwd: dir });
  const url = served.url;
  return {
    url,
    openai,
    anthropic,
    async keyFor(userId) {
      await admin(url, "POST", "/v1/users", { user_id: userId });
      return admin<{ key: string; id: string }>(url, "POST", "/v1/keys", { user_id: userId });
    },
    async revoke(keyId) {
      await admin(url, "DELETE", `/v1/keys/${keyId}`);
    },
    async rows(userId, count) {
      // Rows are written in batches (at least once a second): wait for them.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const rows = await admin<UsageRow[]>(url, "GET", `/v1/usage?user_id=${encodeURIComponent(userId)}`);
        if (rows.length >= count || Date.now() > deadline) return rows.reverse();
        await Bun.sleep(100);
      }
    },
    async stop() {
      await served.stop();
      await stopAll();
      await openai.stop();
      await anthropic.stop();
    },
  };
}

/** What a promise rejected with (fails the test when it resolves). */
export async function rejection(p: PromiseLike<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection, the call succeeded");
}
