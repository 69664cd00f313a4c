/**
 * The attempt walker (SPEC §10.2 items 4-6, §13 items 68-69): which failures move on to the next attempt, the
 * final 502/504 texts for one attempt and for several, and the tool-loop lock-in rule.
 */
import { describe, expect, test } from "bun:test";
import { badRequest, type GatewayError } from "../../src/core/errors";
import {
  connectionError,
  malformedBodyError,
  timeoutError,
  upstreamHttpError,
} from "../../src/providers/_mocks/failures";
import { ALL_FAILED, ALL_TIMED_OUT, classifyFailure, runAttempts } from "../../src/services/platform/attempts";
import type { PlatformAttempt } from "../../src/services/platform/client";

const att = (id: string, position = 0): PlatformAttempt => ({
  attemptId: id,
  position,
  provider: "openai",
  model: "m",
  apiKey: "k",
  apiBase: null,
  managed: true,
});
const http = (status: number) =>
  upstreamHttpError({ status, bodyText: "{}", headers: new Headers(), route: "inference" });

describe("classifyFailure", () => {
  test("retryable: timeout, conn_err, 401, 403, 408, 429, 5xx", () => {
    expect(classifyFailure(timeoutError("x"))).toEqual({
      errorClass: "timeout",
      retryable: true,
      gatewaySide: false,
      status: null,
    });
    expect(classifyFailure(connectionError("inference", new Error("ECONNREFUSED")))).toEqual({
      errorClass: "conn_err",
      retryable: true,
      gatewaySide: false,
      status: null,
    });
    for (const status of [401, 403, 408, 429, 500, 502, 503, 529, 599]) {
      expect(classifyFailure(http(status))).toEqual({
        errorClass: `http_${status}`,
        retryable: true,
        gatewaySide: false,
        status,
      });
    }
  });

  test("not retryable: 400, 422, other statuses, unclassifiable", () => {
    for (const status of [400, 402, 404, 413, 422]) {
      expect(classifyFailure(http(status))).toEqual({
        errorClass: `http_${status}`,
        retryable: false,
        gatewaySide: false,
        status,
      });
    }
    expect(classifyFailure(malformedBodyError("inference", "not json"))).toEqual({
      errorClass: "unknown",
      retryable: false,
      gatewaySide: false,
      status: null,
    });
    expect(classifyFailure(new TypeError("a bug"))).toEqual({
      errorClass: "unknown",
      retryable: false,
      gatewaySide: false,
      status: null,
    });
    expect(classifyFailure(badRequest("Unsupported provider 'x'"))).toEqual({
      errorClass: "unknown",
      retryable: false,
      gatewaySide: true,
      status: null,
    });
  });
});

/** Runs the walker where attempt `id` fails with `failures[id]` (or succeeds), recording tries and failure reports. */
async function walk(attempts: PlatformAttempt[], failures: Record<string, unknown>, lockIn: string[] = []) {
  const tried: string[] = [];
  const reported: [string, string][] = [];
  const r = await runAttempts({
    attempts,
    prepare: (a) => a,
    onFailure: (a, f) => reported.push([a.attemptId, f.errorClass]),
    run: async (a, lock) => {
      tried.push(a.attemptId);
      if (lockIn.includes(a.attemptId)) lock();
      if (a.attemptId in failures) throw failures[a.attemptId];
      return `served by ${a.attemptId}`;
    },
  });
  if (r.ok) return { tried, reported, winner: r.route.attemptId, result: r.value, error: null };
  return { tried, reported, winner: null, result: null, error: r.error as GatewayError };
}

describe("runAttempts", () => {
  test("a retryable failure falls over to the next attempt; every failed attempt is reported", async () => {
    const r = await walk([att("a"), att("b", 1), att("c", 2)], { a: http(503), b: timeoutError("first chunk") });
    expect(r).toMatchObject({ tried: ["a", "b", "c"], winner: "c", result: "served by c" });
    expect(r.reported).toEqual([
      ["a", "http_503"],
      ["b", "timeout"],
    ]);
  });

  test("a non-retryable failure answers 502 'LLM provider error' at once", async () => {
    const r = await walk([att("a"), att("b", 1)], { a: http(400) });
    expect(r.tried).toEqual(["a"]);
    expect([r.error?.status, r.error?.message]).toEqual([502, "LLM provider error"]);
    expect(r.reported).toEqual([["a", "http_400"]]);
  });

  test("a gateway-side refusal is answered as it is", async () => {
    const r = await walk([att("a"), att("b", 1)], { a: badRequest("Provider 'x' does not support the Responses API") });
    expect(r.tried).toEqual(["a"]);
    expect([r.error?.status, r.error?.message]).toEqual([400, "Provider 'x' does not support the Responses API"]);
  });

  test("all failed: 502 'LLM provider error' for one attempt, 'All upstream providers failed' for several", async () => {
    const one = await walk([att("a")], { a: http(500) });
    expect([one.error?.status, one.error?.message]).toEqual([502, "LLM provider error"]);
    const several = await walk([att("a"), att("b", 1)], {
      a: http(500),
      b: connectionError("inference", new Error("reset")),
    });
    expect([several.error?.status, several.error?.message, several.error?.type]).toEqual([
      502,
      ALL_FAILED,
      "upstream_error",
    ]);
    expect(several.reported).toEqual([
      ["a", "http_500"],
      ["b", "conn_err"],
    ]);
  });

  test("all failed with a timeout last: 504 'LLM provider timeout' / 'All upstream providers timed out'", async () => {
    const one = await walk([att("a")], { a: timeoutError("x") });
    expect([one.error?.status, one.error?.message]).toEqual([504, "LLM provider timeout"]);
    const several = await walk([att("a"), att("b", 1)], { a: http(429), b: timeoutError("x") });
    expect([several.error?.status, several.error?.message, several.error?.type]).toEqual([
      504,
      ALL_TIMED_OUT,
      "timeout_error",
    ]);
    const timeoutFirst = await walk([att("a"), att("b", 1)], { a: timeoutError("x"), b: http(500) });
    expect([timeoutFirst.error?.status, timeoutFirst.error?.message]).toEqual([502, ALL_FAILED]);
  });

  test("item 69: a tool loop failing before its first model response falls through; after lock-in -> 502 without the next attempt", async () => {
    const before = await walk([att("a"), att("b", 1)], { a: http(500) });
    expect(before).toMatchObject({ tried: ["a", "b"], winner: "b" });
    const after = await walk([att("a"), att("b", 1)], { a: http(500) }, ["a"]);
    expect(after.tried).toEqual(["a"]);
    expect([after.error?.status, after.error?.message]).toEqual([502, "LLM provider error"]);
    expect(after.reported).toEqual([["a", "http_500"]]);
  });
});
