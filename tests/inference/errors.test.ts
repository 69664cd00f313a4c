/**
 * Every error class through the `openai` client (SPEC §4, §13 items 27-35, 53): the SDK must raise its own typed
 * exception, so the body carries `error.{message,type,code}` (and `detail`, checked with plain fetch).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { startOpenAIMock, type MockServer } from "../../src/providers/_mocks";
import { createSqliteDatabase, DIALECTS, type TestDatabase } from "../helpers/db";
import { MASTER_KEY, startTestGateway, type TestGateway } from "../helpers/gateway";
import { type Row, budgetUser, failure, hi, openaiClient, post } from "./_helpers";

type ApiError = InstanceType<typeof OpenAI.APIError>;

/** The gateway's message as the SDK parsed it (`err.message` is prefixed with the status). */
const text = (err: ApiError): string | undefined => (err.error as { message?: string } | undefined)?.message;

/** The typed error of a chat call. */
async function chatError(client: OpenAI, model: string, extra: Record<string, unknown> = {}): Promise<ApiError> {
  const err = await failure(
    client.chat.completions.create({
      model,
      messages: hi,
      ...extra,
    } as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming),
  );
  if (!(err instanceof OpenAI.APIError)) throw new Error(`not an APIError: ${String(err)}`);
  return err;
}

/** The raw error body of a chat call made with fetch. */
async function rawError(
  gw: TestGateway,
  token: string | null,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Row; headers: Headers }> {
  const res = await post(gw, "/v1/chat/completions", token, body, headers);
  return { status: res.status, body: (await res.json()) as Row, headers: res.headers };
}

function envelope(body: Row): { message: unknown; type: unknown; code: unknown } {
  const error = body["error"] as Row;
  expect(typeof error["message"]).toBe("string");
  expect(typeof error["type"]).toBe("string");
  return { message: error["message"], type: error["type"], code: error["code"] };
}

