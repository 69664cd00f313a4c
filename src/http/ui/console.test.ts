/**
 * The console's surface over HTTP on both dialects: the page and its assets; sign-in for a session cookie (its
 * attributes, the failed-sign-in limit); the console API accepting only that session (never a key: a virtual key,
 * a forged or expired session and a signed-out one are refused) and its CSRF token on every tRPC call and
 * mutation; cross-site requests refused; logout holding on another replica; `enable_ui: false`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  type CallResult,
  createTestApp,
  expectError as expectRestError,
  MASTER_KEY,
  obj,
  type TestApp,
} from "../../../tests/helpers/app";
import { DIALECTS, type TestDatabase } from "../../../tests/helpers/db";
import { SIGN_IN_LIMITS } from "../../services/sessions";

/** Every console API route, with the method it answers. */
const CONSOLE_API: [string, string][] = [
  ["GET", "/ui/api/session"],
  ["DELETE", "/ui/api/session"],
  ["GET", "/ui/api/usage/export.csv"],
  ["GET", "/ui/api/trpc/overview"],
  ["GET", "/ui/api/trpc/usage.summary"],
  ["GET", "/ui/api/trpc/usage.series"],
  ["GET", "/ui/api/trpc/usage.page"],
  ["GET", "/ui/api/trpc/keys.list"],
  ["GET", "/ui/api/trpc/providers"],
  ["GET", "/ui/api/trpc/settings"],
  ["POST", "/ui/api/trpc/keys.create"],
  ["POST", "/ui/api/trpc/budgets.update"],
  ["POST", "/ui/api/trpc/keys.update"],
  ["GET", "/ui/api/trpc/endUsers.list"],
  ["GET", "/ui/api/trpc/rateLimits.list"],
  ["POST", "/ui/api/trpc/rateLimits.create"],
  ["POST", "/ui/api/trpc/rateLimits.delete"],
  ["GET", "/ui/api/trpc/alerts.list"],
  ["POST", "/ui/api/trpc/alerts.create"],
  ["POST", "/ui/api/trpc/alerts.test"],
];

/** The console's first load (page, script and stylesheet, gzipped as sent) stays within this. */
const FIRST_LOAD_BUDGET_BYTES = 250 * 1024;

/** A refusal in the envelope of the route that answered: the REST error body, or tRPC's with the gateway's data. */
function expectError(res: CallResult, status: number, message?: string | RegExp): void {
  const trpc = (res.json as { error?: { message?: string; data?: { httpStatus?: number; gateway?: unknown } } } | null)
    ?.error;
  if (!trpc?.data) {
    expectRestError(res, status, message);
    return;
  }
  expect({ status: res.status, httpStatus: trpc.data.httpStatus }).toEqual({ status, httpStatus: status });
  expect(trpc.data.gateway).toBeTruthy();
  if (typeof message === "string") expect(trpc.message).toBe(message);
  else if (message) expect(trpc.message ?? "").toMatch(message);
}

interface Session {
  cookie: string;
  csrf: string;
  setCookie: string;
}

async function signIn(t: TestApp, headers: Record<string, string> = {}): Promise<Session> {
  const res = await t.call("POST", "/ui/api/session", { token: null, body: { master_key: MASTER_KEY }, headers });
  if (res.status !== 200) throw new Error(`sign-in: ${res.status} ${res.text}`);
  const setCookie = res.headers.get("set-cookie") ?? "";
  return { cookie: setCookie.split(";")[0]!, csrf: obj(res).csrf_token as string, setCookie };
}

