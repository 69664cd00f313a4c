/**
 * SSRF rules (docs/behaviour/tools.md#ssrf-rules): address classes, URL checks, error messages, and the pinned
 * connection.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { checkUrl, classifyAddress, pinnedFetch, SsrfBlocked, type SsrfOptions } from "./ssrf";

const VAR = "GATEWAY_WEB_SEARCH_ALLOW_PRIVATE_HOSTS";
const strict: SsrfOptions = { allowPrivate: false, overrideVariable: VAR };
const resolving = (answers: Record<string, string[]>): SsrfOptions => ({
  ...strict,
  resolve: async (host) => answers[host] ?? [],
});

async function refused(url: string, options: SsrfOptions = strict): Promise<SsrfBlocked> {
  const err = await checkUrl(url, options).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SsrfBlocked);
  return err as SsrfBlocked;
}

describe("address classes", () => {
  test.each([
    ["0.0.0.0", "unspecified"],
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["169.254.169.254", "cloud metadata"],
    ["169.254.10.1", "link-local"],
    ["10.0.0.1", "RFC 1918"],
    ["172.16.0.1", "RFC 1918"],
    ["172.31.255.255", "RFC 1918"],
    ["192.168.1.1", "RFC 1918"],
    ["100.64.0.1", "RFC 6598"],
    ["192.0.2.1", "documentation"],
    ["198.18.0.1", "benchmarking"],
    ["224.0.0.1", "multicast"],
    ["240.0.0.1", "reserved"],
    ["255.255.255.255", "reserved"],
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["fe80::1", "link-local"],
    ["fc00::1", "unique local"],
    ["fd12:3456::1", "unique local"],
    ["ff02::1", "multicast"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["::ffff:169.254.169.254", "cloud metadata"],
    ["::ffff:10.1.2.3", "RFC 1918"],
    ["::127.0.0.1", "loopback"],
    ["64:ff9b::a00:1", "RFC 1918"],
    ["2002:a00:1::", "RFC 1918"],
    ["2001:db8::1", "documentation"],
    ["fec0::1", "site-local"],
    ["100::1", "reserved"],
  ])("%s is refused (%s)", (address, reason) => {
    expect(classifyAddress(address)).toContain(reason);
  });

  test.each([
    "8.8.8.8",
    "1.1.1.1",
    "172.32.0.1",
    "93.184.215.14",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
  ])("%s is public", (address) => {
    expect(classifyAddress(address)).toBeNull();
  });

  test("not an IP", () => {
    expect(classifyAddress("example.com")).toBe("not an IP address");
    expect(classifyAddress("fe80::1%eth0")).not.toBeNull();
  });
});

describe("checkUrl", () => {
  test("literal private addresses, in every spelling the URL parser accepts", async () => {
    for (const url of [
      "http://127.0.0.1/",
      "http://2130706433/",
      "http://0x7f.1/",
      "http://017700000001/",
      "http://[::1]:8080/x",
      "http://[::ffff:127.0.0.1]/",
      "http://169.254.169.254/latest/meta-data/",
      "https://10.0.0.5/",
      "http://0.0.0.0:80/",
    ]) {
      await refused(url);
    }
  });

  test("the message names host, address, reason and the override variable", async () => {
    const e = await refused(
      "http://metadata.internal/computeMetadata",
      resolving({ "metadata.internal": ["169.254.169.254"] }),
    );
    expect(e.host).toBe("metadata.internal");
    expect(e.address).toBe("169.254.169.254");
    expect(e.message).toContain("metadata.internal");
    expect(e.message).toContain("169.254.169.254");
    expect(e.message).toContain("link-local");
    expect(e.message).toContain(VAR);
  });

  test("every DNS answer must be public", async () => {
    const e = await refused("http://mixed.test/", resolving({ "mixed.test": ["93.184.215.14", "10.0.0.7"] }));
    expect(e.address).toBe("10.0.0.7");
    const ok = await checkUrl("http://public.test/", resolving({ "public.test": ["93.184.215.14", "2606:4700::1"] }));
    expect(ok.address).toBe("93.184.215.14");
  });

  test("a name that does not resolve is refused; so is localhost through the system resolver", async () => {
    const e = await refused("http://nowhere.test/", resolving({}));
    expect(e.reason).toBe("unresolvable host");
    expect(e.message).toContain(VAR);
    expect((await refused("http://localhost:9/")).reason).toBe("loopback");
  });

  test("only http and https, with a host", async () => {
    expect((await refused("file:///etc/passwd")).reason).toBe("scheme not allowed");
    expect((await refused("ftp://example.com/")).reason).toBe("scheme not allowed");
    expect((await refused("gopher://127.0.0.1:6379/")).reason).toBe("scheme not allowed");
    expect((await refused("not a url")).reason).toBe("invalid URL");
  });

  test("the override disables the address checks (not the scheme check)", async () => {
    const ok = await checkUrl("http://127.0.0.1:1/", { ...strict, allowPrivate: true });
    expect(ok.address).toBeNull();
    await refused("file:///etc/passwd", { ...strict, allowPrivate: true });
  });
});

describe("pinnedFetch: the connection goes to the validated address", () => {
  test("http: one lookup, the socket goes to the checked IP, the Host header keeps the name", async () => {
    const seen: string[] = [];
    const server = Bun.serve({
      hostname: "127.0.0.2",
      port: 0,
      fetch: (req) => {
        seen.push(req.headers.get("host") ?? "");
        return new Response("pinned");
      },
    });
    let lookups = 0;
    const options: SsrfOptions = {
      ...strict,
      // A rebinding resolver: the first answer passes, any later one would point elsewhere.
      resolve: async () => (lookups++ === 0 ? ["127.0.0.2"] : ["127.0.0.1"]),
      classify: (a) => (a === "127.0.0.2" ? null : classifyAddress(a)),
    };
    const target = await checkUrl(`http://rebind.test:${server.port}/page?q=1`, options);
    const res = await pinnedFetch(target);
    expect(await res.text()).toBe("pinned");
    expect(seen).toEqual([`rebind.test:${server.port}`]);
    expect(lookups).toBe(1);
    server.stop(true);
  });

  test("https: TLS is verified for the host name (SNI) while connecting to the IP", async () => {
    const cert = readFileSync(new URL("./fixtures/example-test.cert.pem", import.meta.url), "utf8");
    const key = readFileSync(new URL("./fixtures/example-test.key.pem", import.meta.url), "utf8");
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert, key },
      fetch: (req) => new Response(`host=${req.headers.get("host")}`),
    });
    const options: SsrfOptions = { ...strict, resolve: async () => ["127.0.0.1"], classify: () => null };
    const good = await checkUrl(`https://example.test:${server.port}/`, options);
    expect(await (await pinnedFetch(good, { tls: { ca: cert } })).text()).toBe(`host=example.test:${server.port}`);
    // The same certificate does not pass for another name: the name, not the IP, is what is verified.
    const other = await checkUrl(`https://other.test:${server.port}/`, options);
    await expect(pinnedFetch(other, { tls: { ca: cert } })).rejects.toThrow(/ALTNAME|certificate|hostname/i);
    server.stop(true);
  });

  test("redirects are not followed by fetch itself", async () => {
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => Response.redirect("http://169.254.169.254/", 302),
    });
    const target = await checkUrl(`http://127.0.0.1:${server.port}/`, { ...strict, allowPrivate: true });
    const res = await pinnedFetch(target);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("http://169.254.169.254/");
    server.stop(true);
  });
});
