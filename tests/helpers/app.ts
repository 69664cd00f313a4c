/**
 * A gateway app for route tests: the real services and Elysia app over a TestDatabase, a known master key, a
 * movable clock, and a `call(method, path, {body, headers, token})` helper that goes through `app.handle`.
 * Wiring mirrors createGateway (src/gateway.ts) minus start-up side effects (migrations, bootstrap, seeding) and
 * the inference runtime; tests/helpers/gateway.ts is the full gateway with mock providers.
 */
import { expect } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Config, loadConfig } from "../../src/config/load";
import type { FileConfig } from "../../src/config/schema";
import { errorTypeForStatus } from "../../src/core/errors";
import type { Store } from "../../src/db/client";
import { providerChecker } from "../../src/gateway";
import { createRouter } from "../../src/services/inference/routing";
import { createProvidersService } from "../../src/services/providers";
import { VERSION } from "../../src/version";
import { insertUsageLines, toUsageLine } from "../../src/services/governance/usage-insert";
import { type App, createApp } from "../../src/http/app";
import { sha256Hex } from "../../src/runtime/crypto";
import { createServices, type Services } from "../../src/services";
import { createMasterKey } from "../../src/services/master-key";
import type { TestDatabase } from "./db";

/** The master key every test app accepts (unless built with `masterKey: null`). */
export const MASTER_KEY = "test-master-key-0123456789";

export interface CallOptions {
  /** JSON-serialised unless it is already a string (sent raw, for malformed-JSON tests). */
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent as `Authorization: Bearer <token>`; defaults to the master key; `null` sends no credential. */
  token?: string | null;
}

export interface CallResult {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or null for an empty/non-JSON body. */
  json: unknown;
}

export interface TestClock {
  now(): Date;
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void;
}

export interface TestApp {
  db: TestDatabase;
  store: Store;
  services: Services;
  config: Config;
  app: App;
  clock: TestClock;
  draining: { value: boolean };
  call(method: string, path: string, options?: CallOptions): Promise<CallResult>;
}

export interface TestAppOptions {
  /** `null` builds an app with no master key (management routes answer 503). */
  masterKey?: string | null;
  /** Config keys, applied as CLI flags would be. */
  config?: Partial<FileConfig>;
  /** Another store to serve from (e.g. one whose database is down); defaults to `db.store`. */
  store?: Store;
}

/** A frozen clock starting at the real time; only `advance` moves it, so time arithmetic in tests is exact. */
export function createTestClock(start = Date.now()): TestClock {
  let current = start;
  return {
    now: () => new Date(current),
    advance: (ms) => {
      current += ms;
    },
  };
}

/** Loads a Config from defaults only (an empty cwd, an explicit empty env), plus `overrides`. */
export function testConfig(overrides: Partial<FileConfig> = {}, databaseUrl = "sqlite:///:memory:"): Config {
  const cwd = mkdtempSync(join(tmpdir(), "gw-cfg-"));
  return loadConfig({ env: {}, cwd, flags: { database_url: databaseUrl, bootstrap_api_key: false, ...overrides } });
}

