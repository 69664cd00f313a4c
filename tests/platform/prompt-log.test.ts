/**
 * `log_prompts` with `log_level: debug` logs the prompt of each authenticated inference request in platform mode as
 * it does standalone (docs/operations.md#prompt-logging): the inference routes are one module for both modes.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { configureLogging } from "../../src/runtime/logger";
import { attempt, route } from "../helpers/platform-mock";
import { startPlatformGateway } from "./_gateway";

const lines: string[] = [];
const sink = { write: (line: string) => lines.push(line) } as unknown as NodeJS.WriteStream;
let t: ReturnType<typeof startPlatformGateway>;

beforeAll(() => {
  configureLogging({ level: "debug", format: "json", stream: sink });
  t = startPlatformGateway({}, { log_prompts: true, log_level: "debug" });
});
afterAll(async () => {
  await t.close();
  configureLogging({ level: "info", format: "pretty" });
});

test("a platform-mode chat request's messages are logged at debug, with its request id", async () => {
  t.platform.setResolve(route([attempt("p-1", t.openai.apiBase)]));
  const prompt = "platform-prompt-text-4b1c";
  const res = await t.call("POST", "/v1/chat/completions", {
    body: { model: "openai:m", messages: [{ role: "user", content: prompt }] },
    headers: { "x-request-id": "req-prompt-log-1" },
  });
  expect(res.status).toBe(200);
  const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l["msg"] === "prompt");
  expect(logged).toMatchObject({ endpoint: "/v1/chat/completions", model: "openai:m", request_id: "req-prompt-log-1" });
  expect(JSON.stringify(logged?.["messages"])).toContain(prompt);
});
