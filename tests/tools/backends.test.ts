/**
 * The loop with the real backends in-process (SPEC §9.4a, §9.5, §13 item 70): with no GATEWAY_SANDBOX_URL the code
 * runs in the embedded sandbox (Pyodide children of this process); web search queries a SearXNG-compatible mock and
 * hands the model the page's extracted Markdown. Slow starts (Pyodide) get generous, not tight, timeouts.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createSqliteDatabase, type TestDatabase } from "../helpers/db";
import type { TestGateway } from "../helpers/gateway";
import { type Json, type MockSearch, postJson, startMockSearch, startToolGateway, upstreamBodies } from "./_helpers";

setDefaultTimeout(120_000);

let db: TestDatabase;
let gw: TestGateway;
let search: MockSearch;
let key: string;

beforeAll(async () => {
  db = await createSqliteDatabase();
  search = startMockSearch();
  gw = await startToolGateway(db, { search });
  key = (await gw.createKey({ user_id: "backend-user" })).key;
});

afterAll(async () => {
  await gw.close();
  search.stop();
  await db.drop();
});

const answerOf = (res: { json: Json }) =>
  ((res.json.choices as Json[])[0] as { message: { content: string } }).message.content;

describe("embedded sandbox (no GATEWAY_SANDBOX_URL)", () => {
  test("otari_code_execution computes 23 factorial, variables persisting across the request's calls", async () => {
    const res = await postJson(gw, "/v1/chat/completions", key, {
      model: "openai:toolloop-2",
      messages: [
        { role: "user", content: "import math\nx = math.factorial(23) if 'x' not in globals() else x\nprint(x)" },
      ],
      tools: [{ type: "otari_code_execution" }],
    });
    expect(res.status).toBe(200);
    expect(answerOf(res)).toBe("Tool said: stdout:\n25852016738884976640000\n");
  });
});

describe("web search (SearXNG-compatible backend)", () => {
  test("otari_web_search answers from the backend with the page's extracted Markdown", async () => {
    gw.openai.reset();
    const res = await postJson(gw, "/v1/chat/completions", key, {
      model: "openai:toolloop-1",
      messages: [{ role: "user", content: "do sea otters use tools" }],
      tools: [{ type: "otari_web_search", max_results: 3 }],
    });
    expect(res.status).toBe(200);
    expect(search.queries.at(-1)?.get("q")).toBe("do sea otters use tools");
    expect(search.queries.at(-1)?.get("engines")).toBe("duckduckgo,mojeek,qwant,wikipedia");
    const answer = answerOf(res);
    expect(answer).toStartWith("Tool said: [1] Sea otters use tools\nhttp://127.0.0.1:");
    expect(answer).toContain("Sea otters crack open shellfish");
    expect(answer).not.toContain("Copyright Otter Times");
    expect(answer).not.toContain("a short snippet");
    const sent = upstreamBodies(gw.openai.requests, "/v1/chat/completions")[0] as {
      messages: Json[];
      tools: { function: { name: string } }[];
    };
    expect(sent.messages[0]?.content).toBe(
      "You have access to the following tools:\n- web_search: search the web for current information and facts to cite",
    );
    expect(sent.tools.map((t) => t.function.name)).toEqual(["web_search"]);
  });
});
