import { afterAll, describe, expect, test } from "bun:test";
import { API_KEY, gatewayError, settingsFor } from "../_contract/index.ts";
import { startWatsonxMock } from "../_mocks/index.ts";
import type { ProviderSettings } from "../types.ts";
import { clearWatsonxTokens } from "./api.ts";
import { toWatsonxChatBody } from "./chat.ts";
import { watsonx } from "./index.ts";

const mock = startWatsonxMock({ apiKey: API_KEY });
afterAll(() => mock.stop());

const settings = (extra: Record<string, unknown> = { project_id: "p1" }): ProviderSettings => ({
  ...settingsFor(mock),
  name: "watsonx",
  extra: { iam_url: mock.url, ...extra },
});
const hi = { model: "ibm/granite-3-8b-instruct", messages: [{ role: "user" as const, content: "Hi" }] };

describe("watsonx specifics", () => {
  test("one IAM exchange serves concurrent calls and later ones; the token is the model API's bearer", async () => {
    clearWatsonxTokens();
    mock.reset();
    await Promise.all([watsonx.chat(hi, settings()), watsonx.chat(hi, settings()), watsonx.chat(hi, settings())]);
    await watsonx.chat(hi, settings());
    const iam = mock.requests.filter((r) => r.path === "/identity/token");
    expect(iam.length).toBe(1);
    expect(iam[0]?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(iam[0]?.headers["x-custom-header"]).toBeUndefined();
    const chats = mock.requests.filter((r) => r.path.startsWith("/ml/v1/text/chat"));
    expect(chats.length).toBe(4);
    for (const r of chats) expect(r.headers["authorization"]).toBe(`Bearer iam-token-for-${API_KEY}`);
  });

  test("IAM refusing the key is the gateway's credentials failing (502), not the client's 400", async () => {
    clearWatsonxTokens();
    const err = await gatewayError(watsonx.chat(hi, { ...settings(), apiKey: "wrong-key-123456" }));
    expect([err.status, err.message]).toEqual([502, "The provider rejected the gateway's credentials"]);
  });

  test("no project or space -> 400 before any call; the space is used when no project is set", async () => {
    mock.reset();
    const err = await gatewayError(watsonx.chat(hi, settings({})));
    expect([err.status, err.message]).toEqual([
      400,
      "Provider 'watsonx' requires project_id or space_id to be configured",
    ]);
    expect(mock.requests.length).toBe(0);
    await watsonx.chat(hi, settings({ env: { WATSONX_SPACE_ID: "space-9" } }));
    expect((mock.requests.at(-1)!.body as Record<string, unknown>)["space_id"]).toBe("space-9");
  });

  test("request shaping: model_id, tool choice spellings, max tokens, no stream flag or unknown fields", () => {
    const body = toWatsonxChatBody(
      { ...hi, tool_choice: "required", max_completion_tokens: 9, store: true, user: "u", stream: true },
      { project_id: "p" },
    );
    expect(body).toEqual({
      model_id: hi.model,
      project_id: "p",
      messages: hi.messages,
      max_tokens: 9,
      tool_choice_option: "required",
    });
    const named = { type: "function", function: { name: "f" } };
    expect(toWatsonxChatBody({ ...hi, tool_choice: named }, { space_id: "s" })["tool_choice"]).toEqual(named);
  });

  test("token-id embedding input -> 400 before any call", async () => {
    const err = await gatewayError(watsonx.embed({ model: "e", input: [[1, 2, 3]] }, settings()));
    expect(err.status).toBe(400);
  });
});
