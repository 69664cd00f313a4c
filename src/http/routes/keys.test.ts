/** /v1/keys over HTTP on both dialects (docs/api.md#keys, docs/behaviour/auth.md). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import {
  createTestApp,
  expectError,
  expectMasterOnly,
  expectSecurityHeaders,
  expectValidation,
  headerForms,
  insertUsageRow,
  list,
  MASTER_KEY,
  obj,
  type TestApp,
} from "../../../tests/helpers/app";
import { DIALECTS, type TestDatabase } from "../../../tests/helpers/db";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00$/;

describe.each(DIALECTS)("keys routes on $dialect", ({ create }) => {
  let db: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    db = await create();
    t = createTestApp(db);
  });
  afterAll(async () => {
    await db.drop();
  });

  const createKey = async (body: Record<string, unknown> = {}) => {
    const res = await t.call("POST", "/v1/keys", { body });
    expect(res.status).toBe(200);
    return obj(res);
  };
  /** A K|M route, to see whether a virtual key authenticates. */
  const useKey = (key: string) => t.call("GET", "/v1/pricing", { token: key });

  test("POST /v1/keys returns the secret once: gw- prefix, 67 chars, active, timestamps (item 1)", async () => {
    const res = await t.call("POST", "/v1/keys", { body: { key_name: "first" } });
    expect(res.status).toBe(200);
    expectSecurityHeaders(res);
    const key = obj(res);
    expect(typeof key.key).toBe("string");
    const secret = key.key as string;
    expect(secret.startsWith("gw-")).toBe(true);
    expect(secret).toHaveLength(67);
    expect(secret).toMatch(/^gw-[A-Za-z0-9_-]{64}$/);
    expect(key.is_active).toBe(true);
    expect(key.created_at).toMatch(ISO);
    expect(key.expires_at).toBeNull();
    expect(key.key_name).toBe("first");
    expect(key.metadata).toEqual({});
    expect(key.key_prefix).toBe(secret.slice(0, 10));
    expect(key.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(key).not.toHaveProperty("last_used_at");
    expect((await useKey(secret)).status).toBe(200);
  });

  test("the secret is stored only as its SHA-256", async () => {
    const key = await createKey();
    const [row] = await t.store.db
      .select()
      .from(t.store.t.apiKeys)
      .where(eq(t.store.t.apiKeys.id, key.id as string));
    expect(row?.keyHash).toBe(new Bun.CryptoHasher("sha256").update(key.key as string).digest("hex"));
    expect(JSON.stringify(row)).not.toContain(key.key as string);
  });

  test("every route is master-only: 401 without/with a wrong credential, a virtual key is not the master key (items 2, 10)", async () => {
    const key = await createKey();
    const virtual = key.key as string;
    const id = key.id as string;
    await expectMasterOnly(t, "POST", "/v1/keys", virtual, { bogus: 1 });
    await expectMasterOnly(t, "GET", "/v1/keys", virtual);
    await expectMasterOnly(t, "GET", "/v1/keys?limit=0", virtual);
    await expectMasterOnly(t, "GET", `/v1/keys/${id}`, virtual);
    await expectMasterOnly(t, "PATCH", `/v1/keys/${id}`, virtual, { bogus: 1 });
    await expectMasterOnly(t, "DELETE", `/v1/keys/${id}`, virtual);
    await expectMasterOnly(t, "POST", `/v1/keys/${id}/rotate`, virtual);
    // None of the refused calls changed anything.
    expect(obj(await t.call("GET", `/v1/keys/${id}`)).key_prefix).toBe(virtual.slice(0, 10));
  });

  test("item 10: a header without 'Bearer ' names Bearer; no header names Otari-Key", async () => {
    const bad = expectError(
      await t.call("GET", "/v1/keys", { token: null, headers: { "otari-key": MASTER_KEY } }),
      401,
    );
    expect(bad.error.message).toContain("Bearer");
    expect(bad.error.code).toBe("invalid_header_format");
    const none = expectError(await t.call("GET", "/v1/keys", { token: null }), 401);
    expect(none.error.message).toContain("Otari-Key");
    expect(none.error.code).toBe("missing_api_key");
  });

  test("each credential header form carries the master key", async () => {
    for (const [name, headers] of headerForms(MASTER_KEY)) {
      const res = await t.call("GET", "/v1/keys", { token: null, headers });
      expect({ name, status: res.status }).toEqual({ name, status: 200 });
    }
  });

  test("header precedence: Otari-Key beats Authorization; a malformed higher header is an error", async () => {
    const ok = await t.call("GET", "/v1/keys", {
      token: null,
      headers: { "otari-key": `Bearer ${MASTER_KEY}`, authorization: "Bearer wrong" },
    });
    expect(ok.status).toBe(200);
    expectError(
      await t.call("GET", "/v1/keys", {
        token: null,
        headers: { "otari-key": "Bearer wrong", authorization: `Bearer ${MASTER_KEY}` },
      }),
      401,
      "Invalid master key",
    );
    expectError(
      await t.call("GET", "/v1/keys", {
        token: null,
        headers: { "anyllm-key": "Bearer wrong", authorization: `Bearer ${MASTER_KEY}` },
      }),
      401,
      "Invalid master key",
    );
    expectError(
      await t.call("GET", "/v1/keys", {
        token: null,
        headers: { "x-anyllm-key": MASTER_KEY, authorization: `Bearer ${MASTER_KEY}` },
      }),
      401,
      "Invalid header format. Expected 'Bearer <token>'",
    );
  });

  test("GET /v1/keys/{id} never includes the secret; an unknown id is 404 (item 4)", async () => {
    const key = await createKey({ key_name: "lookup" });
    const res = await t.call("GET", `/v1/keys/${key.id}`);
    expect(res.status).toBe(200);
    const info = obj(res);
    expect(info).not.toHaveProperty("key");
    expect(res.text).not.toContain(key.key as string);
    expect(info.last_used_at).toBeNull();
    expect(info.key_prefix).toBe((key.key as string).slice(0, 10));
    expect(info.user_id).toBe(key.user_id);
    const missing = expectError(
      await t.call("GET", "/v1/keys/no-such-key"),
      404,
      "API key with id 'no-such-key' not found",
    );
    expect(missing.error.code).toBe("not_found");
  });

  test("GET /v1/keys lists KeyInfo without secrets, newest first, with skip/limit", async () => {
    const a = await createKey({ key_name: "page-a" });
    t.clock.advance(1000);
    const b = await createKey({ key_name: "page-b" });
    const all = list(await t.call("GET", "/v1/keys?limit=1000"));
    for (const k of all) expect(k).not.toHaveProperty("key");
    const ids = all.map((k) => k.id);
    expect(ids.indexOf(b.id)).toBeLessThan(ids.indexOf(a.id));
    const first = list(await t.call("GET", "/v1/keys?limit=1"));
    expect(first).toHaveLength(1);
    expect(first[0]?.id).toBe(b.id);
    const second = list(await t.call("GET", "/v1/keys?skip=1&limit=1"));
    expect(second[0]?.id).toBe(ids[1]);
    expect(list(await t.call("GET", "/v1/keys?skip=100000"))).toEqual([]);
  });

  test("PATCH changes name and is_active together; metadata replaces the whole object (item 5)", async () => {
    const key = await createKey({ key_name: "orig", metadata: { a: 1, b: { c: 2 } } });
    const res = await t.call("PATCH", `/v1/keys/${key.id}`, { body: { key_name: "x", is_active: false } });
    expect(res.status).toBe(200);
    const info = obj(res);
    expect(info.key_name).toBe("x");
    expect(info.is_active).toBe(false);
    expect(info.metadata).toEqual({ a: 1, b: { c: 2 } });
    const meta = obj(await t.call("PATCH", `/v1/keys/${key.id}`, { body: { metadata: { z: true } } }));
    expect(meta.metadata).toEqual({ z: true });
    expect(meta.key_name).toBe("x");
    // Absent and null fields are left unchanged.
    const same = obj(
      await t.call("PATCH", `/v1/keys/${key.id}`, { body: { key_name: null, metadata: null, is_active: null } }),
    );
    expect(same.key_name).toBe("x");
    expect(same.metadata).toEqual({ z: true });
    expect(same.is_active).toBe(false);
    expect(obj(await t.call("PATCH", `/v1/keys/${key.id}`, { body: {} })).key_name).toBe("x");
    // An inactive key is refused with its own message; reactivating restores it.
    expectError(await useKey(key.key as string), 401, "API key is inactive");
    expect(obj(await t.call("PATCH", `/v1/keys/${key.id}`, { body: { is_active: true } })).is_active).toBe(true);
    expect((await useKey(key.key as string)).status).toBe(200);
  });

  test("expires_at round-trips (naive = UTC); an expired key is refused", async () => {
    const key = await createKey({ expires_at: "2099-01-02T03:04:05" });
    expect(key.expires_at).toBe("2099-01-02T03:04:05.000+00:00");
    expect((await useKey(key.key as string)).status).toBe(200);
    const past = obj(
      await t.call("PATCH", `/v1/keys/${key.id}`, { body: { expires_at: "2001-01-01T00:00:00+02:00" } }),
    );
    expect(past.expires_at).toBe("2000-12-31T22:00:00.000+00:00");
    expectError(await useKey(key.key as string), 401, "API key has expired");
  });

  test("rpm_limit, tpm_limit and allowed_models round-trip on create, get, list and PATCH", async () => {
    const key = await createKey({ rpm_limit: 7, tpm_limit: 7000, allowed_models: ["openai:gpt-4o", "anthropic:*"] });
    expect(key.rpm_limit).toBe(7);
    expect(key.tpm_limit).toBe(7000);
    expect(key.allowed_models).toEqual(["openai:gpt-4o", "anthropic:*"]);
    const got = obj(await t.call("GET", `/v1/keys/${key.id}`));
    expect([got.rpm_limit, got.tpm_limit, got.allowed_models]).toEqual([7, 7000, ["openai:gpt-4o", "anthropic:*"]]);
    const listed = list(await t.call("GET", "/v1/keys?limit=1000")).find((k) => k.id === key.id);
    expect(listed?.allowed_models).toEqual(["openai:gpt-4o", "anthropic:*"]);
    const patched = obj(await t.call("PATCH", `/v1/keys/${key.id}`, { body: { rpm_limit: 9, allowed_models: [] } }));
    expect([patched.rpm_limit, patched.tpm_limit, patched.allowed_models]).toEqual([9, 7000, []]);
    const plain = await createKey();
    expect([plain.rpm_limit, plain.tpm_limit, plain.allowed_models]).toEqual([null, null, null]);
  });

  test("rotate: a new secret at once, the old one is refused; id, name, user, expiry, metadata and limits are kept", async () => {
    const key = await createKey({
      key_name: "rotating",
      metadata: { team: "a" },
      expires_at: "2099-01-01T00:00:00Z",
      rpm_limit: 5,
      tpm_limit: 500,
      allowed_models: ["openai:*"],
    });
    const old = key.key as string;
    expect((await useKey(old)).status).toBe(200);
    const res = await t.call("POST", `/v1/keys/${key.id}/rotate`);
    expect(res.status).toBe(200);
    const rotated = obj(res);
    const fresh = rotated.key as string;
    expect(fresh).not.toBe(old);
    expect(fresh).toMatch(/^gw-[A-Za-z0-9_-]{64}$/);
    expect(rotated.key_prefix).toBe(fresh.slice(0, 10));
    for (const field of [
      "id",
      "key_name",
      "user_id",
      "created_at",
      "expires_at",
      "is_active",
      "metadata",
      "rpm_limit",
      "tpm_limit",
      "allowed_models",
    ]) {
      expect({ field, value: rotated[field] }).toEqual({ field, value: key[field] });
    }
    expectError(await useKey(old), 401, "Invalid API key");
    expect((await useKey(fresh)).status).toBe(200);
    expect(obj(await t.call("GET", `/v1/keys/${key.id}`)).key_prefix).toBe(fresh.slice(0, 10));
    expectError(await t.call("POST", "/v1/keys/nope/rotate"), 404, "API key with id 'nope' not found");
  });

  test("DELETE is a hard delete: 204, then 404, usage rows survive with api_key_id null (item 7)", async () => {
    const key = await createKey({ key_name: "doomed" });
    const rowId = await insertUsageRow(t.store, { userId: key.user_id as string, apiKeyId: key.id as string });
    const res = await t.call("DELETE", `/v1/keys/${key.id}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe("");
    expectSecurityHeaders(res);
    expectError(await t.call("GET", `/v1/keys/${key.id}`), 404, `API key with id '${key.id}' not found`);
    expectError(await t.call("DELETE", `/v1/keys/${key.id}`), 404);
    expectError(await t.call("PATCH", `/v1/keys/${key.id}`, { body: { key_name: "y" } }), 404);
    expectError(await useKey(key.key as string), 401, "Invalid API key");
    const rows = list(await t.call("GET", `/v1/usage?user_id=${key.user_id}`));
    expect(rows).toHaveLength(1);
    expect(rows[0]?.id).toBe(rowId);
    expect(rows[0]?.api_key_id).toBeNull();
    expect(rows[0]?.user_id).toBe(key.user_id);
    expect(rows[0]?.cost).toBe(0.001234);
  });

  test("a key without user_id gets a virtual user apikey-<id> (item 18)", async () => {
    const named = await createKey({ key_name: "svc" });
    expect(named.user_id).toBe(`apikey-${named.id}`);
    const user = obj(await t.call("GET", `/v1/users/${named.user_id}`));
    expect(user.alias).toBe("Virtual user for API key: svc");
    const unnamed = await createKey();
    const user2 = obj(await t.call("GET", `/v1/users/${unnamed.user_id}`));
    expect(user2.alias).toContain("Virtual user");
    expect(user2.alias).toBe("Virtual user for API key: unnamed");
  });

  test("a key for an unknown user creates the user; for an existing user it binds to it", async () => {
    const key = await createKey({ user_id: "auto-user" });
    expect(key.user_id).toBe("auto-user");
    expect(obj(await t.call("GET", "/v1/users/auto-user")).alias).toBe("User auto-user");
    await t.call("POST", "/v1/users", { body: { user_id: "known-user", alias: "Known" } });
    const bound = await createKey({ user_id: "known-user" });
    expect(bound.user_id).toBe("known-user");
    expect(obj(await t.call("GET", "/v1/users/known-user")).alias).toBe("Known");
  });

  test("a key for a soft-deleted user is 404 naming POST /v1/users (item 17)", async () => {
    expect((await t.call("POST", "/v1/users", { body: { user_id: "gone-user" } })).status).toBe(200);
    expect((await t.call("DELETE", "/v1/users/gone-user")).status).toBe(204);
    const err = expectError(
      await t.call("POST", "/v1/keys", { body: { user_id: "gone-user" } }),
      404,
      "User 'gone-user' has been deleted. Recreate via POST /v1/users first.",
    );
    expect(err.error.message).toContain("Recreate via POST /v1/users first");
  });

  test("bad bodies: malformed JSON, wrong types, unknown fields, absurd limits -> 422 lists", async () => {
    const malformed = await t.call("POST", "/v1/keys", { body: "{not json" });
    expectValidation(malformed, ["body"]);
    expect(obj(malformed).error).toMatchObject({ code: "validation_error", type: "invalid_request_error" });
    expectValidation(await t.call("POST", "/v1/keys", { body: "[]" }), ["body"]);
    expectValidation(await t.call("POST", "/v1/keys", { body: { bogus: 1 } }), ["body", "bogus"]);
    expectValidation(await t.call("POST", "/v1/keys", { body: { key_name: 5 } }), ["body", "key_name"]);
    expectValidation(await t.call("POST", "/v1/keys", { body: { metadata: "x" } }), ["body", "metadata"]);
    expectValidation(await t.call("POST", "/v1/keys", { body: { metadata: [1] } }), ["body", "metadata"]);
    expectValidation(await t.call("POST", "/v1/keys", { body: { expires_at: "tomorrow" } }), ["body", "expires_at"]);
    expectValidation(await t.call("POST", "/v1/keys", { body: { user_id: "" } }), ["body", "user_id"]);
    expectValidation(await t.call("POST", "/v1/keys", { body: { rpm_limit: 0 } }), ["body", "rpm_limit"]);
    expectValidation(await t.call("POST", "/v1/keys", { body: { rpm_limit: -1 } }), ["body", "rpm_limit"]);
    expectValidation(await t.call("POST", "/v1/keys", { body: { tpm_limit: 1.5 } }), ["body", "tpm_limit"]);
    expectValidation(await t.call("POST", "/v1/keys", { body: { tpm_limit: 1e15 } }), ["body", "tpm_limit"]);
    expectValidation(await t.call("POST", "/v1/keys", { body: { rpm_limit: "5" } }), ["body", "rpm_limit"]);
    expectValidation(await t.call("POST", "/v1/keys", { body: { allowed_models: ["gpt-4o"] } }), [
      "body",
      "allowed_models",
      0,
    ]);
    expectValidation(await t.call("POST", "/v1/keys", { body: { allowed_models: "openai:*" } }), [
      "body",
      "allowed_models",
    ]);
    const two = await t.call("POST", "/v1/keys", { body: { bogus: 1, other: 2 } });
    expectValidation(two, ["body", "other"]);
    expect(obj(two).error).toMatchObject({ message: expect.stringContaining("(and 1 more)") });
    const key = await createKey();
    expectValidation(await t.call("PATCH", `/v1/keys/${key.id}`, { body: { is_active: "no" } }), ["body", "is_active"]);
    expectValidation(await t.call("PATCH", `/v1/keys/${key.id}`, { body: { key: "gw-xyz" } }), ["body", "key"]);
    expectValidation(await t.call("PATCH", `/v1/keys/${key.id}`, { body: "{" }), ["body"]);
    // Nothing was created by the refused requests.
    const before = list(await t.call("GET", "/v1/keys?limit=1000")).length;
    await t.call("POST", "/v1/keys", { body: { rpm_limit: 0 } });
    expect(list(await t.call("GET", "/v1/keys?limit=1000")).length).toBe(before);
  });

  test("422 bodies never echo the input", async () => {
    const res = await t.call("POST", "/v1/keys", { body: { key_name: { secret: "hunter2-secret-value" } } });
    expectValidation(res, ["body", "key_name"]);
    expect(res.text).not.toContain("hunter2-secret-value");
  });

  test("pagination out of range -> 422 (item 26)", async () => {
    expectValidation(await t.call("GET", "/v1/keys?limit=1001"), ["query", "limit"]);
    expectValidation(await t.call("GET", "/v1/keys?limit=0"), ["query", "limit"]);
    expectValidation(await t.call("GET", "/v1/keys?skip=-1"), ["query", "skip"]);
    expectValidation(await t.call("GET", "/v1/keys?limit=abc"), ["query", "limit"]);
    expectValidation(await t.call("GET", "/v1/keys?limit=1.5"), ["query", "limit"]);
    expect((await t.call("GET", "/v1/keys?limit=1000&skip=0")).status).toBe(200);
  });

  test("wrong method -> 405 with Allow; unknown path -> 404", async () => {
    const put = expectError(await t.call("PUT", "/v1/keys"), 405, "Method Not Allowed");
    expect(put.error.code).toBe("method_not_allowed");
    const res = await t.call("DELETE", "/v1/keys");
    expectError(res, 405, "Method Not Allowed");
    expect(res.headers.get("allow")).toContain("GET");
    expectError(await t.call("PUT", "/v1/keys/some-id"), 405);
    expectError(await t.call("GET", "/v1/keys/some-id/rotate"), 405);
    expectError(await t.call("GET", "/v1/keys/some-id/nothing"), 404, "Not Found");
    expectError(await t.call("GET", "/v1/keyz"), 404, "Not Found");
  });

  test("oversized body -> 413", async () => {
    const small = createTestApp(db, { config: { max_request_body_bytes: 1024 } });
    // Clients send Content-Length; Bun.serve's maxRequestBodySize covers chunked bodies in production.
    const body = JSON.stringify({ key_name: "x".repeat(4096) });
    const res = await small.call("POST", "/v1/keys", { body, headers: { "content-length": String(body.length) } });
    const err = expectError(res, 413);
    expect(err.error.code).toBe("request_too_large");
    expect((await small.call("POST", "/v1/keys", { body: { key_name: "fits" } })).status).toBe(200);
  });
});

describe.each(DIALECTS)("keys routes without a master key on $dialect", ({ create }) => {
  let db: TestDatabase;
  let t: TestApp;
  beforeAll(async () => {
    db = await create();
    t = createTestApp(db, { masterKey: null });
  });
  afterAll(async () => {
    await db.drop();
  });

  test("every route answers 503 Master key not configured (item 3)", async () => {
    const message = "Master key not configured. Set OTARI_MASTER_KEY environment variable.";
    for (const [method, path] of [
      ["POST", "/v1/keys"],
      ["GET", "/v1/keys"],
      ["GET", "/v1/keys/x"],
      ["PATCH", "/v1/keys/x"],
      ["DELETE", "/v1/keys/x"],
      ["POST", "/v1/keys/x/rotate"],
    ] as const) {
      const err = expectError(
        await t.call(method, path, { body: method === "GET" || method === "DELETE" ? undefined : {} }),
        503,
        message,
      );
      expect(err.error.code).toBe("master_key_not_configured");
      expectError(await t.call(method, path, { token: "anything" }), 503, message);
    }
  });
});
