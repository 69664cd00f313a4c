/**
 * Bad input, property-based (fast-check), against the compiled binary: random bodies, headers, credentials, path
 * parameters and query strings on every route (inference and management). The gateway itself never answers 5xx
 * (502/504 are allowed only where a provider is called, and the mocks answer normally), never crashes, and its
 * memory stays bounded. Oversized bodies are refused with 413 before they are read whole, with a Content-Length
 * and chunked without one, and the process's RSS does not grow by the body size.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import fc from "fast-check";
import { createSqliteDatabase, type TestDatabase } from "../helpers/db";
import { type MockServer, startAnthropicMock, startOpenAIMock } from "../../src/providers/_mocks";
import {
  admin,
  baseConfig,
  type GatewayProc,
  killAll,
  MASTER,
  procStats,
  report,
  spawnGateway,
  tempDir,
  writeConfig,
} from "./_harness";

const LIMIT = 1024 * 1024;

let openai: MockServer;
let anthropic: MockServer;
let db: TestDatabase;
let gw: GatewayProc;
let key: string;
let cases = 0;

beforeAll(async () => {
  openai = startOpenAIMock();
  anthropic = startAnthropicMock();
  db = await createSqliteDatabase();
  const dir = tempDir("gw-rel-fuzz-");
  const config = writeConfig(
    dir,
    baseConfig(db.url, {
      auto_migrate: false,
      log_level: "critical",
      max_request_body_bytes: LIMIT,
      providers: {
        openai: { api_key: "sk-rel-fuzz", api_base: openai.apiBase, client_args: { timeout: 5 } },
        anthropic: { api_key: "sk-ant-rel-fuzz", api_base: anthropic.apiBase, client_args: { timeout: 5 } },
      },
    }),
  );
  gw = await spawnGateway({ cwd: dir, config });
  key = (await admin<{ key: string }>(gw.url, "POST", "/v1/keys", { user_id: "fuzz-user" })).key;
  await admin(gw.url, "POST", "/v1/pricing", {
    model_key: "openai:gpt-4o-mini",
    input_price_per_million: 1,
    output_price_per_million: 2,
  });
}, 60_000);

afterAll(async () => {
  report("fuzz", { cases_run: cases });
  await gw?.stop();
  await killAll();
  await db?.drop();
  await openai?.stop();
  await anthropic?.stop();
});

type Route = readonly [method: string, path: string, callsProvider: boolean];

/** Every route the gateway serves; `{p}` is replaced by a fuzzed path parameter. */
const ROUTES: Route[] = [
  ["GET", "/", false],
  ["GET", "/health", false],
  ["GET", "/health/liveness", false],
  ["GET", "/health/readiness", false],
  ["GET", "/metrics", false],
  ["GET", "/openapi.json", false],
  ["GET", "/docs", false],
  ["GET", "/redoc", false],
  ["POST", "/v1/chat/completions", true],
  ["POST", "/v1/messages", true],
  ["POST", "/v1/messages/count_tokens", false],
  ["POST", "/v1/responses", true],
  ["POST", "/v1/embeddings", true],
  ["POST", "/v1/moderations", true],
  ["GET", "/v1/models", true],
  ["GET", "/v1/models/{p}", true],
  ["POST", "/v1/batches", true],
  ["GET", "/v1/batches", true],
  ["GET", "/v1/batches/{p}", true],
  ["POST", "/v1/batches/{p}/cancel", true],
  ["GET", "/v1/batches/{p}/results", true],
  ["POST", "/v1/keys", false],
  ["GET", "/v1/keys", false],
  ["GET", "/v1/keys/{p}", false],
  ["PATCH", "/v1/keys/{p}", false],
  ["DELETE", "/v1/keys/{p}", false],
  ["POST", "/v1/keys/{p}/rotate", false],
  ["POST", "/v1/users", false],
  ["GET", "/v1/users", false],
  ["GET", "/v1/users/{p}", false],
  ["PATCH", "/v1/users/{p}", false],
  ["DELETE", "/v1/users/{p}", false],
  ["GET", "/v1/users/{p}/usage", false],
  ["POST", "/v1/budgets", false],
  ["GET", "/v1/budgets", false],
  ["GET", "/v1/budgets/{p}", false],
  ["PATCH", "/v1/budgets/{p}", false],
  ["DELETE", "/v1/budgets/{p}", false],
  ["GET", "/v1/budgets/{p}/reset-logs", false],
  ["POST", "/v1/pricing", false],
  ["GET", "/v1/pricing", false],
  ["GET", "/v1/pricing/{p}", false],
  ["GET", "/v1/pricing/{p}/history", false],
  ["DELETE", "/v1/pricing/{p}", false],
  ["GET", "/v1/usage", false],
  ["GET", "/trpc/{p}", false],
  ["POST", "/trpc/{p}", false],
];

