import { expect, test } from "bun:test";
import { sseData, sseEvent } from "./sse-frames";

test("sseEvent and sseData keep null members (OpenAI and Anthropic mark many of them required)", () => {
  expect(sseEvent("message_delta", { a: null, b: 1 })).toBe('event: message_delta\ndata: {"a":null,"b":1}\n\n');
  expect(sseData({ a: null })).toBe('data: {"a":null}\n\n');
});
