/** otari's values as its two databases hand them back, read into this gateway's rows; unreadable ones named. */
import { describe, expect, test } from "bun:test";
import { convert, masterKeyHash, toKey, toUsage, toUser } from "./rows";

const user = {
  user_id: "u1",
  alias: null,
  spend: 0.0000005,
  budget_id: "b1",
  budget_started_at: "2026-11-01 10:00:00.123456",
  next_budget_reset_at: "2026-12-01T10:00:00+00:00",
  blocked: 0,
  deleted_at: null,
  created_at: new Date("2026-01-01T00:00:00Z"),
  updated_at: null,
  metadata: '{"team": "a"}',
};

describe("values as SQLite and Postgres give them", () => {
  test("SQLAlchemy's naive text timestamps are UTC; offsets and Dates are kept; JSON text and 0/1 booleans are read", () => {
    const result = convert(toUser, user);
    if (!result.ok) throw new Error(result.reason);
    expect(result.row).toMatchObject({
      userId: "u1",
      spendMicros: 1, // 5e-7 USD, half-up
      reservedMicros: 0,
      budgetStartedAt: new Date("2026-11-01T10:00:00.123Z"),
      nextBudgetResetAt: new Date("2026-12-01T10:00:00Z"),
      blocked: false,
      metadata: { team: "a" },
      updatedAt: new Date("2026-01-01T00:00:00Z"),
    });
    const pg = convert(toUser, { ...user, blocked: true, metadata: { team: "b" }, spend: 12.3456785 });
    expect(pg.ok && pg.row).toMatchObject({ blocked: true, metadata: { team: "b" }, spendMicros: 12_345_679 });
  });

  test("a key keeps its hash (lowercased) and gets an empty display prefix", () => {
    const hash = "AB".repeat(32);
    const result = convert(toKey, {
      id: "k1",
      key_hash: hash,
      key_name: "n",
      user_id: null,
      created_at: "2026-01-01 00:00:00",
      last_used_at: null,
      expires_at: null,
      is_active: 1,
      metadata: null,
    });
    expect(result.ok && result.row).toMatchObject({
      keyHash: hash.toLowerCase(),
      keyPrefix: "",
      isActive: true,
      metadata: {},
    });
  });

  test("usage: null tokens and cost stay null (unpriced); the cache columns of a later otari are read when present", () => {
    const base = {
      id: "r1",
      api_key_id: null,
      user_id: "u1",
      timestamp: "2026-11-02 00:00:00.000000",
      model: "m",
      provider: null,
      endpoint: "/v1/chat/completions",
      prompt_tokens: null,
      completion_tokens: null,
      total_tokens: null,
      cost: null,
      status: "error",
      error_message: "boom",
    };
    expect(convert(toUsage, base)).toMatchObject({
      ok: true,
      row: { costMicros: null, promptTokens: null, cacheReadTokens: null, estimated: false },
    });
    expect(convert(toUsage, { ...base, cost: 0.0123454, cache_read_tokens: 7 })).toMatchObject({
      ok: true,
      row: { costMicros: 12345, cacheReadTokens: 7 },
    });
  });
});

describe("a row that cannot be read is reported, with the reason", () => {
  const usage = {
    id: "r1",
    api_key_id: null,
    user_id: null,
    timestamp: "2026-11-02 00:00:00",
    model: "m",
    provider: null,
    endpoint: "/e",
    prompt_tokens: 1,
    completion_tokens: 1,
    total_tokens: 2,
    cost: 0.1,
    status: "success",
    error_message: null,
  };
  const cases: [string, Record<string, unknown>, string][] = [
    ["a cost that is not a number", { cost: "n/a" }, "cost is not a number: 'n/a'"],
    ["a NaN cost", { cost: Number.NaN }, "cost is not a number: NaN"],
    ["a timestamp that is not one", { timestamp: "yesterday" }, "timestamp is not a timestamp: 'yesterday'"],
    ["a missing model", { model: null }, "model is missing"],
    ["a fractional token count", { prompt_tokens: 1.5 }, "prompt_tokens is not an integer: 1.5"],
    ["a negative token count", { completion_tokens: -3 }, "completion_tokens is negative: -3"],
  ];
  for (const [name, change, reason] of cases) {
    test(name, () => expect(convert(toUsage, { ...usage, ...change })).toEqual({ ok: false, reason }));
  }

  test("a key hash that is not a SHA-256 digest, metadata that is not an object, a boolean that is not one", () => {
    const key = {
      id: "k",
      key_hash: "a".repeat(64),
      key_name: null,
      user_id: null,
      created_at: "2026-01-01 00:00:00",
      last_used_at: null,
      expires_at: null,
      is_active: 1,
      metadata: "{}",
    };
    expect(convert(toKey, { ...key, key_hash: "abc" })).toEqual({
      ok: false,
      reason: "key_hash is not a SHA-256 hex digest: 'abc'",
    });
    expect(convert(toKey, { ...key, metadata: "[1]" })).toEqual({
      ok: false,
      reason: "metadata is not a JSON object: '[1]'",
    });
    expect(convert(toKey, { ...key, metadata: "{oops" })).toEqual({
      ok: false,
      reason: "metadata is not JSON: '{oops'",
    });
    expect(convert(toKey, { ...key, is_active: "maybe" })).toEqual({
      ok: false,
      reason: "is_active is not a boolean: 'maybe'",
    });
  });
});

test("a stored master-key hash is taken only when it is a SHA-256 digest", () => {
  expect(masterKeyHash("F".repeat(64))).toBe("f".repeat(64));
  expect(masterKeyHash("plaintext-key")).toBeNull();
  expect(masterKeyHash(null)).toBeNull();
});
