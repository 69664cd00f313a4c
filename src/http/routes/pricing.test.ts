/** /v1/pricing over HTTP on both dialects (docs/api.md#pricing, docs/behaviour/storage.md#pricing). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createGateway } from "../../gateway";
import {
  createTestApp,
  expectError,
  expectMasterOnly,
  expectValidation,
  list,
  MASTER_KEY,
  obj,
  type TestApp,
  testConfig,
} from "../../../tests/helpers/app";
import { DIALECTS, type TestDatabase } from "../../../tests/helpers/db";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00$/;

describe.each(DIALECTS)("pricing routes on $dialect", ({ create }) => {
  let db: TestDatabase;
  let t: TestApp;
  let virtual: string;

  beforeAll(async () => {
    db = await create();
    t = createTestApp(db, {
      config: { providers: { "my-vllm": { provider_type: "vllm", api_base: "http://127.0.0.1:1" } } },
    });
    virtual = obj(await t.call("POST", "/v1/keys", { body: {} })).key as string;
  });
  afterAll(async () => {
    await db.drop();
  });

  const setPrice = async (body: Record<string, unknown>) => {
    const res = await t.call("POST", "/v1/pricing", { body });
    if (res.status !== 200) throw new Error(`set price: ${res.status} ${res.text}`);
    return obj(res);
  };

  test("POST openai/gpt-4o stores openai:gpt-4o; reads need a credential, a virtual key suffices (item 23)", async () => {
    const p = await setPrice({
      model_key: "openai/gpt-4o",
      input_price_per_million: 2.5,
      output_price_per_million: 10,
    });
    expect(p).toMatchObject({ model_key: "openai:gpt-4o", input_price_per_million: 2.5, output_price_per_million: 10 });
    for (const field of ["effective_at", "created_at", "updated_at"]) expect(p[field]).toMatch(ISO);
    expectError(
      await t.call("GET", "/v1/pricing/openai:gpt-4o", { token: null }),
      401,
      "Missing Otari-Key or Authorization header",
    );
    const viaKey = await t.call("GET", "/v1/pricing/openai:gpt-4o", { token: virtual });
    expect(viaKey.status).toBe(200);
    expect(obj(viaKey)).toEqual(p);
    expect(obj(await t.call("GET", "/v1/pricing/openai:gpt-4o"))).toEqual(p);
    // The legacy slash form finds the colon row, through the multi-segment route too.
    expect(obj(await t.call("GET", "/v1/pricing/openai/gpt-4o", { token: virtual })).model_key).toBe("openai:gpt-4o");
    expect(obj(await t.call("GET", "/v1/pricing/openai%3Agpt-4o", { token: virtual })).model_key).toBe("openai:gpt-4o");
    expect(list(await t.call("GET", "/v1/pricing", { token: virtual })).map((r) => r.model_key)).toContain(
      "openai:gpt-4o",
    );
    expect(list(await t.call("GET", "/v1/pricing/openai:gpt-4o/history", { token: virtual }))).toHaveLength(1);
  });

  test("read routes: no credential / a bad key -> 401; a malformed key names the format", async () => {
    for (const path of [
      "/v1/pricing",
      "/v1/pricing/openai:gpt-4o",
      "/v1/pricing/openai:gpt-4o/history",
      "/v1/pricing/a/b/c",
    ]) {
      expectError(await t.call("GET", path, { token: null }), 401, "Missing Otari-Key or Authorization header");
      expectError(await t.call("GET", path, { token: `gw-${"a".repeat(60)}` }), 401, "Invalid API key");
      expectError(await t.call("GET", path, { token: "sk-abc" }), 401, /^Invalid API key format: /);
      expectError(
        await t.call("GET", path, { token: null, headers: { authorization: virtual } }),
        401,
        "Invalid header format. Expected 'Bearer <token>'",
      );
    }
    // Auth runs before query validation.
    expectError(await t.call("GET", "/v1/pricing?limit=0", { token: null }), 401);
    expectError(await t.call("GET", "/v1/pricing/openai:gpt-4o?as_of=garbage", { token: null }), 401);
  });

  test("write routes are master-only", async () => {
    await setPrice({ model_key: "openai:gpt-guarded", input_price_per_million: 1, output_price_per_million: 1 });
    await expectMasterOnly(t, "POST", "/v1/pricing", virtual, { model_key: 5 });
    await expectMasterOnly(t, "DELETE", "/v1/pricing/openai:gpt-guarded", virtual);
    await expectMasterOnly(t, "DELETE", "/v1/pricing/openai/gpt-guarded", virtual);
    expect(obj(await t.call("GET", "/v1/pricing/openai:gpt-guarded")).model_key).toBe("openai:gpt-guarded");
  });

  test("versions: as_of picks the older, history newest first, DELETE ?effective_at removes one (item 24)", async () => {
    const v1 = await setPrice({
      model_key: "anthropic:claude-x",
      input_price_per_million: 1,
      output_price_per_million: 2,
      effective_at: "2025-01-01T00:00:00Z",
    });
    const v2 = await setPrice({
      model_key: "anthropic:claude-x",
      input_price_per_million: 3,
      output_price_per_million: 4,
      effective_at: "2025-06-01T00:00:00+00:00",
    });
    expect(v1.effective_at).toBe("2025-01-01T00:00:00.000+00:00");
    const between = obj(await t.call("GET", "/v1/pricing/anthropic:claude-x?as_of=2025-03-01T00:00:00Z"));
    expect(between).toMatchObject({ input_price_per_million: 1, output_price_per_million: 2 });
    // as_of is inclusive; a naive datetime is UTC.
    expect(
      obj(await t.call("GET", "/v1/pricing/anthropic:claude-x?as_of=2025-06-01T00:00:00")).input_price_per_million,
    ).toBe(3);
    expect(obj(await t.call("GET", "/v1/pricing/anthropic:claude-x")).input_price_per_million).toBe(3);
    expectError(
      await t.call("GET", "/v1/pricing/anthropic:claude-x?as_of=2024-01-01T00:00:00Z"),
      404,
      "Pricing for model 'anthropic:claude-x' not found",
    );
    const history = list(await t.call("GET", "/v1/pricing/anthropic:claude-x/history"));
    expect(history.map((h) => h.effective_at)).toEqual([v2.effective_at, v1.effective_at]);
    const all = list(await t.call("GET", "/v1/pricing?limit=1000")).filter((r) => r.model_key === "anthropic:claude-x");
    expect(all.map((h) => h.effective_at)).toEqual([v2.effective_at, v1.effective_at]);
    const del = await t.call(
      "DELETE",
      `/v1/pricing/anthropic:claude-x?effective_at=${encodeURIComponent("2025-06-01T00:00:00Z")}`,
    );
    expect(del.status).toBe(204);
    expect(list(await t.call("GET", "/v1/pricing/anthropic:claude-x/history")).map((h) => h.effective_at)).toEqual([
      v1.effective_at,
    ]);
    expectError(
      await t.call("DELETE", "/v1/pricing/anthropic:claude-x?effective_at=2030-01-01T00:00:00Z"),
      404,
      "Pricing for model 'anthropic:claude-x' with effective_at 2030-01-01T00:00:00.000+00:00 not found",
    );
    expect((await t.call("DELETE", "/v1/pricing/anthropic:claude-x")).status).toBe(204);
    expectError(
      await t.call("GET", "/v1/pricing/anthropic:claude-x"),
      404,
      "Pricing for model 'anthropic:claude-x' not found",
    );
    expectError(
      await t.call("GET", "/v1/pricing/anthropic:claude-x/history"),
      404,
      "Pricing for model 'anthropic:claude-x' not found",
    );
    expectError(
      await t.call("DELETE", "/v1/pricing/anthropic:claude-x"),
      404,
      "Pricing for model 'anthropic:claude-x' not found",
    );
  });

  test("POST with an existing (model_key, effective_at) updates in place", async () => {
    const at = "2025-02-02T00:00:00Z";
    const first = await setPrice({
      model_key: "mistral:small",
      input_price_per_million: 1,
      output_price_per_million: 1,
      effective_at: at,
    });
    t.clock.advance(1000);
    const second = await setPrice({
      model_key: "mistral/small",
      input_price_per_million: 9,
      output_price_per_million: 8,
      effective_at: at,
    });
    expect(second).toMatchObject({
      model_key: "mistral:small",
      input_price_per_million: 9,
      output_price_per_million: 8,
      created_at: first.created_at,
    });
    expect(second.updated_at).not.toBe(first.updated_at);
    expect(list(await t.call("GET", "/v1/pricing/mistral:small/history"))).toHaveLength(1);
  });

  test("zero prices are accepted; negative, absurd or mistyped prices -> 422 (item 22)", async () => {
    const free = await setPrice({
      model_key: "openai:free-model",
      input_price_per_million: 0,
      output_price_per_million: 0,
    });
    expect(free).toMatchObject({ input_price_per_million: 0, output_price_per_million: 0 });
    const base = { model_key: "openai:bad", input_price_per_million: 1, output_price_per_million: 1 };
    expectValidation(await t.call("POST", "/v1/pricing", { body: { ...base, input_price_per_million: -0.01 } }), [
      "body",
      "input_price_per_million",
    ]);
    expectValidation(await t.call("POST", "/v1/pricing", { body: { ...base, output_price_per_million: -1 } }), [
      "body",
      "output_price_per_million",
    ]);
    expectValidation(await t.call("POST", "/v1/pricing", { body: { ...base, input_price_per_million: 1e9 } }), [
      "body",
      "input_price_per_million",
    ]);
    expectValidation(await t.call("POST", "/v1/pricing", { body: { ...base, input_price_per_million: "1" } }), [
      "body",
      "input_price_per_million",
    ]);
    expectValidation(
      await t.call("POST", "/v1/pricing", { body: { model_key: "openai:bad", input_price_per_million: 1 } }),
      ["body", "output_price_per_million"],
    );
    expectValidation(await t.call("POST", "/v1/pricing", { body: { ...base, effective_at: "yesterday" } }), [
      "body",
      "effective_at",
    ]);
    expectValidation(await t.call("POST", "/v1/pricing", { body: { ...base, currency: "EUR" } }), ["body", "currency"]);
    expectValidation(await t.call("POST", "/v1/pricing", { body: { ...base, model_key: "" } }), ["body", "model_key"]);
    expectValidation(await t.call("POST", "/v1/pricing", { body: "not json" }), ["body"]);
    expectError(await t.call("GET", "/v1/pricing/openai:bad"), 404);
  });

  test("a key that is not provider:model -> 400; an unknown provider -> 400; a configured named instance is accepted", async () => {
    const base = { input_price_per_million: 1, output_price_per_million: 1 };
    const bad = expectError(
      await t.call("POST", "/v1/pricing", { body: { ...base, model_key: "gpt-4o" } }),
      400,
      "Invalid model format. Expected 'provider:model', got 'gpt-4o'",
    );
    expect(bad.error).toMatchObject({ type: "invalid_request_error", param: "model_key" });
    expectError(await t.call("POST", "/v1/pricing", { body: { ...base, model_key: "openai:" } }), 400);
    expectError(await t.call("POST", "/v1/pricing", { body: { ...base, model_key: ":gpt" } }), 400);
    const unknown = expectError(
      await t.call("POST", "/v1/pricing", { body: { ...base, model_key: "nosuchprovider:gpt" } }),
      400,
      "Unsupported provider 'nosuchprovider'",
    );
    expect(unknown.error.code).toBe("unsupported_provider");
    expect((await setPrice({ ...base, model_key: "my-vllm:llama" })).model_key).toBe("my-vllm:llama");
    expect((await setPrice({ ...base, model_key: "OpenAI:Mixed-Case" })).model_key).toBe("openai:Mixed-Case");
  });

  test("model keys may contain '/': get, history and delete through the multi-segment routes", async () => {
    await setPrice({
      model_key: "openrouter:meta-llama/llama-3-70b",
      input_price_per_million: 0.5,
      output_price_per_million: 0.7,
    });
    const got = obj(await t.call("GET", "/v1/pricing/openrouter:meta-llama/llama-3-70b", { token: virtual }));
    expect(got.model_key).toBe("openrouter:meta-llama/llama-3-70b");
    expect(list(await t.call("GET", "/v1/pricing/openrouter:meta-llama/llama-3-70b/history"))).toHaveLength(1);
    expect((await t.call("DELETE", "/v1/pricing/openrouter:meta-llama/llama-3-70b")).status).toBe(204);
    expectError(
      await t.call("GET", "/v1/pricing/openrouter:meta-llama/llama-3-70b"),
      404,
      "Pricing for model 'openrouter:meta-llama/llama-3-70b' not found",
    );
  });

  test("legacy provider/model rows are found by the colon key", async () => {
    const at = new Date("2024-05-05T00:00:00Z");
    await t.store.db.insert(t.store.t.modelPricing).values({
      modelKey: "groq/legacy-model",
      effectiveAt: at,
      inputPricePerMillionMicros: 1_500_000,
      outputPricePerMillionMicros: 2_000_000,
      createdAt: at,
      updatedAt: at,
    });
    const got = obj(await t.call("GET", "/v1/pricing/groq:legacy-model"));
    expect(got).toMatchObject({
      model_key: "groq/legacy-model",
      input_price_per_million: 1.5,
      output_price_per_million: 2,
    });
    expect(list(await t.call("GET", "/v1/pricing/groq:legacy-model/history"))).toHaveLength(1);
  });

  test("GET /v1/pricing orders by model_key asc then effective_at desc, paginated", async () => {
    const all = list(await t.call("GET", "/v1/pricing?limit=1000"));
    const keys = all.map((r) => String(r.model_key));
    expect(keys).toEqual([...keys].sort());
    for (let i = 1; i < all.length; i++) {
      if (all[i]?.model_key === all[i - 1]?.model_key)
        expect(String(all[i]?.effective_at) < String(all[i - 1]?.effective_at)).toBe(true);
    }
    expect(list(await t.call("GET", "/v1/pricing?skip=1&limit=2")).map((r) => r.model_key)).toEqual(keys.slice(1, 3));
  });

  test("bad queries -> 422 (item 26)", async () => {
    expectValidation(await t.call("GET", "/v1/pricing?limit=1001"), ["query", "limit"]);
    expectValidation(await t.call("GET", "/v1/pricing?limit=0"), ["query", "limit"]);
    expectValidation(await t.call("GET", "/v1/pricing?skip=-1"), ["query", "skip"]);
    expectValidation(await t.call("GET", "/v1/pricing/openai:gpt-4o?as_of=not-a-date"), ["query", "as_of"]);
    expectValidation(await t.call("DELETE", "/v1/pricing/openai:gpt-4o?effective_at=nope"), ["query", "effective_at"]);
  });

  test("wrong method -> 405", async () => {
    expectError(await t.call("PUT", "/v1/pricing"), 405, "Method Not Allowed");
    expectError(await t.call("PATCH", "/v1/pricing/openai:gpt-4o"), 405, "Method Not Allowed");
  });
});

describe.each(DIALECTS)("pricing seeded from config at start-up on $dialect (item 25)", ({ create }) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await create();
  });
  afterAll(async () => {
    await db.drop();
  });

  const start = (
    pricing: Record<
      string,
      { input_price_per_million: number; output_price_per_million: number; effective_at?: string }
    >,
    providers: string[] = ["openai"],
  ) =>
    createGateway(
      testConfig(
        {
          master_key: MASTER_KEY,
          pricing,
          providers: Object.fromEntries(providers.map((p) => [p, { api_key: "sk-test" }])),
        },
        db.url,
      ),
      { printSecret: () => undefined },
    );

  test("config prices are in the DB after start; an existing row for the same key and time is kept", async () => {
    const at = "2025-03-03T00:00:00Z";
    const gw = await start({
      "openai/gpt-seeded": { input_price_per_million: 1, output_price_per_million: 2, effective_at: at },
    });
    try {
      const res = await gw.app.handle(
        new Request("http://localhost/v1/pricing/openai:gpt-seeded", {
          headers: { authorization: `Bearer ${MASTER_KEY}` },
        }),
      );
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        model_key: "openai:gpt-seeded",
        input_price_per_million: 1,
        output_price_per_million: 2,
      });
      const changed = await gw.app.handle(
        new Request("http://localhost/v1/pricing", {
          method: "POST",
          headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
          body: JSON.stringify({
            model_key: "openai:gpt-seeded",
            input_price_per_million: 5,
            output_price_per_million: 6,
            effective_at: at,
          }),
        }),
      );
      expect(changed.status).toBe(200);
    } finally {
      await gw.close();
    }
    const again = await start({
      "openai:gpt-seeded": { input_price_per_million: 1, output_price_per_million: 2, effective_at: at },
    });
    try {
      const res = await again.app.handle(
        new Request("http://localhost/v1/pricing/openai:gpt-seeded/history", {
          headers: { authorization: `Bearer ${MASTER_KEY}` },
        }),
      );
      const rows = (await res.json()) as { input_price_per_million: number }[];
      expect(rows).toHaveLength(1);
      expect(rows[0]?.input_price_per_million).toBe(5);
    } finally {
      await again.close();
    }
  });

  test("pricing for a provider missing from providers fails start-up", async () => {
    await expect(
      start({ "anthropic:claude-x": { input_price_per_million: 1, output_price_per_million: 1 } }, ["openai"]),
    ).rejects.toThrow(
      "Cannot set pricing for model 'anthropic:claude-x': provider 'anthropic' is not configured in the providers section",
    );
  });

  test("negative config prices fail config loading", () => {
    expect(() =>
      testConfig({ pricing: { "openai:x": { input_price_per_million: -1, output_price_per_million: 0 } } }),
    ).toThrow(/input_price_per_million/);
  });
});