describe.each(DIALECTS)("error classes through the openai SDK ($dialect)", ({ create }) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let client: OpenAI;
  const user = "err-user";

  beforeAll(async () => {
    db = await create();
    gw = await startTestGateway(db);
    client = openaiClient(gw, (await gw.createKey({ user_id: user })).key);
  });
  afterAll(async () => {
    await gw.close();
    await db.drop();
  });

  test("400: provider 400 passes its own message, redacted", async () => {
    const err = await chatError(client, "openai:error-400");
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(text(err)).toContain("Invalid value for 'temperature'");
    expect(text(err)).not.toContain("sk-proj-abcdef1234567890XYZ");
    expect(text(err)).not.toContain("abc.def.ghi");
    expect(err.type).toBe("invalid_request_error");
  });

  test("400: gateway refusals (master key without user, bad selector, unknown provider, blank model)", async () => {
    const master = openaiClient(gw, MASTER_KEY);
    const noUser = await chatError(master, "openai:gpt-4o-mini");
    expect(noUser).toBeInstanceOf(OpenAI.BadRequestError);
    expect(text(noUser)).toBe("When using master key, 'user' field is required in request body");
    const badFormat = await chatError(client, "gpt-4o-mini");
    expect(badFormat).toBeInstanceOf(OpenAI.BadRequestError);
    expect(text(badFormat)).toBe("Invalid model format. Expected 'provider:model', got 'gpt-4o-mini'");
    const unknown = await chatError(client, "nosuch:model");
    expect(unknown).toBeInstanceOf(OpenAI.BadRequestError);
    expect(text(unknown)).toBe("Unsupported provider 'nosuch'");
    const blank = await chatError(client, "   ");
    expect(blank).toBeInstanceOf(OpenAI.BadRequestError);
    expect(text(blank)).toBe("Invalid request: model is required");
  });

  test("401: missing, malformed header, bad format, unknown, inactive, expired, rotated-old", async () => {
    const missing = await rawError(gw, null, { model: "openai:gpt-4o-mini", messages: hi });
    expect(missing.status).toBe(401);
    expect(envelope(missing.body)).toEqual({
      message: "Missing Otari-Key or Authorization header",
      type: "authentication_error",
      code: "missing_api_key",
    });
    expect(missing.body["detail"]).toBe("Missing Otari-Key or Authorization header");
    const noHeaderSdk = new OpenAI({
      apiKey: "unused",
      baseURL: `${gw.base}/v1`,
      maxRetries: 0,
      defaultHeaders: { authorization: null },
    });
    expect(await chatError(noHeaderSdk, "openai:gpt-4o-mini")).toBeInstanceOf(OpenAI.AuthenticationError);

    const malformedSdk = new OpenAI({
      apiKey: "unused",
      baseURL: `${gw.base}/v1`,
      maxRetries: 0,
      defaultHeaders: { authorization: "Token abc" },
    });
    const malformed = await chatError(malformedSdk, "openai:gpt-4o-mini");
    expect(malformed).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(text(malformed)).toBe("Invalid header format. Expected 'Bearer <token>'");
    expect(malformed.code).toBe("invalid_header_format");

    const badFormat = await chatError(openaiClient(gw, "sk-not-a-gateway-key"), "openai:gpt-4o-mini");
    expect(badFormat).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(text(badFormat)).toStartWith("Invalid API key format: ");

    const unknown = await chatError(openaiClient(gw, `gw-${"x".repeat(60)}`), "openai:gpt-4o-mini");
    expect(unknown).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(text(unknown)).toBe("Invalid API key");
    expect(unknown.code).toBe("invalid_api_key");

    const inactive = await gw.createKey({ user_id: user });
    await gw.admin("PATCH", `/v1/keys/${inactive.id}`, { is_active: false });
    const inactiveErr = await chatError(openaiClient(gw, inactive.key), "openai:gpt-4o-mini");
    expect(inactiveErr).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(text(inactiveErr)).toBe("API key is inactive");
    expect(inactiveErr.code).toBe("api_key_inactive");

    const expired = await gw.createKey({ user_id: user, expires_at: new Date(Date.now() + 3_600_000).toISOString() });
    await openaiClient(gw, expired.key).chat.completions.create({ model: "openai:gpt-4o-mini", messages: hi });
    await gw.admin("PATCH", `/v1/keys/${expired.id}`, { expires_at: new Date(Date.now() - 1000).toISOString() });
    const expiredErr = await chatError(openaiClient(gw, expired.key), "openai:gpt-4o-mini");
    expect(expiredErr).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(text(expiredErr)).toBe("API key has expired");
    expect(expiredErr.code).toBe("api_key_expired");

    const rotating = await gw.createKey({ user_id: user });
    await openaiClient(gw, rotating.key).chat.completions.create({ model: "openai:gpt-4o-mini", messages: hi });
    const rotated = await gw.admin<{ key: string; id: string }>("POST", `/v1/keys/${rotating.id}/rotate`);
    expect(rotated.id).toBe(rotating.id);
    const oldErr = await chatError(openaiClient(gw, rotating.key), "openai:gpt-4o-mini");
    expect(oldErr).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(text(oldErr)).toBe("Invalid API key");
    const ok = await openaiClient(gw, rotated.key).chat.completions.create({
      model: "openai:gpt-4o-mini",
      messages: hi,
    });
    expect(ok.choices.length).toBe(1);
  });

  test("403: blocked user, budget exceeded, model not allowed", async () => {
    await gw.admin("POST", "/v1/users", { user_id: "blocked-user", blocked: true });
    const blocked = await chatError(
      openaiClient(gw, (await gw.createKey({ user_id: "blocked-user" })).key),
      "openai:gpt-4o-mini",
    );
    expect(blocked).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(text(blocked)).toBe("User 'blocked-user' is blocked");
    expect(blocked.code).toBe("user_blocked");

    const broke = await budgetUser(gw, "broke-user", 0);
    const budget = await chatError(openaiClient(gw, broke.key), "openai:gpt-4o-mini");
    expect(budget).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(text(budget)).toBe("User 'broke-user' has exceeded budget limit");
    expect(budget.code).toBe("budget_exceeded");

    const narrow = openaiClient(gw, (await gw.createKey({ user_id: user, allowed_models: ["anthropic:*"] })).key);
    const notAllowed = await chatError(narrow, "openai:gpt-4o-mini");
    expect(notAllowed).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(text(notAllowed)).toBe("Model 'openai:gpt-4o-mini' is not allowed for this key");
    expect(notAllowed.code).toBe("model_not_allowed");
    expect((await narrow.chat.completions.create({ model: "anthropic:claude-x", messages: hi })).choices.length).toBe(
      1,
    );
  });

  test("404: the master key naming an unknown user (a key's `user` is its app's end-user id, never looked up)", async () => {
    const master = await chatError(openaiClient(gw, MASTER_KEY), "openai:gpt-4o-mini", { user: "ghost" });
    expect(master).toBeInstanceOf(OpenAI.NotFoundError);
    expect(text(master)).toBe("User 'ghost' not found");
    const served = await client.chat.completions.create({ model: "openai:gpt-4o-mini", messages: hi, user: "ghost" });
    expect(served.choices.length).toBe(1);
  });

  test("other provider statuses: 402 -> 502, 413 -> 413, 422 -> 400 (§4.4)", async () => {
    const credit = await chatError(client, "openai:error-402");
    expect(credit.status).toBe(502);
    expect(text(credit)).toBe("The provider account has insufficient credit");
    const tooLarge = await chatError(client, "openai:error-413");
    expect(tooLarge.status).toBe(413);
    expect(text(tooLarge)).toContain("Request too large");
    const invalid = await chatError(client, "openai:error-422");
    expect(invalid).toBeInstanceOf(OpenAI.BadRequestError);
  });

  test("allow-lists: the user's list binds every key; a key only narrows it; master key without user on embeddings", async () => {
    await gw.admin("POST", "/v1/users", { user_id: "listed-user", allowed_models: ["openai:gpt-4o-mini"] });
    const plain = openaiClient(gw, (await gw.createKey({ user_id: "listed-user" })).key);
    expect((await plain.chat.completions.create({ model: "openai:gpt-4o-mini", messages: hi })).choices.length).toBe(1);
    const refused = await chatError(plain, "anthropic:claude-x");
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(text(refused)).toBe("Model 'anthropic:claude-x' is not allowed for this key");
    const wider = openaiClient(
      gw,
      (await gw.createKey({ user_id: "listed-user", allowed_models: ["openai:*", "anthropic:*"] })).key,
    );
    expect(await chatError(wider, "anthropic:claude-x")).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const noUser = await failure(
      openaiClient(gw, MASTER_KEY).embeddings.create({ model: "openai:text-embedding-3-small", input: "x" }),
    );
    expect(noUser).toBeInstanceOf(OpenAI.BadRequestError);
    expect(text(noUser as ApiError)).toBe("When using master key, 'user' field is required in request body");
  });

  test("404 from the provider keeps its message", async () => {
    const err = await chatError(client, "openai:error-404");
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(text(err)).toContain("does not exist");
  });

  test("422: messages [] and a message without role; detail is the validation list", async () => {
    const empty = await failure(client.chat.completions.create({ model: "openai:gpt-4o-mini", messages: [] }));
    expect(empty).toBeInstanceOf(OpenAI.UnprocessableEntityError);
    const noRole = await failure(
      client.chat.completions.create({
        model: "openai:gpt-4o-mini",
        messages: [{ content: "x" } as unknown as OpenAI.Chat.Completions.ChatCompletionMessageParam],
      }),
    );
    expect(noRole).toBeInstanceOf(OpenAI.UnprocessableEntityError);
    expect(text(noRole as ApiError)).toContain("messages[0]: 'role' is required");
    const raw = await rawError(gw, MASTER_KEY, { model: "openai:gpt-4o-mini", messages: [{ content: "x" }] });
    expect(raw.status).toBe(422);
    expect(Array.isArray(raw.body["detail"])).toBe(true);
    expect(envelope(raw.body).code).toBe("validation_error");
    const nullContent = await client.chat.completions.create({
      model: "openai:gpt-4o-mini",
      messages: [{ role: "user", content: null as unknown as string }],
    });
    expect(nullContent.choices.length).toBe(1);
  });

  test("429: gateway RPM with X-RateLimit-* then Retry-After", async () => {
    const limited = openaiClient(gw, (await gw.createKey({ user_id: "rpm-user", rpm_limit: 3 })).key);
    const first = await limited.chat.completions.create({ model: "openai:gpt-4o-mini", messages: hi }).withResponse();
    expect(first.response.headers.get("x-ratelimit-limit")).toBe("3");
    expect(first.response.headers.get("x-ratelimit-remaining")).toBe("2");
    expect(Number(first.response.headers.get("x-ratelimit-reset"))).toBeGreaterThan(1e9);
    await limited.chat.completions.create({ model: "openai:gpt-4o-mini", messages: hi });
    await limited.chat.completions.create({ model: "openai:gpt-4o-mini", messages: hi });
    const err = await chatError(limited, "openai:gpt-4o-mini");
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(text(err)).toBe("Rate limit exceeded");
    expect(err.code).toBe("rate_limit_exceeded");
    expect(Number(err.headers?.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });

  test("429: provider rate limit forwards Retry-After (seconds, and converted from retry-after-ms)", async () => {
    const err = await chatError(client, "openai:error-429");
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(text(err)).toBe("The provider rate-limited this request");
    expect(err.headers?.get("retry-after")).toBe("7");
    const ms = await chatError(client, "openai:error-429-ms");
    expect(ms).toBeInstanceOf(OpenAI.RateLimitError);
    expect(ms.headers?.get("retry-after")).toBe("2");
  });

  test("502: provider 500, 401 and a malformed body; the upstream text never leaks", async () => {
    for (const [model, message] of [
      ["openai:error-500", "LLM provider error"],
      ["openai:error-503", "LLM provider error"],
      ["openai:error-401", "The provider rejected the gateway's credentials"],
      ["openai:malformed", "LLM provider error"],
    ] as const) {
      const err = await chatError(client, model);
      expect(err).toBeInstanceOf(OpenAI.InternalServerError);
      expect(err.status).toBe(502);
      expect(text(err)).toBe(message);
      expect(err.type).toBe("upstream_error");
    }
    const raw = await rawError(gw, MASTER_KEY, { model: "openai:error-500", messages: hi, user });
    expect(raw.body["detail"]).toBe("LLM provider error");
    expect(envelope(raw.body).message).toBe("LLM provider error");
    // a failing stream fails before the first byte: the same JSON error
    const stream = await failure(
      client.chat.completions.create({ model: "openai:error-500", messages: hi, stream: true }),
    );
    expect(stream).toBeInstanceOf(OpenAI.InternalServerError);
  });

  test("every error body carries error.message, error.type and detail equal to the message", async () => {
    for (const body of [
      { model: "openai:error-400", messages: hi, user },
      { model: "openai:error-429", messages: hi, user },
      { model: "nosuch:x", messages: hi, user },
      { model: "openai:gpt-4o-mini", messages: hi, user: "ghost" },
    ]) {
      const raw = await rawError(gw, MASTER_KEY, body);
      expect(raw.status).toBeGreaterThanOrEqual(400);
      expect(raw.body["detail"]).toBe(envelope(raw.body).message as string);
    }
  });
});

describe("configuration-dependent errors: 402 require_pricing, 504 provider timeout", () => {
  let db: TestDatabase;
  let gw: TestGateway;
  let slow: MockServer;
  let client: OpenAI;

  beforeAll(async () => {
    db = await createSqliteDatabase();
    slow = startOpenAIMock();
    gw = await startTestGateway(db, {
      require_pricing: true,
      providers: {
        openai: { api_key: "sk-test-openai-key", api_base: slow.apiBase, client_args: { timeout: 0.4 } },
      },
    });
    client = openaiClient(gw, (await gw.createKey({ user_id: "cfg-user" })).key);
  });
  afterAll(async () => {
    await gw.close();
    await slow.stop();
    await db.drop();
  });

  test("402: an unpriced model with require_pricing; a priced one passes", async () => {
    const err = await chatError(client, "openai:gpt-4o-mini");
    expect(err.status).toBe(402);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(text(err)).toBe("No pricing configured for model 'openai:gpt-4o-mini'");
    expect(err.type).toBe("billing_error");
    expect(err.code).toBe("pricing_not_configured");
    await gw.admin("POST", "/v1/pricing", {
      model_key: "openai:gpt-4o-mini",
      input_price_per_million: 1,
      output_price_per_million: 1,
    });
    expect((await client.chat.completions.create({ model: "openai:gpt-4o-mini", messages: hi })).choices.length).toBe(
      1,
    );
  });

  test("504: a hanging provider past client_args.timeout (JSON and stream)", async () => {
    await gw.admin("POST", "/v1/pricing", {
      model_key: "openai:hang",
      input_price_per_million: 1,
      output_price_per_million: 1,
    });
    const started = Date.now();
    const err = await chatError(client, "openai:hang");
    expect(Date.now() - started).toBeLessThan(3000);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err.status).toBe(504);
    expect(text(err)).toBe("LLM provider timeout");
    expect(err.type).toBe("timeout_error");
    const stream = await failure(client.chat.completions.create({ model: "openai:hang", messages: hi, stream: true }));
    expect(stream).toBeInstanceOf(OpenAI.InternalServerError);
    expect((stream as ApiError).status).toBe(504);
  });
});
