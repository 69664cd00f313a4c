/**
 * Shared pieces of the inference suites: the official SDK clients pointed at a test gateway (no retries), an SSE
 * reader for what the SDKs hide, and small admin shortcuts (price a model, give a user a budget).
 */
import { afterAll, beforeAll } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import type { TestDatabase } from "../helpers/db";
import { startTestGateway, type TestGateway } from "../helpers/gateway";

export type Row = Record<string, unknown>;

export function openaiClient(gw: TestGateway, apiKey: string, timeoutMs = 8000): OpenAI {
  return new OpenAI({ apiKey, baseURL: `${gw.base}/v1`, maxRetries: 0, timeout: timeoutMs });
}

export function anthropicClient(gw: TestGateway, apiKey: string, timeoutMs = 8000): Anthropic {
  return new Anthropic({ apiKey, baseURL: gw.base, maxRetries: 0, timeout: timeoutMs });
}

export interface SseEvent {
  event: string | null;
  data: string;
  /** `data` parsed as JSON when it is JSON, else null. */
  json: Row | null;
}

/** Parses an SSE body into events and comment lines (`: keepalive`). */
export function parseSse(text: string): { events: SseEvent[]; comments: string[] } {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  for (const block of text.split(/\n\n/)) {
    if (!block.trim()) continue;
    let event: string | null = null;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) comments.push(line.slice(1).trim());
      else if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    if (event === null && data.length === 0) continue;
    const joined = data.join("\n");
    let json: Row | null = null;
    try {
      const parsed: unknown = JSON.parse(joined);
      json = parsed && typeof parsed === "object" ? (parsed as Row) : null;
    } catch {
      json = null;
    }
    events.push({ event, data: joined, json });
  }
  return { events, comments };
}

/** POST JSON with a bearer token; returns the raw Response. */
export function post(
  gw: TestGateway,
  path: string,
  token: string | null,
  body: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(gw.base + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify(body),
    signal,
  });
}

/** Prices `provider:model` (USD per million tokens). */
export async function price(gw: TestGateway, modelKey: string, input: number, output: number): Promise<void> {
  await gw.admin("POST", "/v1/pricing", {
    model_key: modelKey,
    input_price_per_million: input,
    output_price_per_million: output,
  });
}

/** Prices `provider:model` in a unit other than tokens (`image`, `character`, ...): USD per million units. */
export async function unitPrice(gw: TestGateway, modelKey: string, perMillion: number, unit: string): Promise<void> {
  await gw.admin("POST", "/v1/pricing", {
    model_key: modelKey,
    input_price_per_million: perMillion,
    output_price_per_million: 0,
    unit,
  });
}

/** What a route suite's tests use; read in tests (set up by the suite's beforeAll). */
export interface RouteSuite {
  readonly gw: TestGateway;
  /** A key of the suite's user. */
  readonly key: string;
  /** That user's usage rows that appeared since the previous call. */
  newRows(): Promise<Row[]>;
}

/**
 * The frame every route suite shares: a fresh database, a gateway on it with `config` (a function when it needs
 * what an earlier beforeAll started, e.g. a mock's address), a key of `userId`, torn down after the suite.
 */
export function routeSuite(
  create: () => Promise<TestDatabase>,
  userId: string,
  config: () => Parameters<typeof startTestGateway>[1] = () => ({}),
): RouteSuite {
  let db: TestDatabase | undefined;
  let gw: TestGateway | undefined;
  let key = "";
  let tracker: (() => Promise<Row[]>) | undefined;
  beforeAll(async () => {
    db = await create();
    gw = await startTestGateway(db, config());
    key = (await gw.createKey({ user_id: userId })).key;
    tracker = rowTracker(gw, userId);
  });
  afterAll(async () => {
    await gw?.close();
    await db?.drop();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the route suite is not set up (used outside a test?)");
    return value;
  };
  return {
    get gw() {
      return ready(gw);
    },
    get key() {
      return key;
    },
    newRows: () => ready(tracker)(),
  };
}

/** Creates a budget and a user on it; returns a key for that user. */
export async function budgetUser(
  gw: TestGateway,
  userId: string,
  maxBudget: number | null,
): Promise<{ key: string; id: string; budgetId: string }> {
  const budget = await gw.admin<{ budget_id: string }>("POST", "/v1/budgets", { max_budget: maxBudget });
  await gw.admin("POST", "/v1/users", { user_id: userId, budget_id: budget.budget_id });
  const key = await gw.createKey({ user_id: userId });
  return { key: key.key, id: key.id, budgetId: budget.budget_id };
}

/** Usage rows of one user (flushes the writer first). */
export async function rowsOf(gw: TestGateway, userId: string): Promise<Row[]> {
  return gw.usage(`user_id=${encodeURIComponent(userId)}`);
}

/** Hands out the usage rows of `userId` that appeared since the previous call (ties in timestamps never confuse it). */
export function rowTracker(gw: TestGateway, userId: string): () => Promise<Row[]> {
  const seen = new Set<string>();
  return async () => {
    const rows = (await rowsOf(gw, userId)).filter((r) => !seen.has(String(r["id"])));
    for (const r of rows) seen.add(String(r["id"]));
    return rows;
  };
}

/** The error a call rejects with (the SDKs' APIPromise is not a plain Promise, so `expect().rejects` is avoided). */
export async function failure(call: PromiseLike<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to fail, it succeeded");
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns whether it succeeded. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 3000,
  stepMs = 25,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > until) return false;
    await Bun.sleep(stepMs);
  }
}

export const hi = [{ role: "user" as const, content: "hi" }];

/** USD cost of a usage at USD-per-million rates, as the spec computes it. */
export const usd = (prompt: number, completion: number, inRate: number, outRate: number): number =>
  (prompt * inRate + completion * outRate) / 1e6;