const MODELS = [
  "openai:gpt-4o-mini",
  "anthropic:claude-3-5-haiku",
  "openai:",
  ":gpt",
  "gpt-4o",
  "",
  "   ",
  "nope:model",
  "openai/gpt-4o-mini",
  "OPENAI:GPT-4O-MINI",
];
const model = fc.oneof(fc.constantFrom(...MODELS), fc.string({ maxLength: 40 }));
/** Anything JSON, with the fields the schemas look at mixed in so bodies get past the first checks. */
const message = fc.oneof(
  fc.record(
    {
      role: fc.constantFrom("user", "assistant", "system", "tool", "developer", "bogus"),
      content: fc.oneof(fc.string({ maxLength: 60 }), fc.constant(null), fc.jsonValue({ maxDepth: 2 })),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue({ maxDepth: 2 }),
);
const knownFields = fc.record(
  {
    model,
    messages: fc.oneof(fc.array(message, { maxLength: 4 }), fc.jsonValue({ maxDepth: 1 })),
    input: fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
      fc.jsonValue({ maxDepth: 2 }),
    ),
    max_tokens: fc.oneof(fc.integer({ min: -5, max: 64 }), fc.double(), fc.string({ maxLength: 5 })),
    stream: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 0 })),
    user: fc.oneof(fc.constant("fuzz-user"), fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 0 })),
    metadata: fc.jsonValue({ maxDepth: 2 }),
    user_id: fc.oneof(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 0 })),
    key_name: fc.jsonValue({ maxDepth: 1 }),
    max_budget: fc.oneof(fc.double(), fc.integer(), fc.string({ maxLength: 8 })),
    budget_duration_sec: fc.oneof(fc.integer(), fc.string({ maxLength: 8 })),
    model_key: fc.oneof(model, fc.jsonValue({ maxDepth: 0 })),
    input_price_per_million: fc.oneof(fc.double(), fc.integer(), fc.string({ maxLength: 8 })),
    output_price_per_million: fc.oneof(fc.double(), fc.integer(), fc.string({ maxLength: 8 })),
    expires_at: fc.oneof(
      fc.date({ noInvalidDate: false }).map((d) => (Number.isNaN(d.getTime()) ? "not-a-date" : d.toISOString())),
      fc.string({ maxLength: 30 }),
    ),
    is_active: fc.jsonValue({ maxDepth: 0 }),
    rpm_limit: fc.jsonValue({ maxDepth: 0 }),
    tools: fc.jsonValue({ maxDepth: 3 }),
    stream_options: fc.jsonValue({ maxDepth: 2 }),
    tool_choice: fc.jsonValue({ maxDepth: 2 }),
    response_format: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: [] },
);

type Body =
  | { kind: "none" }
  | { kind: "json"; value: unknown }
  | { kind: "text"; value: string }
  | { kind: "bytes"; value: Uint8Array };
