/**
 * Upstream faults against the compiled binary (SPEC §4.4, §6.1, §6.3): an upstream that hangs, refuses the
 * connection, answers 5xx or 429, sends malformed JSON, cuts a stream mid-way, or answers a stream request with a
 * JSON body. Each gives the client the documented error, the reservation is settled or released (reserved back to
 * 0), the usage row records it, /metrics counts it, and after a few hundred such requests the process's RSS and open
 * descriptors are back near their baseline.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createSqliteDatabase, type TestDatabase } from "../helpers/db";
import { parsePrometheus } from "../helpers/prometheus";
import { type MockServer, startOpenAIMock } from "../../src/providers/_mocks";
import { parseSse } from "../inference/_helpers";
import {
  admin,
  baseConfig,
  call,
  type DbReader,
  dbReader,
  freePort,
  type GatewayProc,
  killAll,
  pool,
  procStats,
  type Reply,
  report,
  spawnGateway,
  tempDir,
  until,
  usageRows,
  userMoney,
  writeConfig,
} from "./_harness";

const PROMPT = [{ role: "user", content: "Tell me something, if the upstream lets you." }];
const USER = "faults-user";

interface Fault {
  name: string;
  model: string;
  stream?: boolean;
  status: number;
  detail?: string;
  /** The row's status_code (upstream status, or the gateway's own for timeouts and connection failures). */
  rowStatus: number;
  check?: (r: Reply) => void;
}

const FAULTS: Fault[] = [
  {
    name: "hang (provider timeout 1 s)",
    model: "openai:hang",
    status: 504,
    detail: "LLM provider timeout",
    rowStatus: 504,
  },
  {
    name: "connection refused",
    model: "deadprov:gpt-4o-mini",
    status: 502,
    detail: "LLM provider error",
    rowStatus: 502,
  },
  { name: "500", model: "openai:error-500", status: 502, detail: "LLM provider error", rowStatus: 500 },
  { name: "503", model: "openai:error-503", status: 502, detail: "LLM provider error", rowStatus: 503 },
  {
    name: "429",
    model: "openai:error-429",
    status: 429,
    detail: "The provider rate-limited this request",
    rowStatus: 429,
    check: (r) => expect(r.headers.get("retry-after")).toBe("7"),
  },
  { name: "malformed JSON", model: "openai:malformed", status: 502, detail: "LLM provider error", rowStatus: 502 },
  {
    name: "stream refused before the first byte (500)",
    model: "openai:error-500",
    stream: true,
    status: 502,
    detail: "LLM provider error",
    rowStatus: 500,
  },
  {
    name: "stream cut mid-way (connection reset)",
    model: "openai:gpt-4o-mini+break-stream",
    stream: true,
    status: 200,
    rowStatus: 502,
    check: (r) => {
      const { events } = parseSse(r.text);
      expect(events.at(-2)?.json).toEqual({
        error: {
          message: "An error occurred during streaming",
          type: "server_error",
          param: null,
          code: "provider_error",
        },
      });
      expect(events.at(-1)?.data).toBe("[DONE]");
    },
  },
  {
    // A server that ignored `stream: true`: never an empty stream the client takes for a success.
    name: "stream answered with a JSON body instead of events",
    model: "openai:gpt-4o-mini+json-stream",
    stream: true,
    status: 200,
    rowStatus: 502,
    check: (r) => {
      const { events } = parseSse(r.text);
      expect(events.map((e) => e.json ?? e.data)).toEqual([
        {
          error: {
            message: "An error occurred during streaming",
            type: "server_error",
            param: null,
            code: "provider_error",
          },
        },
        "[DONE]",
      ]);
    },
  },
  {
    name: "stream error event mid-way",
    model: "openai:gpt-4o-mini+stream-error",
    stream: true,
    status: 200,
    rowStatus: 502,
    check: (r) => {
      const { events } = parseSse(r.text);
      expect(events.some((e) => e.json?.["error"] !== undefined)).toBe(true);
      expect(events.at(-1)?.data).toBe("[DONE]");
    },
  },
  {
    name: "malformed stream event",
    model: "openai:gpt-4o-mini+malformed",
    stream: true,
    status: 200,
    rowStatus: 502,
    check: (r) => expect(r.text.trimEnd().endsWith("data: [DONE]")).toBe(true),
  },
];

let mock: MockServer;
let db: TestDatabase;
let reader: DbReader;
let gw: GatewayProc;
let key: string;

const fire = (f: Fault) =>
  call(`${gw.url}/v1/chat/completions`, {
    token: key,
    body: { model: f.model, messages: PROMPT, max_tokens: 8, ...(f.stream ? { stream: true } : {}) },
  });

