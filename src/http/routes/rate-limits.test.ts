/**
 * /v1/rate-limits and /v1/alerts over HTTP on both dialects: config.yml's rules shown read-only, the API's rules'
 * life cycle, alert rules (secret never shown, test posts signed), and every bad input.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, expectError, expectValidation, list, obj, type TestApp } from "../../../tests/helpers/app";
import { DIALECTS, type TestDatabase } from "../../../tests/helpers/db";
import { hmacSha256Hex } from "../../runtime/crypto";

describe.each(DIALECTS)("rate-limit rules and alert rules on $dialect", ({ create }) => {
  let db: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    db = await create();
    t = createTestApp(db, {
      config: {
        rate_limits: [
          { scope: "global", model: "openai:*", rpm: 600 },
          { scope: "user", max_concurrent: 4 },
        ],
      },
    });
  });
  afterAll(async () => {
    await db.drop();
  });

  const ok = async (method: string, path: string, body?: unknown) => {
    const res = await t.call(method, path, { body });
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
    return obj(res);
  };

  test("config.yml's rules are listed first and are read-only (409); the API's rules are created, patched, deleted", async () => {
    const configured = list(await t.call("GET", "/v1/rate-limits"));
    expect(configured).toEqual([
      {
        id: "config-1",
        scope: "global",
        scope_id: null,
        model: "openai:*",
        rpm: 600,
        tpm: null,
        max_concurrent: null,
        source: "config",
        created_at: null,
        updated_at: null,
      },
      {
        id: "config-2",
        scope: "user",
        scope_id: null,
        model: null,
        rpm: null,
        tpm: null,
        max_concurrent: 4,
        source: "config",
        created_at: null,
        updated_at: null,
      },
    ]);
    expect(await ok("GET", "/v1/rate-limits/config-2")).toEqual(configured[1] as Record<string, unknown>);
    const ro = expectError(await t.call("PATCH", "/v1/rate-limits/config-1", { body: { rpm: 1 } }), 409);
    expect(ro.error.message).toBe("Rate-limit rule 'config-1' comes from config.yml and is read-only here");
    expectError(await t.call("DELETE", "/v1/rate-limits/config-1"), 409);

    await ok("POST", "/v1/users", { user_id: "rita" });
    const rule = await ok("POST", "/v1/rate-limits", {
      scope: "user",
      scope_id: "rita",
      model: "anthropic:claude-x",
      tpm: 5000,
    });
    expect(rule).toMatchObject({
      scope: "user",
      scope_id: "rita",
      model: "anthropic:claude-x",
      tpm: 5000,
      source: "api",
    });
    const patched = await ok("PATCH", `/v1/rate-limits/${rule.id}`, { rpm: 30, max_concurrent: 2 });
    expect(patched).toMatchObject({ tpm: 5000, rpm: 30, max_concurrent: 2, model: "anthropic:claude-x" });
    // 0 removes a limit and "" the model; null and absent leave them.
    const cleared = await ok("PATCH", `/v1/rate-limits/${rule.id}`, { tpm: 0, model: "", rpm: null });
    expect(cleared).toMatchObject({ tpm: null, rpm: 30, max_concurrent: 2, model: null });
    // Removing every limit left is refused, and the rule stays as it was.
    expectValidation(await t.call("PATCH", `/v1/rate-limits/${rule.id}`, { body: { rpm: 0, max_concurrent: 0 } }), [
      "body",
    ]);
    expectValidation(await t.call("PATCH", `/v1/rate-limits/${rule.id}`, { body: { rpm: -1 } }), ["body", "rpm"]);
    expect(await ok("GET", `/v1/rate-limits/${rule.id}`)).toMatchObject({ tpm: null, rpm: 30, max_concurrent: 2 });
    expect(list(await t.call("GET", "/v1/rate-limits")).map((r) => r.id)).toEqual(["config-1", "config-2", rule.id]);
    expect((await t.call("DELETE", `/v1/rate-limits/${rule.id}`)).status).toBe(204);
    expectError(await t.call("GET", `/v1/rate-limits/${rule.id}`), 404, `Rate-limit rule '${rule.id}' not found`);
    expectError(await t.call("DELETE", `/v1/rate-limits/${rule.id}`), 404);
  });

  test("bad rules: no limit, a global scope_id, a bad model, negative or absurd limits 422; unknown subjects 404", async () => {
    const before = list(await t.call("GET", "/v1/rate-limits")).length;
    const post = (body: unknown) => t.call("POST", "/v1/rate-limits", { body });
    expectValidation(await post({ scope: "user" }), ["body"]);
    expectValidation(await post({ scope: "global", scope_id: "x", rpm: 1 }), ["body", "scope_id"]);
    expectValidation(await post({ scope: "org", rpm: 1 }), ["body", "scope"]);
    expectValidation(await post({ scope: "user", model: "gpt-4o", rpm: 1 }), ["body", "model"]);
    expectValidation(await post({ scope: "user", rpm: 0 }), ["body", "rpm"]);
    expectValidation(await post({ scope: "user", tpm: -5 }), ["body", "tpm"]);
    expectValidation(await post({ scope: "user", max_concurrent: 10 ** 8 }), ["body", "max_concurrent"]);
    expectError(await post({ scope: "team", scope_id: "nope", rpm: 1 }), 404, "Team with id 'nope' not found");
    expectError(await post({ scope: "user", scope_id: "nope", rpm: 1 }), 404, "User with id 'nope' not found");
    expectError(await post({ scope: "key", scope_id: "nope", rpm: 1 }), 404, "API key with id 'nope' not found");
    expect(list(await t.call("GET", "/v1/rate-limits")).length).toBe(before);
    expectValidation(await t.call("PATCH", "/v1/rate-limits/whatever", { body: { scope: "global" } }), [
      "body",
      "scope",
    ]);
  });

  test("alert rules: defaults, the secret never shown, PATCH, DELETE; bad URLs, thresholds and scopes refused", async () => {
    const rule = await ok("POST", "/v1/alerts", { scope: "any", url: "https://hooks.example.com/a", secret: "k" });
    expect(rule).toMatchObject({
      scope: "any",
      scope_id: null,
      thresholds: [80, 100],
      format: "json",
      has_secret: true,
    });
    expect(rule).not.toHaveProperty("secret");
    const patched = await ok("PATCH", `/v1/alerts/${rule.id}`, { thresholds: [100, 50], format: "slack", secret: "" });
    expect(patched).toMatchObject({ thresholds: [50, 100], format: "slack", has_secret: false });
    expect(list(await t.call("GET", "/v1/alerts")).map((r) => r.id)).toContain(rule.id);
    const post = (body: unknown) => t.call("POST", "/v1/alerts", { body });
    const before = list(await t.call("GET", "/v1/alerts")).length;
    expectValidation(await post({ scope: "any", url: "ftp://x.example/a" }), ["body", "url"]);
    expectValidation(await post({ scope: "any", url: "not a url" }), ["body", "url"]);
    expectValidation(await post({ scope: "any", url: "javascript:alert(1)" }), ["body", "url"]);
    expectValidation(await post({ scope: "any", url: "http://x", thresholds: [0] }), ["body", "thresholds", 0]);
    expectValidation(await post({ scope: "any", url: "http://x", thresholds: [-10] }), ["body", "thresholds", 0]);
    expectValidation(await post({ scope: "any", url: "http://x", thresholds: [5000] }), ["body", "thresholds", 0]);
    expectValidation(await post({ scope: "any", url: "http://x", thresholds: [80, 80] }), ["body", "thresholds"]);
    expectValidation(await post({ scope: "any", url: "http://x", thresholds: [] }), ["body", "thresholds"]);
    expectValidation(await post({ scope: "any", scope_id: "x", url: "http://x" }), ["body", "scope_id"]);
    expectValidation(await post({ scope: "org", url: "http://x" }), ["body", "scope"]);
    expectValidation(await post({ scope: "team", url: "http://x", format: "xml" }), ["body", "format"]);
    expectError(await post({ scope: "team", scope_id: "nope", url: "http://x" }), 404, "Team with id 'nope' not found");
    expectError(await post({ scope: "key", scope_id: "nope", url: "http://x" }), 404);
    expect(list(await t.call("GET", "/v1/alerts")).length).toBe(before);
    expectValidation(await t.call("PATCH", `/v1/alerts/${rule.id}`, { body: { url: "file:///etc/passwd" } }), [
      "body",
      "url",
    ]);
    expect((await ok("GET", `/v1/alerts/${rule.id}`)).format).toBe("slack");
    // Delivery history: none yet; a bad filter or limit 422.
    expect(list(await t.call("GET", `/v1/alerts/${rule.id}/deliveries`))).toEqual([]);
    expectValidation(await t.call("GET", `/v1/alerts/${rule.id}/deliveries?status=sent`), ["query", "status"]);
    expectValidation(await t.call("GET", `/v1/alerts/${rule.id}/deliveries?limit=0`), ["query", "limit"]);
    expect((await t.call("DELETE", `/v1/alerts/${rule.id}`)).status).toBe(204);
    expectError(await t.call("GET", `/v1/alerts/${rule.id}/deliveries`), 404, `Alert rule '${rule.id}' not found`);
    expectError(await t.call("GET", `/v1/alerts/${rule.id}`), 404, `Alert rule '${rule.id}' not found`);
    expectError(await t.call("POST", `/v1/alerts/${rule.id}/test`), 404);
  });

  test("POST /v1/alerts/{id}/test posts a signed test event and reports the answer; a dead webhook is not delivered", async () => {
    const seen: { body: string; signature: string | null }[] = [];
    const hook = Bun.serve({
      port: 0,
      async fetch(req) {
        seen.push({ body: await req.text(), signature: req.headers.get("x-gateway-signature") });
        return new Response("ok");
      },
    });
    try {
      const rule = await ok("POST", "/v1/alerts", {
        scope: "team",
        url: `http://127.0.0.1:${hook.port}/x`,
        secret: "shh",
        thresholds: [90],
      });
      expect(await ok("POST", `/v1/alerts/${rule.id}/test`)).toEqual({
        delivered: true,
        status_code: 200,
        error: null,
      });
      expect(seen).toHaveLength(1);
      const event = JSON.parse(seen[0]?.body ?? "{}");
      expect(event).toMatchObject({ type: "test", rule_id: rule.id, level: "team", threshold: 90 });
      const [t0, v1] = (seen[0]?.signature ?? "").split(",");
      expect(v1).toBe(`v1=${hmacSha256Hex("shh", `${t0?.slice(2)}.${seen[0]?.body}`)}`);
      await ok("PATCH", `/v1/alerts/${rule.id}`, { url: "http://127.0.0.1:9/nothing-listens" });
      const dead = await ok("POST", `/v1/alerts/${rule.id}/test`);
      expect(dead).toMatchObject({ delivered: false, status_code: null });
      expect(dead.error).toBeString();
    } finally {
      hook.stop(true);
    }
  });
});
