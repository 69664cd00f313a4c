/**
 * The MCP client bundled in the compiled binary (dist/gateway), through its hidden `mcp-probe` command: an https MCP
 * server behind a bearer token, with a self-signed certificate for `localhost` trusted through NODE_EXTRA_CA_CERTS.
 * The connection goes to the checked address (localhost's first) while TLS is verified for the name in the URL; the URL
 * rules use the gateway's own settings.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { lookup } from "node:dns/promises";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type McpFixture, startMcpServer, text, tool } from "../../src/tools/mcp/fixtures/mcp-server";
import { ensureBinary, run, tempDir } from "../e2e/_gateway";

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
      { tool: tool("echo", "Echo the text back", { text: { type: "string" } }), run: (a) => text(`echo: ${a.text}`) },
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
