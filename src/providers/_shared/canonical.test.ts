/**
 * The hot path's canonical checks (core/wire/canonical.ts) against the full path they stand in for: whenever a
 * check says yes, the schema plus the provider layer's normalisation must accept the value and return it unchanged.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { expectCanonicalKeptByFullPath, MISSING, member, object } from "../../../tests/helpers/arbitraries";
import { isCanonicalChunk, isCanonicalCompletion } from "../../core/wire/canonical.ts";
import { chatChunkSchema, chatCompletionSchema } from "../../core/wire/index.ts";
import { normalizeChunk, normalizeCompletion } from "./openai-chat.ts";

const count = member(fc.nat(100_000));
const usage = object({
  prompt_tokens: count,
  completion_tokens: count,
  total_tokens: count,
  prompt_tokens_details: member(object({ cached_tokens: count })),
  completion_tokens_details: member(object({ reasoning_tokens: count })),
  cost: member(fc.double({ noNaN: true, noDefaultInfinity: true })),
});
const toolCall = object({
  id: member(fc.string()),
  type: member(fc.constant("function")),
  function: member(object({ name: member(fc.string()), arguments: member(fc.json()) })),
});
const message = object({
  role: member(fc.constant("assistant")),
  content: member(fc.string()),
  refusal: member(fc.string()),
  reasoning: member(object({ content: member(fc.string()) })),
  reasoning_content: fc.oneof(
    { weight: 5, arbitrary: fc.constant(MISSING) },
    { weight: 1, arbitrary: member(fc.string()) },
  ),
  tool_calls: member(fc.array(member(toolCall), { maxLength: 3 })),
});
const choice = object({
  index: member(fc.oneof(fc.nat(4), fc.double({ min: 0.1, max: 3, noNaN: true }))),
  message: member(message),
  finish_reason: member(fc.constantFrom("stop", "length", "tool_calls")),
  logprobs: member(fc.constant(null)),
});
const completion = object({
  id: member(fc.string()),
  object: member(fc.constant("chat.completion")),
  created: member(fc.nat()),
  model: member(fc.string()),
  choices: member(fc.array(member(choice), { maxLength: 3 })),
  usage: member(usage),
  system_fingerprint: member(fc.string()),
  x_groq: fc.oneof(
    { weight: 5, arbitrary: fc.constant(MISSING) },
    { weight: 1, arbitrary: object({ usage: member(usage) }) },
  ),
});

const toolCallDelta = object({
  index: member(fc.nat(3)),
  id: member(fc.string()),
  type: member(fc.constant("function")),
  function: member(object({ name: member(fc.string()), arguments: member(fc.string()) })),
});
const delta = object({
  role: member(fc.constant("assistant")),
  content: member(fc.string()),
  reasoning: member(object({ content: member(fc.string()) })),
  reasoning_content: fc.oneof(
    { weight: 5, arbitrary: fc.constant(MISSING) },
    { weight: 1, arbitrary: member(fc.string()) },
  ),
  tool_calls: member(fc.array(member(toolCallDelta), { maxLength: 2 })),
});
const chunkChoice = object({
  index: member(fc.oneof(fc.nat(4), fc.double({ min: 0.1, max: 3, noNaN: true }))),
  delta: member(delta),
  finish_reason: member(fc.constantFrom("stop", "length", "tool_calls")),
  logprobs: member(fc.constant(null)),
});
const chunk = object({
  id: member(fc.string()),
  object: member(fc.constant("chat.completion.chunk")),
  created: member(fc.nat()),
  model: member(fc.string()),
  choices: member(fc.array(member(chunkChoice), { maxLength: 2 })),
  usage: member(usage),
  x_groq: fc.oneof(
    { weight: 5, arbitrary: fc.constant(MISSING) },
    { weight: 1, arbitrary: object({ usage: member(usage) }) },
  ),
});

describe("isCanonicalChunk", () => {
  test("yes only where chatChunkSchema + normalizeChunk return the value unchanged", async () => {
    await expectCanonicalKeptByFullPath(chunk, isCanonicalChunk, (v) => normalizeChunk(chatChunkSchema.parse(v)));
  });
});

describe("isCanonicalCompletion", () => {
  test("yes only where chatCompletionSchema + normalizeCompletion return the value unchanged", async () => {
    await expectCanonicalKeptByFullPath(completion, isCanonicalCompletion, (v) =>
      normalizeCompletion(chatCompletionSchema.parse(v)),
    );
  });

  test("a typical OpenAI completion is canonical; shapes the provider layer rewrites are not", () => {
    const typical = {
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: "gpt-4o",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "hi", refusal: null },
          logprobs: null,
          finish_reason: "stop",
        },
      ],
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4, prompt_tokens_details: { cached_tokens: 0 } },
    };
    expect(isCanonicalCompletion(typical)).toBe(true);
    const withMessage = (m: Record<string, unknown>) => ({
      ...typical,
      choices: [{ ...typical.choices[0], message: { ...typical.choices[0]!.message, ...m } }],
    });
    expect(isCanonicalCompletion(withMessage({ reasoning_content: "thinking" }))).toBe(false);
    expect(isCanonicalCompletion(withMessage({ reasoning: "thinking" }))).toBe(false);
    expect(isCanonicalCompletion({ ...typical, usage: undefined })).toBe(false);
    expect(isCanonicalCompletion({ ...typical, usage: null, x_groq: { usage: { prompt_tokens: 1 } } })).toBe(false);
  });
});
