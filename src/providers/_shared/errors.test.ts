import { describe, expect, test } from "bun:test";
import {
  extractProviderMessage,
  parseDurationSeconds,
  redactSecrets,
  retryAfterSeconds,
  upstreamHttpError,
} from "./errors.ts";

const h = (init: Record<string, string>) => new Headers(init);

describe("retryAfterSeconds", () => {
  test("retry-after seconds, fractional seconds, and HTTP dates", () => {
    expect(retryAfterSeconds(h({ "retry-after": "7" }))).toBe(7);
    expect(retryAfterSeconds(h({ "retry-after": "0.2" }))).toBe(1);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(retryAfterSeconds(h({ "retry-after": "Thu, 01 Jan 2026 00:00:30 GMT" }), now)).toBe(30);
  });

  test("retry-after-ms wins and is rounded up", () => {
    expect(retryAfterSeconds(h({ "retry-after-ms": "1500", "retry-after": "60" }))).toBe(2);
  });

  test("x-ratelimit-reset-*: the exhausted limit's reset, else the longest", () => {
    const exhausted = h({
      "x-ratelimit-remaining-requests": "10",
      "x-ratelimit-reset-requests": "6m0s",
      "x-ratelimit-remaining-tokens": "0",
      "x-ratelimit-reset-tokens": "1.2s",
    });
    expect(retryAfterSeconds(exhausted)).toBe(2);
    expect(retryAfterSeconds(h({ "x-ratelimit-reset-requests": "20ms", "x-ratelimit-reset-tokens": "1m30s" }))).toBe(
      90,
    );
  });

  test("no hint -> null", () => {
    expect(retryAfterSeconds(h({}))).toBeNull();
    expect(retryAfterSeconds(h({ "retry-after": "soon" }))).toBeNull();
  });

  test("Go durations", () => {
    expect(parseDurationSeconds("1h2m3s")).toBe(3723);
    expect(parseDurationSeconds("20ms")).toBeCloseTo(0.02);
    expect(parseDurationSeconds("12")).toBe(12);
    expect(parseDurationSeconds("abc")).toBeNull();
  });
});

describe("redactSecrets", () => {
  test("keys, bearer tokens, api-key assignments and the deployment's own key", () => {
    const out = redactSecrets(
      'bad key sk-proj-abc123DEF456 and gw-1234567890abcdef, Authorization: Bearer eyJhb.GciOi.Jxyz, api_key="plainsecret", own: my-own-key-99',
      ["my-own-key-99"],
    );
    expect(out).not.toContain("sk-proj-abc123DEF456");
    expect(out).not.toContain("gw-1234567890abcdef");
    expect(out).not.toContain("eyJhb");
    expect(out).not.toContain("plainsecret");
    expect(out).not.toContain("my-own-key-99");
    expect(out).toContain("Bearer [REDACTED]");
  });

  test("ordinary text is untouched", () => {
    expect(redactSecrets("max_tokens must be <= 4096 for task-specific models")).toBe(
      "max_tokens must be <= 4096 for task-specific models",
    );
  });
});

describe("extractProviderMessage", () => {
  test("the shapes providers use", () => {
    expect(extractProviderMessage({ error: { message: "openai" } })).toBe("openai");
    expect(extractProviderMessage({ type: "error", error: { type: "x", message: "anthropic" } })).toBe("anthropic");
    expect(extractProviderMessage({ object: "error", message: "mistral" })).toBe("mistral");
    expect(extractProviderMessage({ detail: "fastapi" })).toBe("fastapi");
    expect(extractProviderMessage({ detail: [{ loc: ["body"], msg: "Field required" }] })).toBe("Field required");
    expect(extractProviderMessage({ error: { msg: "msg field" } })).toBe("msg field");
    expect(extractProviderMessage({ error: "plain string" })).toBe("plain string");
    expect(extractProviderMessage({ nothing: 1 })).toBeNull();
  });
});

describe("upstreamHttpError", () => {
  const map = (status: number, bodyText = "", route: "inference" | "passthrough" = "inference") =>
    upstreamHttpError({ status, bodyText, headers: new Headers(), route });

  test("fallback messages when the provider says nothing", () => {
    expect(map(400).message).toBe("The provider rejected the request as invalid (check the model name and parameters)");
    expect(map(404).message).toBe("The requested model was not found on the provider");
  });

  test("long provider messages are cut to 400 characters", () => {
    expect(map(400, JSON.stringify({ error: { message: "x".repeat(1000) } })).message.length).toBe(400);
  });

  test("pass-through routes use their own generic text; 408 is a timeout", () => {
    expect(map(500, "", "passthrough").message).toBe("The request could not be completed by the provider");
    expect(map(408).status).toBe(504);
    expect(map(418).status).toBe(502);
  });
});
