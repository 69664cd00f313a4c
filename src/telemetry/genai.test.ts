import { describe, expect, test } from "bun:test";
import type { ChatChoice, ChatMessage } from "../core/wire";
import { decodeTraceRequest } from "../../tests/helpers/otlp-receiver";
import {
  anthropicRequestFacts,
  ATTR,
  captureContent,
  chatRequestFacts,
  embeddingRequestFacts,
  finishReasons,
  genAiSpanName,
  markFirstChunk,
  providerName,
  setGatewayAttributes,
  setRequestAttributes,
  setResponseAttributes,
  setToolAttributes,
  setUpstreamAddress,
  setUsageAttributes,
  toInputMessages,
  toOutputMessages,
} from "./genai";
import { traceIdFromHex } from "./ids";
import { encodeTraceRequest } from "./otlp-proto";
import { createRedactor } from "./redaction";
import { NOOP_SPAN, RecordingSpan, type SpanData } from "./span";

function recording() {
  const ended: SpanData[] = [];
  const span = new RecordingSpan(
    { now: () => 1000, redact: (t) => t, onEnd: (s) => void ended.push(s) },
    "s",
    "server",
    traceIdFromHex("a".repeat(32)),
    0x0b0b0b0b,
    0x0b0b0b0b,
    1,
    null,
    null,
    1000,
  );
  const decoded = () => {
    span.end(2000);
    return decodeTraceRequest(
      encodeTraceRequest(ended, {}, { name: "t", version: "0" }, (t) => t),
      "application/x-protobuf",
    )[0]!;
  };
  return { span, decoded };
}