beforeAll(async () => {
  mock = startOpenAIMock();
  db = await createSqliteDatabase();
  const dir = tempDir("gw-rel-faults-");
  const config = writeConfig(
    dir,
    baseConfig(db.url, {
      auto_migrate: false,
      providers: {
        openai: { api_key: "sk-rel-faults", api_base: mock.apiBase, client_args: { timeout: 1 } },
        deadprov: { provider_type: "openai", api_key: "sk-rel-dead", api_base: `http://127.0.0.1:${freePort()}/v1` },
      },
    }),
  );
  gw = await spawnGateway({ cwd: dir, config });
  reader = dbReader(db.url);
  for (const f of FAULTS) {
    const [provider, model] = f.model.split(/:(.*)/) as [string, string];
    await admin(gw.url, "POST", "/v1/pricing", {
      model_key: `${provider}:${model}`,
      input_price_per_million: 100,
      output_price_per_million: 100,
    });
  }
  const budget = await admin<{ budget_id: string }>(gw.url, "POST", "/v1/budgets", { max_budget: 100 });
  await admin(gw.url, "POST", "/v1/users", { user_id: USER, budget_id: budget.budget_id });
  key = (await admin<{ key: string }>(gw.url, "POST", "/v1/keys", { user_id: USER })).key;
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await killAll();
  await reader?.close();
  await db?.drop();
  await mock?.stop();
});

describe("each upstream fault: documented error, reservation released, row written, metric counted", () => {
  for (const f of FAULTS) {
    test(f.name, async () => {
      const r = await fire(f);
      expect(r.status).toBe(f.status);
      if (f.detail) {
        const body = JSON.parse(r.text) as { detail: string; error: { message: string } };
        expect(body.detail).toBe(f.detail);
        expect(body.error.message).toBe(f.detail);
      } else expect(r.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
      f.check?.(r);
      let row: Awaited<ReturnType<typeof usageRows>>[number] | undefined;
      const found = await until(async () => {
        row = (await usageRows(reader, USER)).find((x) => x.request_id === r.requestId);
        return row !== undefined;
      }, 5000);
      expect(found).toBe(true);
      expect(row?.status).toBe("error");
      expect(row?.status_code).toBe(f.rowStatus);
      // Failures before any content are free; a stream cut after content is billed (SPEC §6.3), never left reserved.
      expect(await until(async () => (await userMoney(reader, USER)).reserved === 0, 5000)).toBe(true);
    }, 15_000);
  }

  test("/metrics counts the faults by status", async () => {
    const metrics = parsePrometheus((await call(`${gw.url}/metrics`)).text);
    const count = (status: number) =>
      metrics.get(`gateway_requests_total{method="POST",endpoint="/v1/chat/completions",status="${status}"}`) ?? 0;
    const expected = (status: number) => FAULTS.filter((f) => f.status === status).length;
    for (const status of [502, 504, 429, 200]) expect(count(status)).toBeGreaterThanOrEqual(expected(status));
    report("upstream faults metrics", {
      status_502: count(502),
      status_504: count(504),
      status_429: count(429),
      status_200: count(200),
    });
  });
});

test("a few hundred faulty requests leave RSS and open descriptors near their baseline", async () => {
  const mixed = (i: number) => fire(FAULTS[i % FAULTS.length]!);
  // Warm-up at the same concurrency: JIT, caches, and the keep-alive pools on both sides reach their size.
  await pool(200, 40, mixed);
  await Bun.sleep(1500);
  const before = procStats(gw.pid);
  const N = 400;
  const replies = await pool(N, 40, mixed);
  for (const [i, r] of replies.entries()) expect(r.status).toBe(FAULTS[i % FAULTS.length]!.status);
  // Sockets of hung upstream calls and abandoned streams must be closed, not leaked.
  let after = procStats(gw.pid);
  await until(
    () => {
      after = procStats(gw.pid);
      return after.fds <= before.fds + 8 && after.rssMb <= before.rssMb + 48;
    },
    8000,
    250,
  );
  expect(await until(async () => (await userMoney(reader, USER)).reserved === 0, 5000)).toBe(true);
  report("upstream faults resources", {
    faulty_requests: N,
    rss_before_mb: before.rssMb.toFixed(1),
    rss_after_mb: after.rssMb.toFixed(1),
    fds_before: before.fds,
    fds_after: after.fds,
  });
  expect(after.fds).toBeLessThanOrEqual(before.fds + 8);
  expect(after.rssMb).toBeLessThanOrEqual(before.rssMb + 48);
}, 60_000);
