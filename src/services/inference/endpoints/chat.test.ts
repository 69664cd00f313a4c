/** Chat framing: a chunk sent as the upstream's text must say exactly what the serialised chunk would. */
import { expect, test } from "bun:test";
import fc from "fast-check";
import { type ChatChunk, chunkForClient } from "../../../core/wire/index";
import { chatFraming } from "./chat";

const usageValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.constant({ prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 }),
);
const members = fc.record({
  usage: usageValue,
  // A nested `"usage":null` must never be cut in place of the top-level one.
  logprobs: fc.oneof(fc.constant(undefined), fc.constant(null), fc.constant({ usage: null, content: [] })),
  content: fc.string(),
  order: fc.integer({ min: 0, max: 2 }),
});

function upstreamChunk(m: { usage: unknown; logprobs: unknown; content: string; order: number }): {
  chunk: ChatChunk;
  text: string;
} {
  const head = { id: "c1", object: "chat.completion.chunk", created: 1, model: "m" };
  const choices = [
    {
      index: 0,
      delta: { content: m.content },
      finish_reason: null,
      ...(m.logprobs === undefined ? {} : { logprobs: m.logprobs }),
    },
  ];
  const usage = m.usage === undefined ? {} : { usage: m.usage };
  // Upstreams put `usage` anywhere among the members.
  const chunk = (
    m.order === 0
      ? { ...usage, ...head, choices }
      : m.order === 1
        ? { ...head, ...usage, choices }
        : { ...head, choices, ...usage }
  ) as ChatChunk;
  return { chunk, text: JSON.stringify(chunk) };
}

test("a frame built from the upstream text parses to what chunkForClient gives", () => {
  fc.assert(
    fc.property(members, fc.boolean(), (m, includeUsage) => {
      const { chunk, text } = upstreamChunk(m);
      const frame = chatFraming({ includeUsage, model: "m", requestId: "r" }).frame(chunk, text);
      const expected = chunkForClient(chunk, includeUsage);
      if (expected === null || (chunk.choices.length === 0 && chunk.usage)) return;
      expect(frame?.startsWith("data: ") && frame.endsWith("\n\n")).toBe(true);
      expect(JSON.parse(frame!.slice(6))).toEqual(JSON.parse(JSON.stringify(expected)));
    }),
    { numRuns: 2000 },
  );
});

test("the upstream text is used as is, and cut only for a top-level null usage", () => {
  const plain = upstreamChunk({ usage: undefined, logprobs: undefined, content: "hi", order: 2 });
  expect(chatFraming({ includeUsage: false, model: "m", requestId: "r" }).frame(plain.chunk, plain.text)).toBe(
    `data: ${plain.text}\n\n`,
  );
  const nulled = upstreamChunk({ usage: null, logprobs: undefined, content: "hi", order: 2 });
  expect(chatFraming({ includeUsage: false, model: "m", requestId: "r" }).frame(nulled.chunk, nulled.text)).toBe(
    `data: ${nulled.text.replace(',"usage":null', "")}\n\n`,
  );
  expect(chatFraming({ includeUsage: true, model: "m", requestId: "r" }).frame(nulled.chunk, nulled.text)).toBe(
    `data: ${nulled.text}\n\n`,
  );
});