const body: fc.Arbitrary<Body> = fc.oneof(
  { weight: 5, arbitrary: knownFields.map((value): Body => ({ kind: "json", value })) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value): Body => ({ kind: "json", value })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((value): Body => ({ kind: "text", value })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((value): Body => ({ kind: "bytes", value })) },
  { weight: 1, arbitrary: fc.constant<Body>({ kind: "none" }) },
);

/** Header values must be visible ASCII (fetch refuses the rest before anything is sent). */
const headerValue = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 80,
});
const headerName = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);
const credentialHeader = fc.constantFrom("authorization", "otari-key", "anyllm-key", "x-anyllm-key", "x-api-key");
/** null = no credential; "<master>"/"<key>" stand for the real secrets (filled in by `send`). */
const credential = fc.oneof(
  fc.constant<string | null>(null),
  fc.constantFrom("<master>", "<key>"),
  fc.constantFrom("<master>", "<key>"),
  headerValue,
);
const contentType = fc.constantFrom(
  "application/json",
  "application/json; charset=utf-8",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  null,
  "garbage/*",
);
const queryKey = fc.oneof(
  fc.constantFrom(
    "skip",
    "limit",
    "provider",
    "user_id",
    "start_date",
    "end_date",
    "as_of",
    "effective_at",
    "include_raw",
    "input",
    "batch",
  ),
  fc.string({ maxLength: 10 }),
);
const query = fc.dictionary(
  queryKey,
  fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.integer().map(String),
    fc.constantFrom("-1", "0", "1001", "true", "2024-01-01T00:00:00Z"),
  ),
  { maxKeys: 4 },
);
const pathParam = fc.oneof(
  fc.constantFrom(
    "x",
    "openai:gpt-4o-mini",
    "fuzz-user",
    "a/b",
    "..",
    "%2e%2e",
    "00000000-0000-0000-0000-000000000000",
    "keys.list",
    "users.get",
  ),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
);
const extraHeaders = fc.dictionary(headerName, headerValue, { maxKeys: 3 });

const caseArb = fc.record({
  route: fc.constantFrom(...ROUTES),
  credentialHeader,
  credential,
  useKey: fc.boolean(),
  contentType,
  body,
  query,
  pathParam,
  extraHeaders,
});
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

async function send(c: Case): Promise<{ status: number; text: string }> {
  const [method, template] = c.route;
  const qs = new URLSearchParams(c.query).toString();
  const url = `${gw.url}${template.replace("{p}", c.pathParam)}${qs ? `?${qs}` : ""}`;
  const headers = new Headers();
  for (const [k, v] of Object.entries(c.extraHeaders)) headers.set(k, v);
  if (c.credential !== null) {
    const secret = c.credential === "<master>" ? MASTER : c.credential === "<key>" ? key : null;
    headers.set(
      c.credentialHeader,
      secret === null ? c.credential : c.credentialHeader === "x-api-key" && c.useKey ? secret : `Bearer ${secret}`,
    );
  }
  if (c.contentType) headers.set("content-type", c.contentType);
  let payload: string | Uint8Array | undefined;
  if (method !== "GET" && c.body.kind !== "none")
    payload = c.body.kind === "json" ? JSON.stringify(c.body.value) : c.body.value;
  const res = await fetch(url, { method, headers, body: payload });
  return { status: res.status, text: await res.text() };
}

test("random bodies, headers, credentials and queries on every route: no 5xx of the gateway's own, no crash", async () => {
  const before = procStats(gw.pid);
  const failures: string[] = [];
  await fc
    .assert(
      fc.asyncProperty(caseArb, async (c) => {
        cases++;
        const r = await send(c);
        const providerStatus = c.route[2] && (r.status === 502 || r.status === 504);
        if (r.status >= 500 && !providerStatus) {
          failures.push(`${c.route[0]} ${c.route[1]} -> ${r.status} ${r.text.slice(0, 200)}`);
          return false;
        }
        return true;
      }),
      { numRuns: 3000, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31), endOnFailure: true },
    )
    .catch((err: unknown) => {
      console.log(failures.join("\n"));
      throw err;
    });
  expect(failures).toEqual([]);
  await Bun.sleep(500);
  const after = procStats(gw.pid);
  report("fuzz routes", {
    cases: 3000,
    rss_before_mb: before.rssMb.toFixed(1),
    rss_after_mb: after.rssMb.toFixed(1),
    fds_before: before.fds,
    fds_after: after.fds,
  });
  expect((await fetch(`${gw.url}/health`)).status).toBe(200);
  expect(after.rssMb).toBeLessThan(before.rssMb + 150);
}, 120_000);

