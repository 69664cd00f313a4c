import { describe, expect, test } from "bun:test";
import { emptyUsage } from "../../../core/wire/index.ts";
import { anthropicToCanonical, createAnthropicEventEncoder, toAnthropicMessage } from "./index.ts";

describe("Anthropic request -> canonical", () => {
  test("system, tool results before user text, assistant tool_use, tools and tool_choice", () => {
    const out = anthropicToCanonical({
      model: "gpt",
      max_tokens: 100,
      system: [{ type: "text", text: "Sys" }],
      stop_sequences: ["X"],
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Q" },
            { type: "image", source: { type: "base64", media_type: "image/jpeg", data: "BB" } },
          ],
        },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "hmm" },
            { type: "text", text: "A" },
            { type: "tool_use", id: "tu", name: "f", input: { x: 1 } },
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "tu", content: [{ type: "text", text: "R" }] },
            { type: "text", text: "more" },
          ],
        },
      ],
      tools: [
        { name: "f", description: "d", input_schema: { type: "object" } },
        { type: "web_search_20250305", name: "web_search" },
      ],
      tool_choice: { type: "any", disable_parallel_tool_use: true },
      thinking: { type: "enabled", budget_tokens: 2000 },
    });
    expect(out.messages).toEqual([
      { role: "system", content: "Sys" },
      {
        role: "user",
        content: [
          { type: "text", text: "Q" },
          { type: "image_url", image_url: { url: "data:image/jpeg;base64,BB" } },
        ],
      },
      {
        role: "assistant",
        content: "A",
        tool_calls: [{ id: "tu", type: "function", function: { name: "f", arguments: '{"x":1}' } }],
      },
      { role: "tool", tool_call_id: "tu", content: "R" },
      { role: "user", content: "more" },
    ]);
    expect(out.stop).toEqual(["X"]);
    expect(out.tools).toEqual([
      { type: "function", function: { name: "f", description: "d", parameters: { type: "object" } } },
      { type: "web_search_20250305", name: "web_search" },
    ]);
    expect(out.tool_choice).toBe("required");
    expect(out.parallel_tool_calls).toBe(false);
    expect(out.reasoning_effort).toBe("medium");
  });
});

describe("canonical -> Anthropic message and events", () => {
  const usage = { ...emptyUsage(), promptTokens: 20, completionTokens: 7, cacheReadTokens: 5 };

  test("message: cached part moved out of input_tokens", () => {
    const msg = toAnthropicMessage(
      {
        id: "c1",
        object: "chat.completion",
        created: 1,
        model: "gpt",
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: "hi", refusal: null },
            finish_reason: "length",
            logprobs: null,
          },
        ],
      },
      usage,
    );
    expect(msg).toMatchObject({ type: "message", stop_reason: "max_tokens", content: [{ type: "text", text: "hi" }] });
    expect(msg.usage).toEqual({
      input_tokens: 15,
      output_tokens: 7,
      cache_read_input_tokens: 5,
      cache_creation_input_tokens: null,
    });
  });

  test("events: blocks open and close in order, text then tool", () => {
    const enc = createAnthropicEventEncoder();
    const base = { id: "c", object: "chat.completion.chunk", created: 1, model: "gpt" };
    const events = [
      ...enc.push({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] }),
      ...enc.push({ ...base, choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: null }] }),
      ...enc.push({
        ...base,
        choices: [
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, id: "call", function: { name: "f", arguments: "" } }] },
            finish_reason: null,
          },
        ],
      }),
      ...enc.push({
        ...base,
        choices: [
          { index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"a":1}' } }] }, finish_reason: null },
        ],
      }),
      ...enc.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] }),
      ...enc.finish(usage),
    ];
    expect(events.map((e) => `${e.type}${"index" in e ? `:${e["index"]}` : ""}`)).toEqual([
      "message_start",
      "content_block_start:0",
      "content_block_delta:0",
      "content_block_stop:0",
      "content_block_start:1",
      "content_block_delta:1",
      "content_block_stop:1",
      "message_delta",
      "message_stop",
    ]);
    expect(events[4]).toMatchObject({ content_block: { type: "tool_use", id: "call", name: "f" } });
    expect(events[5]).toMatchObject({ delta: { type: "input_json_delta", partial_json: '{"a":1}' } });
    expect(events[7]).toMatchObject({
      delta: { stop_reason: "tool_use" },
      usage: { output_tokens: 7, input_tokens: 15 },
    });
  });

  test("an empty source still yields a well-formed message", () => {
    expect(
      createAnthropicEventEncoder()
        .finish(emptyUsage())
        .map((e) => e.type),
    ).toEqual(["message_start", "message_delta", "message_stop"]);
  });
});