export function createTestApp(db: TestDatabase, options: TestAppOptions = {}): TestApp {
  const masterKey = options.masterKey === undefined ? MASTER_KEY : options.masterKey;
  const config = testConfig({ master_key: masterKey, ...options.config }, db.url);
  const store = options.store ?? db.store;
  const clock = createTestClock();
  const services = createServices({
    store,
    masterKey: createMasterKey(masterKey === null ? null : sha256Hex(masterKey)),
    isKnownProvider: providerChecker(config),
    now: clock.now,
    rateLimits: config.rate_limits,
    sessionTtlSeconds: config.ui_session_ttl_seconds,
  });
  const draining = { value: false };
  // Management tests never reach inference; its runtime (sweeps, journal) is left out.
  const inference = () => {
    throw new Error("the management test app has no inference runtime (use tests/helpers/gateway.ts)");
  };
  // Routing health from a router over the test config; no model discovery (that needs the inference runtime).
  const router = createRouter(config, VERSION);
  const providers = createProvidersService({
    health: router.health,
    aliases: router.aliases,
    models: async () => ({ object: "list", data: [] }),
  });
  const app = createApp({
    mode: "standalone",
    services,
    inference,
    providers: () => providers,
    config,
    draining: () => draining.value,
  });

  async function call(method: string, path: string, opts: CallOptions = {}): Promise<CallResult> {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? MASTER_KEY : opts.token;
    if (token !== null) headers.authorization ??= `Bearer ${token}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
      headers["content-type"] ??= "application/json";
    }
    const response = await app.handle(new Request(`http://localhost${path}`, { method, headers, body }));
    const text = await response.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  return { db, store, services, config, app, clock, draining, call };
}

/** The `{error, detail}` envelope of SPEC §4.1, for typed assertions. */
export interface ErrorEnvelope {
  error: { message: string; type: string; code: string | null; param: string | null };
  detail: unknown;
}

/** Narrows a response body to the error envelope (throws when it is not one). */
export function errorOf(result: CallResult): ErrorEnvelope {
  const body = result.json as Partial<ErrorEnvelope> | null;
  if (
    !body?.error ||
    typeof body.error.message !== "string" ||
    typeof body.error.type !== "string" ||
    !("detail" in body)
  ) {
    throw new Error(`not an error envelope (status ${result.status}): ${result.text}`);
  }
  return body as ErrorEnvelope;
}

/** The 422 `detail` list. */
export function validationItems(result: CallResult): { type: string; loc: (string | number)[]; msg: string }[] {
  const detail = errorOf(result).detail;
  if (!Array.isArray(detail)) throw new Error(`422 detail is not a list: ${result.text}`);
  return detail as { type: string; loc: (string | number)[]; msg: string }[];
}

/** A fixed-shape object cast for reading response fields in tests. */
export function obj(result: CallResult): Record<string, unknown> {
  if (!result.json || typeof result.json !== "object" || Array.isArray(result.json))
    throw new Error(`not an object (status ${result.status}): ${result.text}`);
  return result.json as Record<string, unknown>;
}

export function list(result: CallResult): Record<string, unknown>[] {
  if (!Array.isArray(result.json)) throw new Error(`not a list (status ${result.status}): ${result.text}`);
  return result.json as Record<string, unknown>[];
}

/** The three headers on every response, plus Cache-Control/Vary off the /health paths (SPEC §3.0). */
export function expectSecurityHeaders(result: CallResult, health = false): void {
  expect(result.headers.get("x-content-type-options")).toBe("nosniff");
  expect(result.headers.get("x-frame-options")).toBe("DENY");
  expect(result.headers.get("referrer-policy")).toBe("strict-origin-when-cross-origin");
  if (health) {
    expect(result.headers.get("cache-control")).toBeNull();
  } else {
    expect(result.headers.get("cache-control")).toBe("private, no-store, no-cache");
    expect(result.headers.get("vary") ?? "").toContain("Authorization");
  }
}

/**
 * Asserts an error response: status, the §4.1 envelope (error.message/type, detail == message, or a list for
 * 422), the error type for the status, the security headers (`healthPath`: a /health* path, so no
 * Cache-Control), and optionally the exact message.
 */
export function expectError(
  result: CallResult,
  status: number,
  message?: string | RegExp,
  healthPath = false,
): ErrorEnvelope {
  if (result.status !== status) throw new Error(`expected ${status}, got ${result.status}: ${result.text}`);
  const body = errorOf(result);
  expect(body.error.type).toBe(errorTypeForStatus(status));
  if (status === 422) expect(Array.isArray(body.detail)).toBe(true);
  else if (typeof body.detail === "string") expect(body.detail).toBe(body.error.message);
  if (typeof message === "string") expect(body.error.message).toBe(message);
  else if (message) expect(body.error.message).toMatch(message);
  expectSecurityHeaders(result, healthPath);
  return body;
}

/** Asserts a 422 whose first validation item is located at `loc`. */
export function expectValidation(result: CallResult, loc: (string | number)[]): void {
  expectError(result, 422);
  const items = validationItems(result);
  expect(items.length).toBeGreaterThan(0);
  for (const item of items) {
    expect(typeof item.msg).toBe("string");
    expect(item.type).toBeString();
    expect(item).not.toHaveProperty("input");
  }
  expect(items.map((i) => i.loc)).toContainEqual(loc);
}

export interface UsageRowInput {
  userId?: string | null;
  apiKeyId?: string | null;
  timestamp?: Date;
  model?: string;
  provider?: string | null;
  endpoint?: string;
  promptTokens?: number | null;
  completionTokens?: number | null;
  costMicros?: number | null;
  status?: "success" | "error";
  statusCode?: number | null;
  errorMessage?: string | null;
  endUserId?: string | null;
  latencyMs?: number | null;
  ttfbMs?: number | null;
}

/**
 * Inserts one usage row through the usage writer's insert (so the rollups see it too, as in production; the
 * writer's batching and journal are tested elsewhere); returns its id.
 */
export async function insertUsageRow(store: Store, input: UsageRowInput = {}): Promise<string> {
  const id = crypto.randomUUID();
  const prompt = input.promptTokens === undefined ? 10 : input.promptTokens;
  const completion = input.completionTokens === undefined ? 5 : input.completionTokens;
  const status = input.status ?? "success";
  await insertUsageLines(store, [
    toUsageLine({
      id,
      userId: input.userId ?? null,
      apiKeyId: input.apiKeyId ?? null,
      timestamp: input.timestamp ?? new Date(),
      model: input.model ?? "gpt-4o",
      provider: input.provider === undefined ? "openai" : input.provider,
      endpoint: input.endpoint ?? "/v1/chat/completions",
      promptTokens: prompt,
      completionTokens: completion,
      totalTokens: prompt === null || completion === null ? null : prompt + completion,
      costMicros: input.costMicros === undefined ? 1234 : input.costMicros,
      status,
      statusCode: input.statusCode ?? null,
      errorMessage: input.errorMessage ?? null,
      endUserId: input.endUserId ?? null,
      latencyMs: input.latencyMs ?? null,
      ttfbMs: input.ttfbMs ?? null,
      estimated: false,
      requestId: null,
    }),
  ]);
  return id;
}

/** The credential header forms of SPEC §2.1, each carrying `token`. */
export function headerForms(token: string): [string, Record<string, string>][] {
  return [
    ["Otari-Key", { "otari-key": `Bearer ${token}` }],
    ["AnyLLM-Key", { "anyllm-key": `Bearer ${token}` }],
    ["X-AnyLLM-Key", { "x-anyllm-key": `Bearer ${token}` }],
    ["Authorization", { authorization: `Bearer ${token}` }],
    ["x-api-key", { "x-api-key": token }],
    ["x-api-key with Bearer", { "x-api-key": `Bearer ${token}` }],
  ];
}

/**
 * Pins the master-only guard of one route (SPEC §2.1-§2.2): no credential, a wrong token in every header form, a
 * virtual key, and a bearer header without `Bearer ` are all 401 — before the body is validated (`body` should be
 * invalid, so a 422 would show validation ran first).
 */
export async function expectMasterOnly(
  t: TestApp,
  method: string,
  path: string,
  virtualKey: string,
  body?: unknown,
): Promise<void> {
  expectError(await t.call(method, path, { token: null, body }), 401, "Missing Otari-Key or Authorization header");
  expectError(await t.call(method, path, { token: virtualKey, body }), 401, "Invalid master key");
  for (const [, headers] of headerForms("not-the-master-key")) {
    expectError(await t.call(method, path, { token: null, headers, body }), 401, "Invalid master key");
  }
  for (const name of ["otari-key", "anyllm-key", "x-anyllm-key", "authorization"]) {
    expectError(
      await t.call(method, path, { token: null, headers: { [name]: MASTER_KEY }, body }),
      401,
      "Invalid header format. Expected 'Bearer <token>'",
    );
  }
  // An empty header counts as absent.
  expectError(
    await t.call(method, path, { token: null, headers: { "otari-key": "" }, body }),
    401,
    "Missing Otari-Key or Authorization header",
  );
}
