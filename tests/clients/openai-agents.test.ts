/**
 * The OpenAI Agents SDK (`@openai/agents`) against dist/gateway, unchanged: an Agent with a function tool, run over
 * the Responses API and over chat completions, JSON and streamed; the tool is called, its result reaches the model
 * and the final output carries it; the usage rows match the run's raw responses. Then a revoked key and an upstream
 * 5xx, as the openai SDK's error classes the Agents SDK lets through.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  Agent,
  type Model,
  OpenAIChatCompletionsModel,
  OpenAIResponsesModel,
  run,
  setTracingDisabled,
  tool,
} from "@openai/agents";
import OpenAI from "openai";
import { z } from "zod";
import { type ClientGateway, rejection, startClientGateway, type UsageRow } from "./_gateway";

let gw: ClientGateway;

beforeAll(async () => {
  // Tracing would export spans to OpenAI's servers: nothing leaves this machine.
  setTracingDisabled(true);
  gw = await startClientGateway();
}, 120_000);
afterAll(async () => {
  await gw?.stop();
});

const calls: string[] = [];
const lookup = tool({
  name: "lookup",
  description: "Looks the weather up",
  parameters: z.object({ input: z.string() }),
  execute: async ({ input }) => {
    calls.push(input);
    return `sunny (${input})`;
  },
});

type Api = "responses" | "chat_completions";

async function agentFor(userId: string, api: Api, model: string) {
  const { key, id } = await gw.keyFor(userId);
  const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0 });
  const m: Model =
    api === "responses"
      ? new OpenAIResponsesModel(client, `openai:${model}`)
      : new OpenAIChatCompletionsModel(client, `openai:${model}`);
  return {
    keyId: id,
    agent: new Agent({ name: "weather", instructions: "Use the lookup tool.", tools: [lookup], model: m }),
  };
}

const rowTokens = (rows: UsageRow[]) => rows.map((r) => [r["prompt_tokens"], r["completion_tokens"]]);

describe.each(["responses", "chat_completions"] as const)("Agent over %s", (api) => {
  test("run(): the tool is called with the model's arguments and the final output carries its result", async () => {
    const user = `agents-run-${api}`;
    const { agent } = await agentFor(user, api, "toolloop");
    calls.length = 0;
    const result = await run(agent, "Paris");
    expect(calls).toEqual(["Paris"]);
    expect(result.finalOutput).toBe("Tool said: sunny (Paris)");
    expect(result.rawResponses).toHaveLength(2);
    const rows = await gw.rows(user, 2);
    expect(rows.map((r) => r["endpoint"])).toEqual(
      api === "responses" ? ["/v1/responses", "/v1/responses"] : ["/v1/chat/completions", "/v1/chat/completions"],
    );
    expect(rowTokens(rows)).toEqual(result.rawResponses.map((r) => [r.usage.inputTokens, r.usage.outputTokens]));
  });

  test("run({ stream: true }): the same run streamed, completing cleanly", async () => {
    const user = `agents-stream-${api}`;
    const { agent } = await agentFor(user, api, "toolloop");
    const result = await run(agent, "Rome", { stream: true });
    let deltas = "";
    for await (const event of result.toTextStream()) deltas += event;
    await result.completed;
    expect(result.error).toBeNull();
    expect(result.finalOutput).toBe("Tool said: sunny (Rome)");
    expect(deltas).toContain("sunny (Rome)");
    const rows = await gw.rows(user, 2);
    expect(rows.every((r) => r["status"] === "success" && r["estimated"] === false)).toBe(true);
    expect(rowTokens(rows)).toEqual(result.rawResponses.map((r) => [r.usage.inputTokens, r.usage.outputTokens]));
  });

  test("an upstream 500 is the openai SDK's InternalServerError (502); a revoked key its AuthenticationError", async () => {
    const failing = await agentFor(`agents-errors-${api}`, api, "error-500");
    const upstream = await rejection(run(failing.agent, "Paris"));
    expect(upstream).toBeInstanceOf(OpenAI.InternalServerError);
    expect((upstream as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    await gw.revoke(failing.keyId);
    const revoked = await rejection(run(failing.agent, "Paris"));
    expect(revoked).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((revoked as InstanceType<typeof OpenAI.APIError>).status).toBe(401);
  });

  test("a stream cut mid-way (connection reset, or a body ending early) fails the run, never a clean finish", async () => {
    for (const cut of ["break-stream", "cut-stream"]) {
      const { agent } = await agentFor(`agents-${cut}-${api}`, api, cut);
      const result = await run(agent, "Paris", { stream: true });
      const failed = await rejection(
        (async () => {
          for await (const _ of result.toTextStream()) {
            // drained for its failure
          }
          await result.completed;
          if (result.error) throw result.error;
        })(),
      );
      expect(failed).toBeInstanceOf(Error);
    }
  });
});
