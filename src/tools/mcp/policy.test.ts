/**
 * The MCP URL rules: each refusal is a 422 naming the server, host, address, reason and the variable that would allow
 * it; loopback passes unless GATEWAY_MCP_ALLOW_LOOPBACK=false; GATEWAY_MCP_ALLOW_PRIVATE_HOSTS=true lifts the address
 * checks but not the scheme and token rules; a server that passes carries the checked address.
 */
import { describe, expect, test } from "bun:test";
import { GatewayError } from "../../core/errors";
import { checkMcpServers, type McpServerConfig, type McpUrlPolicy } from "./policy";

const DNS: Record<string, string[]> = {
  "public.test": ["93.184.215.14"],
  "intranet.test": ["192.168.1.20"],
  "mixed.test": ["93.184.215.14", "10.1.2.3"],
  "metadata.test": ["169.254.169.254"],
  "local.test": ["127.0.0.1", "::1"],
};
const resolve = async (host: string) => DNS[host] ?? [];
const standard: McpUrlPolicy = { allowLoopback: true, allowPrivateHosts: false, resolve };

async function refusal(server: Partial<McpServerConfig>, policy = standard): Promise<GatewayError> {
  const err = await checkMcpServers([{ name: "tools", url: "https://public.test/mcp", ...server }], policy).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatewayError);
  const e = err as GatewayError;
  expect(e.status).toBe(422);
  expect(e.detail).toEqual([{ type: "value_error", loc: ["body", "mcp_servers", 0, "url"], msg: expect.any(String) }]);
  expect(e.message).toContain("MCP server 'tools'");
  return e;
}

describe("checkMcpServers", () => {
  test("a public host passes with the address it resolved to; a loopback one too by default", async () => {
    const [a, b] = await checkMcpServers(
      [
        { name: "a", url: "https://public.test/mcp" },
        { name: "b", url: "http://local.test:3000/mcp" },
      ],
      standard,
    );
    expect(a!.target.address).toBe("93.184.215.14");
    expect(a!.config.name).toBe("a");
    expect(b!.target.address).toBe("127.0.0.1");
  });

  test("a private address, literal or resolved, is refused naming host, address, reason and the override", async () => {
    const literal = await refusal({ url: "https://10.0.0.5/mcp" });
    expect(literal.message).toContain("host '10.0.0.5' is private (RFC 1918)");
    expect(literal.message).toContain("GATEWAY_MCP_ALLOW_PRIVATE_HOSTS=true");
    const resolved = await refusal({ url: "https://intranet.test/mcp" });
    expect(resolved.message).toContain("host 'intranet.test' resolves to 192.168.1.20, which is private (RFC 1918)");
    expect(resolved.message).toContain("GATEWAY_MCP_ALLOW_PRIVATE_HOSTS=true");
    // Every answer counts: one private address among public ones is enough.
    expect((await refusal({ url: "https://mixed.test/mcp" })).message).toContain("10.1.2.3");
    const metadata = await refusal({ url: "http://metadata.test/latest" });
    expect(metadata.message).toContain("169.254.169.254, which is link-local (the cloud metadata endpoint)");
    expect((await refusal({ url: "http://[fd00::1]/mcp" })).message).toContain("private (IPv6 unique local)");
    expect((await refusal({ url: "http://224.0.0.1/mcp" })).message).toContain("multicast");
    expect((await refusal({ url: "http://0.0.0.0:8080/mcp" })).message).toContain("unspecified");
  });

  test("the URL itself is not repeated in the message (its query may carry a secret)", async () => {
    const e = await refusal({ url: "https://intranet.test/mcp?api_key=sk-secret" });
    expect(e.message).not.toContain("sk-secret");
  });

  test("plain http with an authorization_token is refused, whatever the address", async () => {
    const e = await refusal({ url: "http://public.test/mcp", authorization_token: "t0ken" });
    expect(e.message).toContain("plain http is refused when an authorization_token is set (host 'public.test')");
    expect(e.message).not.toContain("t0ken");
    // Not lifted by the private-hosts override, which is about addresses.
    await refusal(
      { url: "http://127.0.0.1:9/mcp", authorization_token: "t0ken" },
      { ...standard, allowPrivateHosts: true },
    );
    const ok = await checkMcpServers(
      [{ name: "tools", url: "https://public.test/mcp", authorization_token: "t0ken" }],
      standard,
    );
    expect(ok).toHaveLength(1);
  });

  test("a host that does not resolve is refused", async () => {
    const e = await refusal({ url: "https://nowhere.test/mcp" });
    expect(e.message).toContain("host 'nowhere.test' does not resolve");
    expect(e.message).toContain("GATEWAY_MCP_ALLOW_PRIVATE_HOSTS=true");
  });

  test("loopback is refused with GATEWAY_MCP_ALLOW_LOOPBACK=false, and the message names that variable", async () => {
    const strict = { ...standard, allowLoopback: false };
    const e = await refusal({ url: "http://127.0.0.1:8080/mcp" }, strict);
    expect(e.message).toContain("host '127.0.0.1' is loopback");
    expect(e.message).toContain("GATEWAY_MCP_ALLOW_LOOPBACK=false");
    expect((await refusal({ url: "http://local.test/mcp" }, strict)).message).toContain("resolves to 127.0.0.1");
    expect((await refusal({ url: "http://[::1]:8080/mcp" }, strict)).message).toContain("loopback");
    expect((await refusal({ url: "http://[::ffff:127.0.0.1]/mcp" }, strict)).message).toContain("loopback");
  });

  test("GATEWAY_MCP_ALLOW_PRIVATE_HOSTS=true turns the address checks off (no lookup, no pinned address)", async () => {
    let lookups = 0;
    const open: McpUrlPolicy = {
      allowLoopback: false,
      allowPrivateHosts: true,
      resolve: async () => [String(lookups++)],
    };
    const [s] = await checkMcpServers([{ name: "tools", url: "http://intranet.test/mcp" }], open);
    expect(s!.target.address).toBeNull();
    expect(lookups).toBe(0);
  });

  test("only http and https", async () => {
    expect((await refusal({ url: "ftp://public.test/mcp" })).message).toContain("only http and https");
    expect((await refusal({ url: "file:///etc/passwd" })).message).toContain("scheme 'file'");
    expect((await refusal({ url: "not a url" })).message).toContain("not a valid URL");
  });

  test("the first refused entry is reported with its index; a name used twice is refused", async () => {
    const err = (await checkMcpServers(
      [
        { name: "ok", url: "https://public.test/mcp" },
        { name: "bad", url: "https://intranet.test/mcp" },
      ],
      standard,
    ).catch((e: unknown) => e)) as GatewayError;
    expect(err.status).toBe(422);
    expect(err.message).toStartWith("body.mcp_servers.1.url: MCP server 'bad'");
    const twice = (await checkMcpServers(
      [
        { name: "same", url: "https://public.test/a" },
        { name: "same", url: "https://public.test/b" },
      ],
      standard,
    ).catch((e: unknown) => e)) as GatewayError;
    expect(twice.status).toBe(422);
    expect(twice.message).toBe("body.mcp_servers.1.name: MCP server name 'same' is used by more than one entry");
  });
});
