/**
 * Upstream redirection (SPEC §0: operator-configured api_base is trusted; URLs from requests are the concern; web-search
 * SSRF is covered under src/tools). No request field or header can point the gateway at another upstream, and a
 * provider's redirect is never followed: a 3xx to a private address gives the client a 502 and the target is never
 * fetched.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createSqliteDatabase, type TestDatabase } from "../helpers/db";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { type MockServer, startAnthropicMock, startOpenAIMock } from "../../src/providers/_mocks";
import { report } from "./_harness";

interface Recorder {
  url: string;
  hits: string[];
  stop(): void;
}

/** A server that records every request it receives (the attacker's target), answering like an OpenAI upstream. */
function attacker(): Recorder {
  const hits: string[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      hits.push(`${req.method} ${new URL(req.url).pathname}`);
      return Response.json({
        id: "x",
        object: "chat.completion",
        created: 0,
        model: "evil",
        choices: [{ index: 0, message: { role: "assistant", content: "pwned" }, finish_reason: "stop" }],
      });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, hits, stop: () => server.stop(true) };
}

/** An upstream that answers every call with a redirect to `target`. */
function redirector(status: number, target: string) {
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: () => new Response(null, { status, headers: { location: target } }),
  });
  return { apiBase: `http://127.0.0.1:${server.port}/v1`, stop: () => server.stop(true) };
}

let db: TestDatabase;
let gw: TestGateway;
let evil: Recorder;
let key: string;
const redirectors: { apiBase: string; stop(): void }[] = [];
let cases = 0;
let openai: MockServer;
let anthropic: MockServer;

beforeAll(async () => {
  evil = attacker();
  for (const status of [301, 302, 307, 308]) redirectors.push(redirector(status, `${evil.url}/v1/chat/completions`));
  db = await createSqliteDatabase();
  openai = startOpenAIMock();
  anthropic = startAnthropicMock();
  const providers: Record<string, unknown> = {
    openai: { api_key: "sk-rel-openai", api_base: openai.apiBase },
    anthropic: { api_key: "sk-ant-rel", api_base: anthropic.apiBase },
  };
  redirectors.forEach((r, i) => {
    providers[`redir${i}`] = { provider_type: "openai", api_key: "sk-rel-redirect", api_base: r.apiBase };
  });
  gw = await startTestGateway(db, { providers });
  key = (await gw.createKey({ user_id: "ssrf-user" })).key;
}, 30_000);

afterAll(async () => {
  await gw?.close();
  await db?.drop();
  evil?.stop();
  for (const r of redirectors) r.stop();
  await openai?.stop();
  await anthropic?.stop();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(gw.base + path, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

describe("no request field or header redirects the gateway", () => {
  const hi = [{ role: "user", content: "hi" }];
  const fields = (url: string): Record<string, unknown> => ({
    api_base: url,
    base_url: url,
    baseURL: url,
    api_url: url,
    url,
    endpoint: url,
    api_key: "sk-attacker",
    provider: { api_base: url },
    extra_headers: { host: new URL(url).host },
    extra_body: { api_base: url },
    client_args: { base_url: url },
  });
  const headers = (url: string): Record<string, string> => ({
    "x-api-base": url,
    "x-base-url": url,
    "x-forwarded-host": new URL(url).host,
    forwarded: `host=${new URL(url).host}`,
    "x-original-url": url,
    "x-rewrite-url": url,
    "x-otari-api-base": url,
  });

  test("chat, messages, responses, embeddings and moderations with attacker URLs in body and headers", async () => {
    const calls: [string, Record<string, unknown>][] = [
      ["/v1/chat/completions", { model: "openai:gpt-4o-mini", messages: hi }],
      ["/v1/chat/completions", { model: "openai:gpt-4o-mini", messages: hi, stream: true }],
      ["/v1/chat/completions", { model: `openai:${evil.url}/v1`, messages: hi }],
      ["/v1/messages", { model: "anthropic:claude-3-5-haiku", max_tokens: 8, messages: hi }],
      ["/v1/responses", { model: "openai:gpt-4o-mini", input: "hi" }],
      ["/v1/embeddings", { model: "openai:text-embedding-3-small", input: "hi" }],
      ["/v1/moderations", { model: "openai:omni-moderation-latest", input: "hi" }],
    ];
    const before = openai.requests.length + anthropic.requests.length;
    for (const [path, body] of calls) {
      cases++;
      const res = await post(path, { ...body, ...fields(evil.url) }, headers(evil.url));
      await res.arrayBuffer();
      expect(res.status).toBeLessThan(500);
    }
    expect(evil.hits).toEqual([]);
    expect(openai.requests.length + anthropic.requests.length - before).toBe(calls.length);
    // None of the attacker's fields or headers were passed on upstream (a URL-shaped model name is only a name, sent
    // to the configured host).
    for (const r of [...openai.requests, ...anthropic.requests]) {
      const { model: _model, ...rest } = (r.body ?? {}) as Record<string, unknown>;
      expect(r.headers["host"]).toBe(new URL(r.path.startsWith("/v1/messages") ? anthropic.url : openai.url).host);
      // Chat rebuilds the upstream body from known fields; the other routes pass unknown fields on as data to the
      // configured host (never used as an address), so only their headers are checked.
      const passThrough = !r.path.endsWith("/chat/completions");
      const text = (passThrough ? "" : JSON.stringify(rest)) + JSON.stringify(r.headers);
      expect(text).not.toContain(evil.url);
      expect(text).not.toContain("sk-attacker");
    }
  });
});

describe("provider redirects are not followed", () => {
  for (const [i, status] of [301, 302, 307, 308].entries()) {
    test(`${status} to a private address: 502, the target never fetched (JSON and stream)`, async () => {
      for (const stream of [false, true]) {
        cases++;
        const res = await post("/v1/chat/completions", {
          model: `redir${i}:gpt-4o-mini`,
          messages: [{ role: "user", content: "hi" }],
          stream,
        });
        const body = (await res.json()) as { detail: string };
        expect(res.status).toBe(502);
        expect(body.detail).toBe("LLM provider error");
      }
      expect(evil.hits).toEqual([]);
    });
  }
});

test("report", () => {
  report("ssrf", { cases, attacker_hits: evil.hits.length });
});
