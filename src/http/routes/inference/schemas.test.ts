/** The chat body's fast accept must only take bodies its zod schema would return unchanged. */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { expectCanonicalKeptByFullPath, MISSING, member, object } from "../../../../tests/helpers/arbitraries";
import { isCanonicalChatRequest } from "../../../core/wire/canonical";
import { MAX_MODEL_NAME_LENGTH } from "../../../core/wire/model-name";
import { chatBody } from "./schemas";

const optional = <T>(good: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(MISSING) }, { weight: 2, arbitrary: member(good) });

const part = object({
  type: member(fc.constantFrom("text", "image_url")),
  text: optional(fc.string()),
  image_url: optional(object({ url: member(fc.webUrl()), detail: optional(fc.string()) })),
});
const toolCall = object({
  id: member(fc.string()),
  type: optional(fc.constant("function")),
  function: member(object({ name: member(fc.string()), arguments: member(fc.string()) })),
});
const message = object({
  role: member(fc.constantFrom("system", "user", "assistant", "tool")),
  content: member(fc.oneof(fc.string(), fc.array(member(part), { maxLength: 2 }))),
  name: optional(fc.string()),
  tool_calls: optional(fc.array(member(toolCall), { maxLength: 2 })),
  tool_call_id: optional(fc.string()),
});
const body = object({
  model: member(fc.constant("openai:gpt-4o")),
  messages: member(fc.array(member(message), { maxLength: 3 })),
  stream: optional(fc.boolean()),
  stream_options: optional(object({ include_usage: optional(fc.boolean()) })),
  temperature: optional(fc.double({ min: 0, max: 2, noNaN: true })),
  max_tokens: optional(fc.oneof(fc.nat(4096), fc.double({ min: 0.5, max: 9, noNaN: true }))),
  n: optional(fc.nat(3)),
  stop: optional(fc.oneof(fc.string(), fc.array(member(fc.string()), { maxLength: 2 }))),
  tools: optional(
    fc.array(
      member(
        object({
          type: member(fc.constant("function")),
          function: optional(
            object({
              name: member(fc.string()),
              description: optional(fc.string()),
              parameters: optional(fc.object()),
            }),
          ),
        }),
      ),
      { maxLength: 2 },
    ),
  ),
  tool_choice: optional(
    fc.oneof(
      fc.constantFrom("auto", "none"),
      object({ type: member(fc.constant("function")), function: optional(object({ name: member(fc.string()) })) }),
    ),
  ),
  response_format: optional(
    object({
      type: member(fc.constant("json_schema")),
      json_schema: optional(object({ name: optional(fc.string()), schema: optional(fc.object()) })),
    }),
  ),
  user: optional(fc.string()),
  metadata: optional(fc.object()),
  tools_header: optional(fc.string({ maxLength: 20 })),
  max_tool_iterations: optional(fc.integer({ min: -2, max: 30 })),
  mcp_server_ids: fc.oneof({ weight: 9, arbitrary: fc.constant(MISSING) }, { weight: 1, arbitrary: fc.constant([]) }),
});

describe("isCanonicalChatRequest", () => {
  test("yes only where the route's zod schema accepts the body and returns it unchanged", async () => {
    await expectCanonicalKeptByFullPath(body, isCanonicalChatRequest, (v) => chatBody.zod.parse(v));
  });

  test("the route schema takes canonical bodies as they are and throws zod's errors as the 422", async () => {
    const ok = { model: "openai:gpt-4o", messages: [{ role: "user", content: "hi" }], max_tokens: 16 };
    expect(await chatBody["~standard"].validate(ok)).toEqual({ value: ok });
    const bad = (() =>
      chatBody["~standard"].validate({ model: "openai:gpt-4o", messages: [{ content: "no role" }] })) as () => unknown;
    expect(bad).toThrow(
      expect.objectContaining({
        status: 422,
        detail: [{ type: "value_error", loc: ["body", "messages", 0], msg: "messages[0]: 'role' is required" }],
      }),
    );
  });

  test("the fast accept refuses what the schema refuses: a model name over the limit, a number out of range", () => {
    const base = { messages: [{ role: "user", content: "hi" }] };
    expect(isCanonicalChatRequest({ ...base, model: "x".repeat(MAX_MODEL_NAME_LENGTH) })).toBe(true);
    expect(isCanonicalChatRequest({ ...base, model: "x".repeat(MAX_MODEL_NAME_LENGTH + 1) })).toBe(false);
    expect(isCanonicalChatRequest({ ...base, model: "m", temperature: Infinity })).toBe(false);
    expect(chatBody.zod.safeParse({ ...base, model: "m", temperature: Infinity }).success).toBe(false);
  });
});