/** A console call: the cookie and, unless `csrf: null`, the token. */
function consoleCall(
  t: TestApp,
  s: Session,
  method: string,
  path: string,
  opts: { csrf?: string | null; body?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { cookie: s.cookie, ...opts.headers };
  const csrf = opts.csrf === undefined ? s.csrf : opts.csrf;
  if (csrf) headers["x-csrf-token"] = csrf;
  return t.call(method, path, { token: null, headers, body: opts.body ?? (method === "POST" ? {} : undefined) });
}

describe.each(DIALECTS)("console on $dialect", ({ create }) => {
  let db: TestDatabase;
  let t: TestApp;
  let virtual: string;

  beforeAll(async () => {
    db = await create();
    t = createTestApp(db);
    virtual = obj(await t.call("POST", "/v1/keys", { body: { key_name: "k" } })).key as string;
  });
  afterAll(async () => {
    await db.drop();
  });

  test("the page, its hashed assets (gzipped, cached for good) and GET / linking to it", async () => {
    const page = await t.call("GET", "/ui/keys", { token: null });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(page.text).not.toMatch(/https?:\/\//);
    const assets = [...page.text.matchAll(/\/ui\/assets\/([\w.-]+)/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith(".js")) && assets.some((a) => a.endsWith(".css"))).toBe(true);
    let firstLoad = Bun.gzipSync(page.text).length;
    for (const a of assets) {
      const res = await t.app.handle(
        new Request(`http://localhost/ui/assets/${a}`, { headers: { "accept-encoding": "gzip" } }),
      );
      expect(res.status).toBe(200);
      expect(res.headers.get("content-encoding")).toBe("gzip");
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      const sent = new Uint8Array(await res.arrayBuffer());
      firstLoad += sent.length;
      // No CDN, no external font: the bundle names no other host.
      expect(new TextDecoder().decode(Bun.gunzipSync(sent))).not.toMatch(/\b(https?:)?\/\/(cdn|fonts|unpkg|jsdelivr)/);
    }
    expect(firstLoad).toBeLessThanOrEqual(FIRST_LOAD_BUDGET_BYTES);
    expect((await t.call("GET", "/ui/assets/nope.js", { token: null })).status).toBe(404);
    const root = await t.call("GET", "/", { token: null });
    expect(root.status).toBe(200);
    expect(root.text).toContain('href="/ui"');
  });

  test("sign-in: the master key buys an HttpOnly, SameSite=Strict session cookie on /ui; Secure behind TLS", async () => {
    const s = await signIn(t);
    expect(s.setCookie).toMatch(/^otari_console=[\w-]{43}; Path=\/ui; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    expect(s.setCookie).not.toContain(MASTER_KEY);
    const tls = await signIn(t, { "x-forwarded-proto": "https" });
    expect(tls.setCookie).toEndWith("; Secure");
    const info = obj(await consoleCall(t, s, "GET", "/ui/api/session", { csrf: null }));
    expect(info.csrf_token).toBe(s.csrf);
    // Only the id's hash is stored.
    const rows = await db.store.query<{ id_hash: string }>("SELECT id_hash FROM ui_sessions");
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.id_hash) && !s.cookie.includes(r.id_hash))).toBe(true);
  });

  test("a virtual key or a wrong key cannot sign in", async () => {
    expectError(
      await t.call("POST", "/ui/api/session", { token: null, body: { master_key: virtual } }),
      401,
      "Invalid master key",
    );
    expectError(await t.call("POST", "/ui/api/session", { token: null, body: {} }), 422);
  });

  test("every console API route refuses no session, a virtual key, a forged session and the master key as a bearer", async () => {
    for (const [method, path] of CONSOLE_API) {
      const body = method === "POST" ? {} : undefined;
      expectError(await t.call(method, path, { token: null, body }), 401);
      expectError(await t.call(method, path, { token: virtual, body }), 401);
      expectError(await t.call(method, path, { token: MASTER_KEY, body }), 401);
      expectError(
        await t.call(method, path, {
          token: null,
          body,
          headers: { cookie: "otari_console=forged-session-id-AAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
        }),
        401,
      );
    }
  });

  test("CSRF: tRPC calls and mutations need the session's token; cross-site requests are refused", async () => {
    const s = await signIn(t);
    expect((await consoleCall(t, s, "GET", "/ui/api/trpc/keys.list")).status).toBe(200);
    for (const csrf of [null, "0".repeat(64), (await signIn(t)).csrf]) {
      expectError(
        await consoleCall(t, s, "GET", "/ui/api/trpc/keys.list", { csrf }),
        403,
        "Missing or invalid CSRF token",
      );
      for (const [path, body] of [
        ["keys.create", { key_name: "csrf" }],
        ["rateLimits.create", { scope: "global", rpm: 1 }],
        ["alerts.create", { scope: "any", url: "http://127.0.0.1:9/" }],
      ] as const)
        expectError(
          await consoleCall(t, s, "POST", `/ui/api/trpc/${path}`, { csrf, body }),
          403,
          "Missing or invalid CSRF token",
        );
      expectError(await consoleCall(t, s, "DELETE", "/ui/api/session", { csrf }), 403, "Missing or invalid CSRF token");
    }
    const keys = await consoleCall(t, s, "GET", "/ui/api/trpc/keys.list");
    expect(JSON.stringify(keys.json)).not.toContain('"csrf"');
    for (const headers of [
      { origin: "https://evil.example" },
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
    ] as Record<string, string>[]) {
      expectError(
        await consoleCall(t, s, "POST", "/ui/api/trpc/keys.create", { body: { key_name: "x" }, headers }),
        403,
        "Cross-site request refused",
      );
      expectError(
        await t.call("POST", "/ui/api/session", { token: null, body: { master_key: MASTER_KEY }, headers }),
        403,
        "Cross-site request refused",
      );
    }
    // The console's own origin passes, also behind a proxy that names the public host.
    expect(
      (
        await consoleCall(t, s, "POST", "/ui/api/trpc/keys.create", {
          body: { key_name: "same" },
          headers: { origin: "http://localhost", "sec-fetch-site": "same-origin" },
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await consoleCall(t, s, "POST", "/ui/api/trpc/keys.create", {
          body: { key_name: "proxied" },
          headers: { origin: "https://gw.example", "x-forwarded-host": "gw.example" },
        })
      ).status,
    ).toBe(200);
  });

  test("the session works the console API: a key created there is shown once and is a real key", async () => {
    const s = await signIn(t);
    const created = obj(
      await consoleCall(t, s, "POST", "/ui/api/trpc/keys.create", {
        body: { key_name: "<img src=x onerror=alert(1)>" },
      }),
    );
    const secret = (created.result as { data: { key: string } }).data.key;
    expect(await t.services.auth.authenticate(secret)).toMatchObject({ kind: "key" });
    const list = JSON.stringify((await consoleCall(t, s, "GET", "/ui/api/trpc/keys.list")).json);
    expect(list).toContain("<img src=x onerror=alert(1)>");
    expect(list).not.toContain(secret);
    const csv = await consoleCall(t, s, "GET", "/ui/api/usage/export.csv", { csrf: null });
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
  });

  test("logout ends the session, also on another replica; the session expires", async () => {
    const s = await signIn(t);
    const replica = createTestApp(db, { store: db.open() });
    expect((await consoleCall(replica, s, "GET", "/ui/api/trpc/keys.list")).status).toBe(200);
    const out = await consoleCall(t, s, "DELETE", "/ui/api/session");
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toMatch(/^otari_console=; Path=\/ui; HttpOnly; SameSite=Strict; Max-Age=0$/);
    expectError(await consoleCall(t, s, "GET", "/ui/api/trpc/keys.list"), 401, "Session expired or signed out");
    expectError(await consoleCall(replica, s, "GET", "/ui/api/trpc/keys.list"), 401, "Session expired or signed out");
    const later = await signIn(t);
    t.clock.advance(t.config.ui_session_ttl_seconds * 1000 + 1000);
    expectError(
      await consoleCall(t, later, "GET", "/ui/api/session", { csrf: null }),
      401,
      "Session expired or signed out",
    );
  });

  test("failed sign-ins are limited per client, then allowed again after the window", async () => {
    for (let i = 0; i < SIGN_IN_LIMITS.perClient; i++)
      expectError(await t.call("POST", "/ui/api/session", { token: null, body: { master_key: `wrong-${i}` } }), 401);
    const limited = await t.call("POST", "/ui/api/session", { token: null, body: { master_key: MASTER_KEY } });
    expectError(limited, 429, /^Too many failed sign-ins; retry in \d+ s$/);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    t.clock.advance(SIGN_IN_LIMITS.windowMs + 1000);
    expect((await t.call("POST", "/ui/api/session", { token: null, body: { master_key: MASTER_KEY } })).status).toBe(
      200,
    );
  });
});

describe.each(DIALECTS)("enable_ui: false on $dialect", ({ create }) => {
  let db: TestDatabase;
  let t: TestApp;
  beforeAll(async () => {
    db = await create();
    t = createTestApp(db, { config: { enable_ui: false } });
  });
  afterAll(async () => {
    await db.drop();
  });

  test("no page, no console API, and GET / does not link to it", async () => {
    for (const path of ["/ui", "/ui/keys", "/ui/api/session", "/ui/api/trpc/overview"])
      expect((await t.call("GET", path, { token: null })).status).toBe(404);
    expect((await t.call("POST", "/ui/api/session", { token: null, body: { master_key: MASTER_KEY } })).status).toBe(
      404,
    );
    expect((await t.call("GET", "/", { token: null })).text).not.toContain("/ui");
  });
});
