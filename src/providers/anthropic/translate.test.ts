import { describe, expect, test } from "bun:test";
import { settingsFor } from "../_contract/index.ts";
import { startAnthropicMock } from "../_mocks/index.ts";
import { fromAnthropicMessage, toAnthropicRequest } from "../_shared/anthropic-wire/index.ts";
import { anthropic, toPassthroughBody } from "./index.ts";

describe("canonical -> Anthropic request", () => {
  test("system, merged turns, images, tool calls and results", () => {
    const { body } = toAnthropicRequest(
      {
        model: "claude",
        messages: [
          { role: "system", content: "Be brief." },
          { role: "developer", content: [{ type: "text", text: "Use metric." }] },
          { role: "user", content: "Weather?" },
          {
            role: "user",
            content: [
              { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
              { type: "image_url", image_url: { url: "https://x/y.png" } },
            ],
          },
          {
            role: "assistant",
            content: "Checking.",
            tool_calls: [{ id: "t1", type: "function", function: { name: "w", arguments: '{"c":"P"}' } }],
          },
          { role: "tool", tool_call_id: "t1", content: "20C" },
          { role: "user", content: "Thanks" },
        ],
        stop: "END",
        temperature: 0.2,
        user: "u-1",
        max_completion_tokens: 99,
      },
      false,
    );
    expect(body["system"]).toBe("Be brief.\n\nUse metric.");
    expect(body["max_tokens"]).toBe(99);
    expect(body["stop_sequences"]).toEqual(["END"]);
    expect(body["metadata"]).toEqual({ user_id: "u-1" });
    expect(body["stream"]).toBeUndefined();
    expect(body["messages"]).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "Weather?" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } },
          { type: "image", source: { type: "url", url: "https://x/y.png" } },
        ],
      },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Checking." },
          { type: "tool_use", id: "t1", name: "w", input: { c: "P" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "t1", content: "20C" },
          { type: "text", text: "Thanks" },
        ],
      },
    ]);
  });

  test("tools, tool_choice variants, parallel_tool_calls", () => {
    const tools = [
      { type: "function", function: { name: "w", description: "weather", parameters: { type: "object" } } },
    ];
    const choice = (tool_choice: unknown, extra = {}) =>
      toAnthropicRequest(
        { model: "m", messages: [{ role: "user", content: "x" }], tools, tool_choice: tool_choice as never, ...extra },
        false,
      ).body["tool_choice"];
    expect(
      toAnthropicRequest({ model: "m", messages: [{ role: "user", content: "x" }], tools }, false).body["tools"],
    ).toEqual([{ name: "w", description: "weather", input_schema: { type: "object" } }]);
    expect(choice("auto")).toEqual({ type: "auto" });
    expect(choice("required")).toEqual({ type: "any" });
    expect(choice("none")).toEqual({ type: "none" });
    expect(choice({ type: "function", function: { name: "w" } })).toEqual({ type: "tool", name: "w" });
    expect(choice("auto", { parallel_tool_calls: false })).toEqual({ type: "auto", disable_parallel_tool_use: true });
  });

  test("reasoning_effort -> thinking budget, max_tokens raised, temperature dropped", () => {
    const { body } = toAnthropicRequest(
      {
        model: "m",
        messages: [{ role: "user", content: "x" }],
        reasoning_effort: "medium",
        max_tokens: 1000,
        temperature: 0.5,
      },
      true,
    );
    expect(body["thinking"]).toEqual({ type: "enabled", budget_tokens: 4096 });
    expect(body["max_tokens"]).toBe(5096);
    expect(body["temperature"]).toBeUndefined();
    expect(body["stream"]).toBe(true);
  });

  test("response_format json_schema -> one forced tool whose input becomes the content", () => {
    const call = toAnthropicRequest(
      {
        model: "m",
        messages: [{ role: "user", content: "x" }],
        response_format: { type: "json_schema", json_schema: { name: "answer", schema: { type: "object" } } },
      },
      false,
    );
    expect(call.jsonTool).toBe("answer");
    expect(call.body["tool_choice"]).toEqual({ type: "tool", name: "answer" });
    const { body } = fromAnthropicMessage(
      {
        id: "msg",
        type: "message",
        role: "assistant",
        model: "m",
        content: [{ type: "tool_use", id: "t", name: "answer", input: { a: 1 } }],
        stop_reason: "tool_use",
        usage: { input_tokens: 1, output_tokens: 2 },
      },
      "answer",
    );
    expect(body.choices[0]?.message.content).toBe('{"a":1}');
    expect(body.choices[0]?.message.tool_calls).toBeUndefined();
    expect(body.choices[0]?.finish_reason).toBe("stop");
  });

  test("stop_reason mapping", () => {
    const finish = (stop_reason: string) =>
      fromAnthropicMessage(
        { id: "m", type: "message", role: "assistant", model: "m", content: [], stop_reason, usage: {} },
        null,
      ).body.choices[0]?.finish_reason;
    expect([
      finish("end_turn"),
      finish("stop_sequence"),
      finish("max_tokens"),
      finish("tool_use"),
      finish("refusal"),
      finish("pause_turn"),
    ]).toEqual(["stop", "stop", "length", "tool_calls", "content_filter", "stop"]);
  });
});

