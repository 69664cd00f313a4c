/**
 * The "Done when", through the compiled binary (dist/gateway) and nothing else: `{"tools":[{"type":
 * "otari_code_execution"}]}` computes 23 factorial in the embedded sandbox (no sandbox service anywhere), and
 * `otari_web_search` answers from a local SearXNG-compatible mock with the page's extracted Markdown. The model is
 * the mock provider (`toolloop`), running in this test process. And the sandbox's main file-read escape, through
 * the binary: Pyodide's internal API reaches none of the gateway's files.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type MockServer, startOpenAIMock } from "../../src/providers/_mocks";
import { parseSse } from "../inference/_helpers";
import { ensureBinary, type Served, startServe, stopAll, tempDir } from "../e2e/_gateway";
import { type MockSearch, startMockSearch } from "./_helpers";

setDefaultTimeout(120_000);
const MASTER = "tools-e2e-master-key-0123456789";
const FACTORIAL_23 = "25852016738884976640000";

let oai: MockServer;
let search: MockSearch;
let gw: Served;
let key: string;
let dir: string;

beforeAll(async () => {
  await ensureBinary();
  oai = startOpenAIMock();
  search = startMockSearch();
  dir = tempDir("gw-tools-");
  // Readable by the sandbox worker's user, as a config often is (as root the worker runs as nobody).
  chmodSync(dir, 0o755);
  writeFileSync(
    join(dir, "config.yml"),
    [
      `master_key: "${MASTER}"`,
      `database_url: "sqlite:///${join(dir, "gw.db")}"`,
      "providers:",
      "  openai:",
      "    api_key: sk-e2e-openai",
      `    api_base: "${oai.apiBase}"`,
    ].join("\n"),
  );
  gw = await startServe(["--config", join(dir, "config.yml")], {
    cwd: dir,
    env: { GATEWAY_WEB_SEARCH_URL: search.url, GATEWAY_WEB_SEARCH_ALLOW_PRIVATE_HOSTS: "true" },
  });
  const res = await fetch(`${gw.url}/v1/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
    body: JSON.stringify({ user_id: "tools-e2e" }),
  });
  key = ((await res.json()) as { key: string }).key;
}, 300_000);

afterAll(async () => {
  await stopAll();
  oai.stop();
  search.stop();
});

const chat = (body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("dist/gateway runs its own tools", () => {
  test("otari_code_execution: 23 factorial in the embedded sandbox (JSON, then streamed)", async () => {
    const body = {
      model: "openai:toolloop",
      messages: [{ role: "user", content: "import math\nprint(math.factorial(23))" }],
      tools: [{ type: "otari_code_execution" }],
    };
    const res = await chat(body);
    expect(res.status).toBe(200);
    const json = (await res.json()) as {
      choices: { message: { content: string } }[];
      usage: { prompt_tokens: number };
    };
    expect(json.choices[0]?.message.content).toBe(`Tool said: stdout:\n${FACTORIAL_23}\n`);
    expect(json.usage.prompt_tokens).toBe(24);

    const streamed = await chat({ ...body, stream: true });
    expect(streamed.status).toBe(200);
    const { events } = parseSse(await streamed.text());
    const text = events
      .flatMap((e) =>
        ((e.json?.choices as { delta: { content?: string } }[] | undefined) ?? []).map((c) => c.delta.content ?? ""),
      )
      .join("");
    expect(text).toContain(FACTORIAL_23);
    expect(events.at(-1)?.data).toBe("[DONE]");
  });

  test("otari_code_execution: Pyodide's internal API reads none of the gateway's files (config, database, /proc)", async () => {
    const paths = [join(dir, "config.yml"), join(dir, "gw.db"), `/proc/${gw.pid}/cmdline`, `/proc/${gw.pid}/environ`];
    const reachApi = readFileSync(
      join(import.meta.dir, "../../src/tools/code-execution/fixtures/reach-pyodide-api.py"),
      "utf8",
    );
    const code = `${reachApi}
import sys
for load in (getattr(sys.modules["pyodide_js._api"], "loadBinaryFile", None), API.loadBinaryFile):
    for path in ${JSON.stringify(paths)}:
        try:
            print("READ", path, bytes(_pyodide_core.run_sync(load(path)).to_py())[:300])
        except Exception as e:
            print("refused", path, type(e).__name__, str(e).splitlines()[0])`;
    const res = await chat({
      model: "openai:toolloop",
      messages: [{ role: "user", content: code }],
      tools: [{ type: "otari_code_execution" }],
    });
    expect(res.status).toBe(200);
    const content =
      ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content ?? "";
    expect(content).toStartWith("Tool said: stdout:\nreached: True\n");
    expect(content).not.toContain(MASTER);
    expect(content).not.toContain("sk-e2e-openai");
    expect(content).not.toContain("READ");
    // The stand-in module has no loader (TypeError: None is not callable); the real API's is refused by the OS.
    for (const path of paths)
      expect(content).toContain(`refused ${path} JsException Error: EPERM: operation not permitted, open '${path}'`);
    expect(content).toContain(`refused ${paths[0]} TypeError`);
  });

  test("otari_web_search: answers from the SearXNG-compatible mock with extracted Markdown", async () => {
    const res = await chat({
      model: "openai:toolloop",
      messages: [{ role: "user", content: "sea otters tools" }],
      tools: [{ type: "otari_web_search" }],
    });
    expect(res.status).toBe(200);
    const content =
      ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content ?? "";
    expect(search.queries.at(-1)?.get("q")).toBe("sea otters tools");
    expect(content).toStartWith("Tool said: [1] Sea otters use tools\n");
    expect(content).toContain("Sea otters crack open shellfish");
    expect(content).not.toContain("<p>");
  });
});
