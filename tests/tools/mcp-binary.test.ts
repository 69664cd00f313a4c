/**
 * The MCP client bundled in the compiled binary (dist/gateway), through its hidden `mcp-probe` command and through
 * `serve` driven by the official openai client: an https MCP server behind a bearer token, with a self-signed
 * certificate for `localhost` trusted through NODE_EXTRA_CA_CERTS. The connection goes to the checked address
 * (localhost's first) while TLS is verified for the name in the URL; the URL rules use the gateway's own settings.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { lookup } from "node:dns/promises";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type McpFixture, startMcpServer, text, tool } from "../../src/tools/mcp/fixtures/mcp-server";
import { writeFileSync } from "node:fs";
import OpenAI from "openai";
import { type MockServer, startOpenAIMock } from "../../src/providers/_mocks";
import { ensureBinary, run, startServe, stopAll, tempDir } from "../e2e/_gateway";

setDefaultTimeout(60_000);
const FIXTURES = join(import.meta.dir, "..", "..", "src", "tools", "mcp", "fixtures");
const CERT = join(FIXTURES, "localhost.cert.pem");

let server: McpFixture;
let dir: string;
/** The address the gateway checks and connects to for `localhost`: the resolver's first answer. */
let address: string;

beforeAll(async () => {
  await ensureBinary();
  dir = tempDir("gw-mcp-");
  address = (await lookup("localhost", { all: true, verbatim: true }))[0]!.address;
  server = startMcpServer({
    hostname: address,
    token: "mcp-token",
    tls: { cert: readFileSync(CERT, "utf8"), key: readFileSync(join(FIXTURES, "localhost.key.pem"), "utf8") },
    tools: [
      {
        tool: tool("echo", "Echo the text back", { text: { type: "string" } }),
        run: (a) => text(`echo: ${a.text ?? a.input}`),
      },
      { tool: tool("hidden"), run: () => text("never offered") },
    ],
  });
}, 300_000);

afterAll(() => server.stop());

const probe = (url: string, extra: string[] = [], env: Record<string, string> = {}) =>
  run(["mcp-probe", "--url", url, "--name", "fx", "--token", "mcp-token", ...extra], {
    cwd: dir,
    env: { NODE_EXTRA_CA_CERTS: CERT, ...env },
  });

describe("dist/gateway's MCP client", () => {
  test("https with a token: tools listed and filtered, a call answered, the session deleted", async () => {
    const before = server.requests.length;
    const res = await probe(`https://localhost:${server.port}/mcp`, [
      "--allowed",
      "echo",
      "--call",
      "fx__echo",
      "--args",
      '{"text":"from the binary"}',
    ]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({
      tools: [{ name: "fx__echo", description: "Echo the text back" }],
      result: "echo: from the binary",
    });
    const requests = server.requests.slice(before);
    expect(requests.at(-1)).toBe(`DELETE localhost:${server.port}`);
    expect(new Set(requests.map((r) => r.split(" ")[1]))).toEqual(new Set([`localhost:${server.port}`]));
    expect(server.deleted).toEqual(server.opened);
  });

  test("the certificate is checked for the URL's name: the same server by IP, or untrusted, is a 502", async () => {
    const byIp = await probe(server.url);
    expect(byIp.code).toBe(1);
    expect(byIp.stderr).toContain("MCP server 'fx' unreachable:");
    const untrusted = await probe(`https://localhost:${server.port}/mcp`, [], { NODE_EXTRA_CA_CERTS: "" });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toContain("MCP server 'fx' unreachable:");
    expect(untrusted.stderr).toMatch(/certificate/i);
  });

  test("the URL rules come from the gateway's settings: loopback refused with GATEWAY_MCP_ALLOW_LOOPBACK=false", async () => {
    const before = server.requests.length;
    const res = await probe(`https://localhost:${server.port}/mcp`, [], { GATEWAY_MCP_ALLOW_LOOPBACK: "false" });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      `MCP server 'fx': host 'localhost' resolves to ${address}, which is loopback; loopback MCP servers are refused while GATEWAY_MCP_ALLOW_LOOPBACK=false`,
    );
    expect(server.requests.length).toBe(before);
  });
});

describe("dist/gateway serving a tool loop on an MCP server (openai client)", () => {
  const MASTER = "mcp-e2e-master-key-0123456789";
  let oai: MockServer;
  let openai: OpenAI;

  beforeAll(async () => {
    oai = startOpenAIMock();
    const cwd = tempDir("gw-mcp-serve-");
    writeFileSync(
      join(cwd, "config.yml"),
      [
        `master_key: "${MASTER}"`,
        `database_url: "sqlite:///${join(cwd, "gw.db")}"`,
        "providers:",
        "  openai:",
        "    api_key: sk-e2e-openai",
        `    api_base: "${oai.apiBase}"`,
        "pricing:",
        '  "openai:toolloop-2": { input_price_per_million: 1, output_price_per_million: 2 }',
        '  "otari:mcp": { input_price_per_million: 1000, output_price_per_million: 0 }',
      ].join("\n"),
    );
    const gw = await startServe(["--config", join(cwd, "config.yml")], { cwd, env: { NODE_EXTRA_CA_CERTS: CERT } });
    const res = await fetch(`${gw.url}/v1/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
      body: JSON.stringify({ user_id: "mcp-e2e" }),
    });
    const { key } = (await res.json()) as { key: string };
    openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0 });
  }, 120_000);

  afterAll(async () => {
    await stopAll();
    oai.stop();
  });

  const create = (token: string) =>
    openai.chat.completions
      .create({
        model: "openai:toolloop-2",
        messages: [{ role: "user", content: "over tls" }],
        ...({
          mcp_servers: [
            {
              name: "fx",
              url: `https://localhost:${server.port}/mcp`,
              authorization_token: token,
              allowed_tools: ["echo"],
            },
          ],
        } as object),
      })
      .withResponse();

  test("https with the token: two rounds through the MCP server, priced per call", async () => {
    const calls = server.calls.length;
    const { data, response } = await create("mcp-token");
    expect(data.choices[0]?.message.content).toBe("Tool said: echo: over tls");
    expect(server.calls.length - calls).toBe(2);
    expect(data.usage?.total_tokens).toBe(51);
    expect(Number(response.headers.get("x-gateway-cost-usd"))).toBeCloseTo((36 + 30) / 1e6 + 0.002, 9);
  });

  test("a wrong token is the server's 401: a 502 naming the server, the token not repeated", async () => {
    const err = await create("wrong-token").then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect(String((err as Error).message)).toContain("MCP server 'fx' unreachable");
    expect(String((err as Error).message)).not.toContain("wrong-token");
  });
});