describe("native /v1/messages pass-through", () => {
  test("body forwarded minus gateway fields, OpenAI-shaped tools converted, anthropic-beta passed", async () => {
    const mock = startAnthropicMock();
    try {
      const req = {
        model: "claude-x",
        max_tokens: 10,
        messages: [{ role: "user", content: "hi" }],
        tools: [
          {
            type: "function",
            function: { name: "f", parameters: { type: "object", properties: { a: { type: "string" } } } },
          },
          { type: "web_search_20250305", name: "web_search" },
        ],
        mcp_servers: [],
        cache_control: { type: "ephemeral" },
      };
      const res = await anthropic.messages(req, settingsFor(mock), {
        headers: { "anthropic-beta": "prompt-caching-2024-07-31" },
      });
      expect(res.body.id).toBe("msg_mock");
      const sent = mock.requests.at(-1)!;
      expect(sent.headers["anthropic-beta"]).toBe("prompt-caching-2024-07-31");
      expect(sent.headers["anthropic-version"]).toBe("2023-06-01");
      expect(sent.body).toEqual({
        model: "claude-x",
        max_tokens: 10,
        messages: [{ role: "user", content: "hi" }],
        tools: [
          { name: "f", input_schema: { type: "object", properties: { a: { type: "string" } } } },
          { type: "web_search_20250305", name: "web_search" },
        ],
        cache_control: { type: "ephemeral" },
      });
      const stream = await anthropic.messagesStream({ ...req, model: "cache" }, settingsFor(mock));
      const events = [];
      for await (const e of stream) events.push(e);
      expect(events.map((e) => e.type)).toContain("ping"); // native events, unknown ones included, pass untouched
      expect(stream.usage).toMatchObject({
        promptTokens: 18,
        cacheReadTokens: 4,
        cacheWriteTokens: 2,
        completionTokens: 3,
      });
    } finally {
      await mock.stop();
    }
  });

  test("toPassthroughBody keeps unknown keys and drops `user`", () => {
    const body = toPassthroughBody(
      { model: "m", max_tokens: 1, messages: [{ role: "user", content: "x" }], user: "u", top_k: 3 },
      true,
    );
    expect(body).toMatchObject({ model: "m", top_k: 3, stream: true });
    expect(body["user"]).toBeUndefined();
  });

  test("chat stream with response_format: the forced tool's JSON streams as content", async () => {
    const mock = startAnthropicMock();
    try {
      const stream = await anthropic.chatStream(
        {
          model: "m",
          messages: [{ role: "user", content: "x" }],
          response_format: { type: "json_schema", json_schema: { name: "out", schema: {} } },
        },
        settingsFor(mock),
      );
      let text = "";
      const finishes: string[] = [];
      for await (const c of stream) {
        text += c.choices[0]?.delta.content ?? "";
        if (c.choices[0]?.finish_reason) finishes.push(c.choices[0].finish_reason);
        expect(c.choices[0]?.delta.tool_calls ?? []).toEqual([]);
      }
      expect(JSON.parse(text)).toEqual({ answer: 42 });
      expect(finishes).toEqual(["stop"]);
    } finally {
      await mock.stop();
    }
  });
});
