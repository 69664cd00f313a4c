/**
 * Client connections against the compiled binary (timeouts set small through config): an idle keep-alive
 * connection is closed after `http_idle_timeout_seconds`; a body trickled in is cut at `http_body_timeout_seconds`
 * (408, connection closed), and one sent without a credential is never waited for; a slow upstream or a silent
 * stream is not idleness; many idle connections do not stop /health answering, even where they would use up the
 * process's file descriptors; beyond the connection cap new requests get a clear 503.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type MockServer, startOpenAIMock } from "../../src/providers/_mocks";
import { connect, firstResponse, type RawConnection } from "./_raw-http";
import { ensureBinary, eventually, type Served, startServe, stopAll, tempDir } from "./_gateway";

const MASTER = "connections-test-master-key-0123456789";
const IDLE_SECONDS = 4;
const BODY_SECONDS = 2;

let mock: MockServer;

/** A gateway on a fresh SQLite file with the mock upstream and `extra` config lines. */
async function serve(extra: string[], fdLimit?: number): Promise<Served> {
  const dir = tempDir("gw-conn-");
  const config = [
    `master_key: "${MASTER}"`,
    `database_url: "sqlite:///${join(dir, "gw.db")}"`,
    "bootstrap_api_key: false",
    "providers:",
    "  openai:",
    "    api_key: sk-connections-test",
    `    api_base: "${mock.apiBase}"`,
    ...extra,
  ];
  writeFileSync(join(dir, "config.yml"), config.join("\n"));
  return startServe(["--config", join(dir, "config.yml")], { cwd: dir, fdLimit });
}

async function virtualKey(gw: Served): Promise<string> {
  const res = await fetch(`${gw.url}/v1/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
    body: "{}",
  });
  return ((await res.json()) as { key: string }).key;
}

const chatBody = (model: string, stream = false) =>
  JSON.stringify({ model: `openai:${model}`, stream, messages: [{ role: "user", content: "hi" }] });

function post(conn: RawConnection, key: string | null, body: string, contentLength = body.length): void {
  const auth = key ? `Authorization: Bearer ${key}\r\n` : "";
  conn.write(
    `POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n${auth}Content-Type: application/json\r\nContent-Length: ${contentLength}\r\n\r\n${body}`,
  );
}

/** Writes `text` a character every `everyMs` until it is all sent or the connection is closed. */
async function trickle(conn: RawConnection, text: string, everyMs: number): Promise<void> {
  for (const ch of text) {
    if (conn.isClosed()) return;
    conn.write(ch);
    await Bun.sleep(everyMs);
  }
}

/** Milliseconds until `conn` closes, or null when it is still open after `limitMs`. */
const closesWithin = (conn: RawConnection, limitMs: number) =>
  Promise.race([conn.closed, Bun.sleep(limitMs).then(() => null)]);

beforeAll(async () => {
  await ensureBinary();
  mock = startOpenAIMock();
}, 120_000);

afterAll(async () => {
  await stopAll();
  await mock.stop();
});

describe("connection clocks", () => {
  let gw: Served;
  let key: string;
  beforeAll(async () => {
    gw = await serve([
      `http_idle_timeout_seconds: ${IDLE_SECONDS}`,
      `http_body_timeout_seconds: ${BODY_SECONDS}`,
      "streaming_keepalive_interval_ms: 0",
    ]);
    key = await virtualKey(gw);
  }, 60_000);

  test("an idle keep-alive connection is closed; a trickled body is cut with 408; without a credential the body is not waited for", async () => {
    // Kept alive across requests (a second one on the same connection is answered), then closed once idle.
    const idle = await connect(gw.url);
    idle.write("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
    await idle.waitFor('{"status":"healthy"}');
    await Bun.sleep(200);
    idle.write("GET /health/liveness HTTP/1.1\r\nHost: localhost\r\n\r\n");
    await idle.waitFor("I'm alive!");

    const trickled = await connect(gw.url);
    post(trickled, key, "", 200);
    void trickle(trickled, "x".repeat(200), 250);

    const anonymous = await connect(gw.url);
    post(anonymous, null, "", 200);
    void trickle(anonymous, "x".repeat(200), 250);
    // 401 as soon as the head is in: 200 bytes at 4 per second would take 50 s.
    await anonymous.waitFor("HTTP/1.1 401", 5000);

    expect(await closesWithin(trickled, 20_000)).not.toBeNull();
    const cut = firstResponse(trickled.received());
    expect(cut.status).toBe(408);
    expect(cut.head.toLowerCase()).toContain("connection: close");
    expect(JSON.parse(cut.body)).toMatchObject({ error: { code: "request_timeout" } });

    expect(await closesWithin(idle, 20_000)).not.toBeNull();
    expect(await closesWithin(anonymous, 20_000)).not.toBeNull();
  }, 60_000);

  test("a slow upstream and a silent stream outlive the idle timeout; the connection goes back on the idle clock after", async () => {
    const wait = (IDLE_SECONDS + 5) * 1000;
    const slow = await connect(gw.url);
    post(slow, key, chatBody(`slow-first-byte-${wait}`));
    const silent = await connect(gw.url);
    post(silent, key, chatBody(`chunks-2+pause-${wait}`, true));

    await slow.waitFor('"chat.completion"', wait + 10_000);
    expect(firstResponse(slow.received()).status).toBe(200);
    await silent.waitFor("data: [DONE]", wait + 10_000);
    expect(firstResponse(silent.received()).status).toBe(200);
    // Both stay usable keep-alive connections only as long as the idle timeout allows.
    expect(await closesWithin(slow, 20_000)).not.toBeNull();
    expect(await closesWithin(silent, 20_000)).not.toBeNull();
  }, 60_000);
});

describe("connection floods", () => {
  test("hundreds of idle connections past the open-file limit: /health still answers (idle ones are closed)", async () => {
    const gw = await serve([], 256);
    const held: RawConnection[] = [];
    for (let i = 0; i < 400; i++) {
      const conn = await connect(gw.url);
      conn.write("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
      held.push(conn);
    }
    const res = await fetch(`${gw.url}/health`, { signal: AbortSignal.timeout(15_000) });
    expect(res.status).toBe(200);
    await eventually(async () => gw.output().includes("Connection cap reached: closed idle connections"));
    for (const conn of held) conn.end();
  }, 60_000);

  test("beyond http_max_connections new requests get 503 server_busy and their connection is closed", async () => {
    const gw = await serve(["http_max_connections: 40"]);
    const key = await virtualKey(gw);
    const slow = Array.from({ length: 30 }, () =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: chatBody("slow-first-byte-5000"),
      }),
    );
    let refused: Response | null = null;
    const deadline = performance.now() + 4000;
    while (!refused && performance.now() < deadline) {
      await Bun.sleep(200);
      const res = await fetch(`${gw.url}/health`);
      if (res.status === 503) refused = res;
      else await res.body?.cancel();
    }
    expect(refused).not.toBeNull();
    expect(refused!.headers.get("connection")).toBe("close");
    expect(await refused!.json()).toMatchObject({ error: { code: "server_busy" } });
    // The work already taken on is finished.
    for (const res of await Promise.all(slow)) expect(res.status).toBe(200);
  }, 60_000);
});
