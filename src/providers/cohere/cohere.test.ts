import { describe, expect, test } from "bun:test";
import { settingsFor } from "../_contract/index.ts";
import { startCohereMock } from "../_mocks/index.ts";
import { toCohereBody } from "./chat.ts";
import { cohere } from "./index.ts";

describe("cohere specifics", () => {
  test("request: roles, tool calls and results, p/k/stop_sequences, tool_choice, json schema", () => {
    const body = toCohereBody(
      {
        model: "command-a-03-2025",
        messages: [
          { role: "developer", content: "Be brief." },
          { role: "user", content: "Weather?" },
          {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "c1", type: "function", function: { name: "w", arguments: '{"c":"P"}' } }],
          },
          { role: "tool", tool_call_id: "c1", content: "20C" },
        ],
        tools: [
          { type: "function", function: { name: "w", parameters: { type: "object" } } },
          { type: "function", function: { name: "x" } },
        ],
        tool_choice: { type: "function", function: { name: "w" } },
        top_p: 0.5,
        top_k: 3,
        stop: "END",
        seed: 7,
        response_format: { type: "json_schema", json_schema: { name: "a", schema: { type: "object" } } },
      },
      false,
    );
    expect(body).toEqual({
      model: "command-a-03-2025",
      stream: false,
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Weather?" },
        {
          role: "assistant",
          tool_calls: [{ id: "c1", type: "function", function: { name: "w", arguments: '{"c":"P"}' } }],
        },
        { role: "tool", tool_call_id: "c1", content: "20C" },
      ],
      tools: [{ type: "function", function: { name: "w", parameters: { type: "object" } } }],
      tool_choice: "REQUIRED",
      p: 0.5,
      k: 3,
      stop_sequences: ["END"],
      seed: 7,
      response_format: { type: "json_object", json_schema: { type: "object" } },
    });
  });

  test("usage prefers usage.tokens over billed_units; embeddings via /v2/embed; models paginate", async () => {
    const mock = startCohereMock();
    try {
      const res = await cohere.chat({ model: "m", messages: [{ role: "user", content: "x" }] }, settingsFor(mock));
      expect(res.usage.promptTokens).toBe(12);
      const emb = await cohere.embed!({ model: "embed-v4.0", input: ["a", "b"] }, settingsFor(mock));
      expect(emb.body.data.length).toBe(2);
      expect(emb.usage.promptTokens).toBe(4);
      expect(mock.requests.at(-1)!.body).toEqual({
        model: "embed-v4.0",
        texts: ["a", "b"],
        input_type: "search_document",
        embedding_types: ["float"],
      });
      const models = await cohere.listModels!(settingsFor(mock));
      expect(models.map((m) => m.id)).toEqual(["command-a-03-2025", "embed-v4.0"]);
    } finally {
      await mock.stop();
    }
  });
});
