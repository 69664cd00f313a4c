import { describe, expect, test } from "bun:test";
import type { ChatChunk } from "../../core/wire/index.ts";
import { MOCK_TEXT, MOCK_USAGE, type MockServer, chunkText } from "../_mocks/index.ts";
import type { Capable } from "../capabilities.ts";
import type { ProviderSettings } from "../types.ts";
import {
  API_KEY,
  type ChatExpectations,
  type ContractTarget,
  VERSION,
  chatReq,
  drain,
  pathFor,
  targetSettings,
  upstreamModel,
} from "./harness.ts";

/** Happy paths: chat JSON, streams (gate, order, usage), tool calls, cache and reasoning usage, /v1/messages. */
export function successContract(
  t: ContractTarget,
  c: ChatExpectations,
  p: Capable<"chat" | "stream">,
  mock: () => MockServer,
): void {
  // the transport's timing scenarios run on the target named by timingCoveredBy, not again here
  const timed = (name: string, fn: () => Promise<void>) => {
    if (!t.timingCoveredBy) test(name, fn);
  };
  const settingsFor = (m: MockServer, over: Partial<ProviderSettings> = {}) => targetSettings(t, m, over);
  // a wire without cache reads must report none (null or 0), never a count of its own making
  const cacheRead = c.cacheReadTokens === undefined ? MOCK_USAGE.cacheRead : c.cacheReadTokens;

  describe("chat JSON", () => {
    test("text, usage, model, and what went upstream", async () => {
      const m = mock();
      const res = await p.chat(chatReq("model-a", { mcp_servers: [{ url: "x" }] }), settingsFor(m));
      expect(res.status).toBe(200);
      expect(res.body.choices[0]?.message.content).toBe(MOCK_TEXT);
      expect(res.body.choices[0]?.finish_reason).toBe("stop");
      expect(res.body.model).toBe("model-a");
      expect(res.body.usage?.prompt_tokens).toBe(MOCK_USAGE.prompt);
      expect(res.usage).toMatchObject({ promptTokens: 12, completionTokens: 5, totalTokens: 17 });
      const sent = m.requests.at(-1)!;
      expect(sent.path).toBe(pathFor(c.path, "model-a"));
      expect(t.credentialOf(sent)).toContain(API_KEY);
      expect(sent.headers["user-agent"]).toBe(`otari-gateway/${VERSION}`);
      expect(sent.headers["x-custom-header"]).toBe("custom-value");
      const body = sent.body as Record<string, unknown>;
      expect(upstreamModel(c, sent)).toBe("model-a");
      expect(body["mcp_servers"]).toBeUndefined();
    });

    test("tool calls", async () => {
      const res = await p.chat(chatReq("tools"), settingsFor(mock()));
      const choice = res.body.choices[0]!;
      expect(choice.finish_reason).toBe("tool_calls");
      const call = choice.message.tool_calls?.[0];
      expect(call?.function.name).toBe("get_weather");
      expect(JSON.parse(call?.function.arguments ?? "")).toEqual({ city: "Paris" });
      expect(call?.id).toBeTruthy();
    });

    test("cache tokens are part of prompt and reported as cached", async () => {
      const res = await p.chat(chatReq("cache"), settingsFor(mock()));
      expect(res.usage.promptTokens).toBe(c.cachePromptTokens);
      expect(res.usage.cacheReadTokens || null).toBe(cacheRead || null);
      expect(res.usage.cacheWriteTokens).toBe(c.cacheWriteTokens);
      expect(res.body.usage?.prompt_tokens).toBe(c.cachePromptTokens);
      expect(res.body.usage?.prompt_tokens_details?.cached_tokens || null).toBe(cacheRead || null);
    });

    test("reasoning text is exposed as message.reasoning.content", async () => {
      const res = await p.chat(chatReq("reasoning"), settingsFor(mock()));
      expect(res.body.choices[0]?.message.reasoning?.content).toBe("Thinking it over.");
    });
  });

  describe("chat stream", () => {
    test("role first, content in order, finish, usage last, merged usage", async () => {
      const stream = await p.chatStream(chatReq("chunks-4"), settingsFor(mock()));
      const chunks = await drain(stream);
      expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
      const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
      expect(text).toBe([0, 1, 2, 3].map(chunkText).join(""));
      const finishes = chunks.flatMap((c) => c.choices.map((x) => x.finish_reason)).filter(Boolean);
      expect(finishes).toEqual(["stop"]);
      const last = chunks.at(-1)!;
      if (c.usageOnFinish) expect(last.choices[0]?.finish_reason).toBe("stop");
      else expect(last.choices).toEqual([]);
      expect(last.usage?.completion_tokens).toBe(4);
      expect(stream.usage).toMatchObject({ promptTokens: 12, completionTokens: 4, totalTokens: 16 });
      expect(stream.contentSeen).toBe(true);
    });

    timed("the promise resolves at the first event, not after the whole stream", async () => {
      const started = performance.now();
      const stream = await p.chatStream(chatReq("slow-first-byte-150+pause-400"), settingsFor(mock()));
      const opened = performance.now() - started;
      expect(opened).toBeGreaterThanOrEqual(140);
      expect(opened).toBeLessThan(400);
      await drain(stream);
      expect(performance.now() - started).toBeGreaterThanOrEqual(540);
    });

    timed("chunks arrive as the upstream sends them (no buffering)", async () => {
      const stream = await p.chatStream(chatReq("chunks-4+interval-80"), settingsFor(mock()));
      const times: number[] = [];
      for await (const c of stream) if (c.choices[0]?.delta.content) times.push(performance.now());
      expect(times.length).toBe(4);
      expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(200);
    });

    test("tool call deltas: id and name first, argument fragments at the same index", async () => {
      const chunks: ChatChunk[] = await drain(await p.chatStream(chatReq("tools"), settingsFor(mock())));
      const deltas = chunks.flatMap((c) => c.choices.flatMap((x) => x.delta.tool_calls ?? []));
      expect(deltas[0]?.id).toBeTruthy();
      expect(deltas[0]?.function?.name).toBe("get_weather");
      expect(new Set(deltas.map((d) => d.index))).toEqual(new Set([0]));
      expect(JSON.parse(deltas.map((d) => d.function?.arguments ?? "").join(""))).toEqual({ city: "Paris" });
      expect(chunks.flatMap((c) => c.choices.map((x) => x.finish_reason)).filter(Boolean)).toEqual(["tool_calls"]);
    });

    test("stream usage with cache tokens; reasoning deltas", async () => {
      const stream = await p.chatStream(chatReq("cache+reasoning"), settingsFor(mock()));
      const chunks = await drain(stream);
      expect(stream.usage.cacheReadTokens || null).toBe(cacheRead || null);
      expect(stream.usage.promptTokens).toBe(c.cachePromptTokens);
      const reasoning = chunks.map((c) => c.choices[0]?.delta.reasoning?.content ?? "").join("");
      expect(reasoning).toBe("Thinking it over.");
    });
  });

  describe("/v1/messages", () => {
    const messagesReq = (model: string) => ({ model, max_tokens: 64, messages: [{ role: "user", content: "Hi" }] });

    test("non-stream returns an Anthropic message with usage", async () => {
      const res = await p.messages(messagesReq("model-m"), settingsFor(mock()));
      expect(res.body.type).toBe("message");
      expect(res.body.stop_reason).toBe("end_turn");
      expect(res.body.content[0]).toMatchObject({ type: "text", text: MOCK_TEXT });
      expect(res.body.usage.input_tokens).toBe(MOCK_USAGE.prompt);
      expect(res.usage.promptTokens).toBe(MOCK_USAGE.prompt);
    });

    test("tool use comes back as a tool_use block with stop_reason tool_use", async () => {
      const res = await p.messages(messagesReq("tools"), settingsFor(mock()));
      expect(res.body.stop_reason).toBe("tool_use");
      expect(res.body.content.find((b) => b.type === "tool_use")).toMatchObject({
        name: "get_weather",
        input: { city: "Paris" },
      });
    });

    test("stream is a complete Anthropic event sequence with usage", async () => {
      const stream = await p.messagesStream(messagesReq("chunks-2"), settingsFor(mock()));
      const types = (await drain(stream)).map((e) => e.type).filter((x) => x !== "ping");
      expect(types[0]).toBe("message_start");
      expect(types.slice(-2)).toEqual(["message_delta", "message_stop"]);
      expect(types).toContain("content_block_start");
      expect(types.filter((x) => x === "content_block_delta").length).toBe(2);
      expect(stream.usage).toMatchObject({ promptTokens: 12, completionTokens: 2 });
    });
  });
}