test("random paths and methods: 404/405, never 5xx", async () => {
  const methods = fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD");
  const path = fc.array(
    fc.oneof(
      fc.constantFrom("v1", "keys", "users", "trpc", "health", "..", "metrics"),
      fc.string({ maxLength: 12 }).map(encodeURIComponent),
    ),
    { maxLength: 5 },
  );
  await fc.assert(
    fc.asyncProperty(methods, path, async (method, parts) => {
      cases++;
      const res = await fetch(`${gw.url}/${parts.join("/")}`, {
        method,
        headers: { authorization: `Bearer ${MASTER}` },
      });
      await res.arrayBuffer();
      return res.status < 500;
    }),
    { numRuns: 400 },
  );
}, 60_000);

/**
 * Streams up to `total` bytes to the gateway (with `Content-Length: total`, or chunked without one) and stops as
 * soon as it answers; returns the status and how many bytes the client had produced by then.
 */
async function oversized(
  path: string,
  declared: boolean,
  total: number,
  token: string,
): Promise<{ status: number; sent: number }> {
  let sent = 0;
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) return controller.close();
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  if (declared) headers["content-length"] = String(total);
  const res = await fetch(gw.url + path, { method: "POST", headers, body, duplex: "half" } as RequestInit);
  await res.arrayBuffer();
  return { status: res.status, sent };
}

test("oversized bodies get 413 before they are read whole; RSS does not grow by the body size", async () => {
  const BODY = 256 * 1024 * 1024;
  // A key of its own: the fuzz above may have deleted fuzz-user (and so deactivated `key`), and the caller is
  // checked before the body is read.
  const fresh = (await admin<{ key: string }>(gw.url, "POST", "/v1/keys", { user_id: "oversized-user" })).key;
  const before = procStats(gw.pid);
  const declared = await oversized("/v1/chat/completions", true, BODY, fresh);
  const chunked = await oversized("/v1/chat/completions", false, BODY, fresh);
  const management = await oversized("/v1/users", false, BODY, MASTER);
  // A caller the route refuses is answered before a byte of the body is read.
  const refused = await oversized("/v1/users", false, BODY, fresh);
  await Bun.sleep(300);
  const after = procStats(gw.pid);
  report("oversized bodies", {
    body_mb: BODY / 2 ** 20,
    limit_mb: LIMIT / 2 ** 20,
    content_length_status: declared.status,
    content_length_sent_mb: (declared.sent / 2 ** 20).toFixed(1),
    chunked_status: chunked.status,
    chunked_sent_mb: (chunked.sent / 2 ** 20).toFixed(1),
    rss_before_mb: before.rssMb.toFixed(1),
    rss_after_mb: after.rssMb.toFixed(1),
  });
  expect(declared.status).toBe(413);
  expect(chunked.status).toBe(413);
  expect(management.status).toBe(413);
  expect(refused.status).toBe(401);
  expect(refused.sent).toBeLessThan(BODY / 4);
  // Refused long before the end of the body, and the body never held in memory.
  expect(declared.sent).toBeLessThan(BODY / 4);
  expect(chunked.sent).toBeLessThan(BODY / 4);
  expect(after.rssMb - before.rssMb).toBeLessThan(BODY / 2 ** 20 / 4);
  expect((await fetch(`${gw.url}/health`)).status).toBe(200);
}, 60_000);
