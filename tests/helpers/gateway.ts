/**
 * A real gateway for tests: the composition root (createGateway) on a TestDatabase, served on a random port,
 * with the OpenAI- and Anthropic-format mock providers configured as `openai` and `anthropic`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FileConfig } from "../../src/config/schema";
import { loadConfig } from "../../src/config/load";
import { createGateway, type Gateway, type StartupOutput } from "../../src/gateway";
import { type MockServer, startAnthropicMock, startOpenAIMock } from "../../src/providers/_mocks";
import type { TestDatabase } from "./db";

export const MASTER_KEY = "test-master-key-0123456789";

export interface TestGateway {
  base: string;
  gateway: Gateway;
  openai: MockServer;
  anthropic: MockServer;
  /** POST with the master key; returns the parsed JSON. */
  admin<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T>;
  /** Creates a key (optionally for a user) and returns its secret. */
  createKey(body?: Record<string, unknown>): Promise<{ key: string; id: string; user_id: string }>;
  /** Usage rows as /v1/usage returns them, after flushing the writer. */
  usage(query?: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export async function startTestGateway(
  db: TestDatabase,
  overrides: Partial<Record<keyof FileConfig, unknown>> = {},
  output: StartupOutput = {},
  /** Environment the config is loaded with (e.g. GATEWAY_SANDBOX_URL); none by default. */
  env: Record<string, string> = {},
): Promise<TestGateway> {
  const openai = startOpenAIMock();
  const anthropic = startAnthropicMock();
  const journalDir = mkdtempSync(join(tmpdir(), "gw-journal-"));
  const config = loadConfig({
    env,
    cwd: "/nonexistent-dir-for-tests",
    flags: {
      database_url: db.url,
      master_key: MASTER_KEY,
      log_level: "error",
      // A journal of its own per gateway: two test gateways on one Postgres (replicas) must never share one.
      usage_journal_path: join(journalDir, "usage-journal.jsonl"),
      ...overrides,
      // The mocks are always configured; `overrides.providers` adds entries or replaces these two.
      providers: {
        openai: { api_key: "sk-test-openai-key", api_base: openai.apiBase },
        anthropic: { api_key: "sk-ant-test-key", api_base: anthropic.apiBase },
        ...(overrides.providers as Record<string, unknown> | undefined),
      },
    },
  });
  const gateway = await createGateway(config, { printSecret: () => undefined, ...output });
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (r) => gateway.app.handle(r), idleTimeout: 60 });
  const base = `http://127.0.0.1:${server.port}`;

  const admin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} -> ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  };

  return {
    base,
    gateway,
    openai,
    anthropic,
    admin,
    createKey: (body = {}) => admin("POST", "/v1/keys", body),
    async usage(query = "") {
      await gateway.inference.usage.flush();
      return admin("GET", `/v1/usage${query ? `?${query}` : ""}`);
    },
    async close() {
      server.stop(true);
      await gateway.close();
      openai.stop();
      anthropic.stop();
      rmSync(journalDir, { recursive: true, force: true });
    },
  };
}
