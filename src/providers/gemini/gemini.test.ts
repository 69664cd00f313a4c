import { describe, expect, test } from "bun:test";
import { gatewayError, settingsFor } from "../_contract/index.ts";
import { startGeminiMock } from "../_mocks/index.ts";
import { gemini } from "./index.ts";

describe("gemini specifics", () => {
  test("request body: systemInstruction, contents, tools, toolConfig, generationConfig; stream URL uses alt=sse", async () => {
    const mock = startGeminiMock();
    try {
      await gemini.chat(
        {
          model: "m",
          messages: [
            { role: "system", content: "Be brief." },
            { role: "user", content: "Weather?" },
            {
              role: "assistant",
              content: null,
              tool_calls: [{ id: "call_1", type: "function", function: { name: "w", arguments: '{"c":"P"}' } }],
            },
            { role: "tool", tool_call_id: "call_1", content: '{"t":20}' },
          ],
          tools: [
            {
              type: "function",
              function: {
                name: "w",
                parameters: {
                  type: "object",
                  $schema: "x",
                  additionalProperties: false,
                  properties: { c: { type: "string" } },
                },
              },
            },
          ],
          tool_choice: "required",
          max_tokens: 9,
          stop: "END",
          reasoning_effort: "low",
        },
        settingsFor(mock),
      );
      const body = mock.requests.at(-1)!.body as Record<string, unknown>;
      expect(body["model"]).toBeUndefined();
      expect(body["systemInstruction"]).toEqual({ parts: [{ text: "Be brief." }] });
      expect(body["contents"]).toEqual([
        { role: "user", parts: [{ text: "Weather?" }] },
        { role: "model", parts: [{ functionCall: { name: "w", args: { c: "P" } } }] },
        { role: "user", parts: [{ functionResponse: { name: "w", response: { content: { t: 20 } } } }] },
      ]);
      expect(body["tools"]).toEqual([
        {
          functionDeclarations: [{ name: "w", parameters: { type: "object", properties: { c: { type: "string" } } } }],
        },
      ]);
      expect(body["toolConfig"]).toEqual({ functionCallingConfig: { mode: "ANY" } });
      expect(body["generationConfig"]).toEqual({
        maxOutputTokens: 9,
        stopSequences: ["END"],
        thinkingConfig: { thinkingBudget: 1024, includeThoughts: true },
      });
      const stream = await gemini.chatStream(
        { model: "m", messages: [{ role: "user", content: "x" }] },
        settingsFor(mock),
      );
      for await (const _ of stream);
      expect(mock.requests.at(-1)!.path).toBe("/v1beta/models/m:streamGenerateContent?alt=sse");
    } finally {
      await mock.stop();
    }
  });

  test("thought signatures ride in the minted tool-call id and come back on the functionCall part", async () => {
    const mock = startGeminiMock();
    try {
      const res = await gemini.chat({ model: "tools", messages: [{ role: "user", content: "x" }] }, settingsFor(mock));
      const call = res.body.choices[0]!.message.tool_calls![0]!;
      expect(call.id).toMatch(/^call_[0-9a-f]{24}__thought__c2lnLW1vY2s=$/);
      await gemini.chat(
        {
          model: "m",
          messages: [
            { role: "user", content: "x" },
            { role: "assistant", content: null, tool_calls: [call] },
            { role: "tool", tool_call_id: call.id, content: "20C" },
          ],
        },
        settingsFor(mock),
      );
      const contents = (mock.requests.at(-1)!.body as { contents: unknown[] }).contents;
      expect(contents[1]).toEqual({
        role: "model",
        parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" } }, thoughtSignature: "c2lnLW1vY2s=" }],
      });
      expect(contents[2]).toEqual({
        role: "user",
        parts: [{ functionResponse: { name: "get_weather", response: { content: "20C" } } }],
      });
    } finally {
      await mock.stop();
    }
  });

  test("a blocked prompt is a 400 (JSON and stream); SAFETY finishes with content_filter", async () => {
    const mock = startGeminiMock();
    try {
      for (const call of [
        () => gemini.chat({ model: "blocked", messages: [{ role: "user", content: "x" }] }, settingsFor(mock)),
        () => gemini.chatStream({ model: "blocked", messages: [{ role: "user", content: "x" }] }, settingsFor(mock)),
      ]) {
        const err = await gatewayError(call());
        expect(err.status).toBe(400);
        expect(err.message).toContain("blockReason");
      }
      const res = await gemini.chat({ model: "safety", messages: [{ role: "user", content: "x" }] }, settingsFor(mock));
      expect(res.body.choices[0]!.finish_reason).toBe("content_filter");
      const stream = await gemini.chatStream(
        { model: "safety+chunks-2", messages: [{ role: "user", content: "x" }] },
        settingsFor(mock),
      );
      const finishes: string[] = [];
      for await (const c of stream) for (const ch of c.choices) if (ch.finish_reason) finishes.push(ch.finish_reason);
      expect(finishes).toEqual(["content_filter"]);
    } finally {
      await mock.stop();
    }
  });

  test("thoughtsTokenCount counts as completion and reasoning tokens", async () => {
    const mock = startGeminiMock();
    try {
      const res = await gemini.chat(
        { model: "reasoning+cache", messages: [{ role: "user", content: "x" }] },
        settingsFor(mock),
      );
      expect(res.usage).toEqual({
        promptTokens: 12,
        completionTokens: 7,
        totalTokens: 19,
        cacheReadTokens: 4,
        cacheWriteTokens: null,
        reasoningTokens: 2,
      });
      expect(res.body.usage?.completion_tokens_details?.reasoning_tokens).toBe(2);
    } finally {
      await mock.stop();
    }
  });

  test("embeddings via batchEmbedContents; models listing follows nextPageToken", async () => {
    const mock = startGeminiMock();
    try {
      const res = await gemini.embed!(
        { model: "text-embedding-004", input: ["a", "b"], dimensions: 3 },
        settingsFor(mock),
      );
      expect(res.body.data.map((d) => d.index)).toEqual([0, 1]);
      expect(res.usage.promptTokens).toBe(0);
      const sent = mock.requests.at(-1)!;
      expect(sent.path).toBe("/v1beta/models/text-embedding-004:batchEmbedContents");
      expect(sent.body).toEqual({
        requests: ["a", "b"].map((text) => ({
          model: "models/text-embedding-004",
          content: { parts: [{ text }] },
          outputDimensionality: 3,
        })),
      });
      const models = await gemini.listModels!(settingsFor(mock));
      expect(models.map((m) => m.id)).toEqual(["gemini-2.5-flash", "text-embedding-004"]);
      expect(mock.requests.at(-1)!.path).toContain("pageToken=page-2");
    } finally {
      await mock.stop();
    }
  });

  test("an invalid AI Studio key (400 API_KEY_INVALID) is a credential failure, not the client's fault", async () => {
    const server = Bun.serve({
      port: 0,
      fetch: () =>
        Response.json(
          {
            error: {
              code: 400,
              message: "API key not valid. Please pass a valid API key.",
              status: "INVALID_ARGUMENT",
              details: [
                {
                  "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                  reason: "API_KEY_INVALID",
                  domain: "googleapis.com",
                },
              ],
            },
          },
          { status: 400 },
        ),
    });
    try {
      const err = await gatewayError(
        gemini.chat(
          { model: "m", messages: [{ role: "user", content: "x" }] },
          { ...settingsFor(startGeminiMockStub()), apiBase: `http://127.0.0.1:${server.port}` },
        ),
      );
      expect([err.status, err.message]).toEqual([502, "The provider rejected the gateway's credentials"]);
    } finally {
      await server.stop(true);
    }
  });
});

/** settingsFor needs a MockServer only for its apiBase, which the test replaces. */
function startGeminiMockStub() {
  return { url: "", apiBase: "", requests: [], setScenario() {}, reset() {}, stop: async () => {} };
}