describe("GenAI conventions", () => {
  test("a chat request's parameters under the conventions' names and types", () => {
    const { span, decoded } = recording();
    setRequestAttributes(span, {
      ...chatRequestFacts({
        model: "gpt-4o",
        messages: [{ role: "user", content: "hi" }],
        temperature: 1,
        top_p: 0.9,
        max_completion_tokens: 256,
        max_tokens: 10,
        stop: "END",
        seed: 7,
        n: 2,
        frequency_penalty: 0.5,
        presence_penalty: "bad",
      }),
      provider: "openai",
    });
    const s = decoded();
    expect(s.attributes).toEqual({
      [ATTR.operationName]: "chat",
      [ATTR.providerName]: "openai",
      [ATTR.gatewayProvider]: "openai",
      [ATTR.requestModel]: "gpt-4o",
      [ATTR.requestStream]: false,
      [ATTR.requestMaxTokens]: 256,
      [ATTR.requestTemperature]: 1,
      [ATTR.requestTopP]: 0.9,
      [ATTR.requestFrequencyPenalty]: 0.5,
      [ATTR.requestStopSequences]: ["END"],
      [ATTR.requestSeed]: 7,
      [ATTR.requestChoiceCount]: 2,
    });
    // Doubles stay doubles even when whole (temperature 1), ints stay ints.
    expect(s.attributeTypes[ATTR.requestTemperature]).toBe("double");
    expect(s.attributeTypes[ATTR.requestMaxTokens]).toBe("int");
  });

  test("Anthropic and embeddings requests; a choice count of 1 is not recorded", () => {
    expect(
      anthropicRequestFacts({
        model: "claude",
        max_tokens: 100,
        messages: [],
        top_k: 5,
        stop_sequences: ["x"],
        stream: true,
      }),
    ).toMatchObject({ operation: "chat", maxTokens: 100, topK: 5, stop: ["x"], stream: true });
    expect(embeddingRequestFacts({ model: "e5", input: "x", encoding_format: "base64", dimensions: 256 })).toEqual({
      operation: "embeddings",
      model: "e5",
      encodingFormats: ["base64"],
      dimensions: 256,
    });
    const { span, decoded } = recording();
    setRequestAttributes(span, { operation: "chat", choiceCount: 1 });
    expect(Object.keys(decoded().attributes)).toEqual([ATTR.operationName]);
  });

  test("response facts: id, model, finish reasons, usage (cache reads and reasoning when known)", () => {
    const { span, decoded } = recording();
    const choices = [
      { index: 0, message: { role: "assistant", content: "a" }, finish_reason: "stop" },
      { index: 1, message: { role: "assistant", content: "b" }, finish_reason: "length" },
    ] as ChatChoice[];
    setResponseAttributes(span, {
      id: "chatcmpl-1",
      model: "gpt-4o-2024-08-06",
      finishReasons: finishReasons(choices),
    });
    setUsageAttributes(span, {
      promptTokens: 10,
      completionTokens: 5,
      totalTokens: 15,
      cacheReadTokens: 4,
      cacheWriteTokens: null,
      reasoningTokens: null,
    });
    expect(decoded().attributes).toEqual({
      [ATTR.responseId]: "chatcmpl-1",
      [ATTR.responseModel]: "gpt-4o-2024-08-06",
      [ATTR.responseFinishReasons]: ["stop", "length"],
      [ATTR.usageInputTokens]: 10,
      [ATTR.usageOutputTokens]: 5,
      [ATTR.usageCacheReadInputTokens]: 4,
    });
  });

  test("gateway facts under gateway.*", () => {
    const { span, decoded } = recording();
    setGatewayAttributes(span, {
      keyId: "k1",
      userId: "u1",
      endUserId: "eu",
      budgetDecision: "allowed",
      cacheHit: false,
    });
    setUpstreamAddress(span, "https://api.openai.com/v1");
    const s = decoded();
    expect(s.attributes).toEqual({
      "gateway.key.id": "k1",
      "gateway.user.id": "u1",
      "gateway.end_user.id": "eu",
      "gateway.budget.decision": "allowed",
      "gateway.cache.hit": false,
      "server.address": "api.openai.com",
      "server.port": 443,
    });
  });

  test("a tool call: execute_tool, its name and call id", () => {
    const { span, decoded } = recording();
    span.updateName(genAiSpanName("execute_tool", "otari_web_search"));
    setToolAttributes(span, { name: "otari_web_search", callId: "call_9" });
    const s = decoded();
    expect(s.name).toBe("execute_tool otari_web_search");
    expect(s.attributes).toEqual({
      [ATTR.operationName]: "execute_tool",
      [ATTR.toolName]: "otari_web_search",
      [ATTR.toolCallId]: "call_9",
      [ATTR.toolType]: "extension",
    });
  });

  test("stream timing: time to first chunk in seconds and an event at that moment", () => {
    const { span, decoded } = recording();
    markFirstChunk(span, 1000, 1250);
    const s = decoded();
    expect(s.attributes[ATTR.responseTimeToFirstChunk]).toBe(0.25);
    expect(s.events).toEqual([{ name: "gateway.upstream.first_chunk", timeNanos: 1_250_000_000n, attributes: {} }]);
  });

  test("names: `{operation} {model}`, and the conventions' provider names", () => {
    expect(genAiSpanName("chat", "gpt-4o")).toBe("chat gpt-4o");
    expect(genAiSpanName("embeddings", null)).toBe("embeddings");
    expect([
      providerName("gemini"),
      providerName("bedrock"),
      providerName("azureopenai"),
      providerName("mistral"),
      providerName("my-local"),
    ]).toEqual(["gcp.gemini", "aws.bedrock", "azure.ai.openai", "mistral_ai", "my-local"]);
  });

  test("messages in the conventions' shape: text, images, tool calls and tool results; outputs with finish reasons", () => {
    const messages: ChatMessage[] = [
      { role: "system", content: "be brief" },
      {
        role: "user",
        content: [
          { type: "text", text: "what is this?" },
          { type: "image_url", image_url: { url: "https://x/img.png" } },
          { type: "input_audio" },
        ],
      },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: "rainy" },
    ];
    expect(toInputMessages(messages)).toEqual([
      { role: "system", parts: [{ type: "text", content: "be brief" }] },
      {
        role: "user",
        parts: [
          { type: "text", content: "what is this?" },
          { type: "uri", modality: "image", uri: "https://x/img.png" },
          { type: "input_audio" },
        ],
      },
      {
        role: "assistant",
        parts: [{ type: "tool_call", id: "call_1", name: "get_weather", arguments: { city: "Paris" } }],
      },
      { role: "tool", parts: [{ type: "tool_call_response", id: "call_1", result: "rainy" }] },
    ]);
    expect(
      toOutputMessages([
        { index: 0, message: { role: "assistant", content: "sunny" }, finish_reason: "stop" } as ChatChoice,
      ]),
    ).toEqual([{ role: "assistant", parts: [{ type: "text", content: "sunny" }], finish_reason: "stop" }]);
  });

  test("captured content is redacted and truncated; nothing is built for a span that is not recording", () => {
    const redactor = createRedactor({ secrets: [], patterns: [], maxChars: 60 });
    const { span, decoded } = recording();
    captureContent(
      span,
      redactor,
      ATTR.inputMessages,
      toInputMessages([
        {
          role: "user",
          content: "mail bob@example.com the key sk-abcdefghijklmnopqrstuvwx please, and then a long tail",
        },
      ]),
    );
    const value = decoded().attributes[ATTR.inputMessages] as string;
    expect(value).not.toContain("bob@example.com");
    expect(value).not.toContain("sk-abcdefghijklmnopqrstuvwx");
    expect(value.endsWith("…[truncated]")).toBe(true);
    let built = false;
    captureContent(NOOP_SPAN, redactor, ATTR.inputMessages, {
      toJSON() {
        built = true;
        return "";
      },
    });
    expect(built).toBe(false);
  });
});
