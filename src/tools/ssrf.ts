/**
 * SSRF guard (docs/behaviour/tools.md#ssrf-rules) for URLs that come from requests or fetched content (web-search
 * result pages and their redirects). A URL passes when its scheme is http/https, it has a host, and EVERY address the
 * host resolves to (a literal IP, or all DNS answers) is public: not unspecified, loopback, link-local (169.254.169.254
 * included), multicast, private (RFC 1918, CGNAT, IPv6 ULA), documentation or otherwise reserved; IPv4-mapped, NAT64
 * and 6to4 IPv6 addresses are judged by the IPv4 address inside. A name that does not resolve is rejected.
 *
 * No second lookup (closing the DNS-rebinding window): `pinnedFetch` connects to the address that was validated.
 * The URL's host is replaced by that IP literal, the original `Host` header is sent, and for https the TLS
 * server name (SNI, and the name the certificate is verified against) is set to the original host with Bun's
 * `tls.serverName`; so the certificate is still checked for the real name while the socket goes to the checked IP.
 * Proxies are bypassed for these fetches (a proxy would resolve the name again).
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

/**
 * Addresses that are private, local or reserved are allowed when this is true (the override of
 * docs/behaviour/tools.md#ssrf-rules).
 */
export interface SsrfOptions {
  allowPrivate: boolean;
  /** Named in error messages (GATEWAY_WEB_SEARCH_ALLOW_PRIVATE_HOSTS for web search). */
  overrideVariable: string;
  /** Resolver (tests); default: the system resolver, all answers. */
  resolve?: (host: string) => Promise<string[]>;
  /** Address classifier (tests); default: classifyAddress. */
  classify?: (address: string) => string | null;
}

export class SsrfBlocked extends Error {
  constructor(
    message: string,
    readonly host: string,
    readonly address: string | null,
    readonly reason: string,
  ) {
    super(message);
    this.name = "SsrfBlocked";
  }
}

/** A URL that passed the check, with the address to connect to. */
export interface CheckedTarget {
  url: URL;
  /** The host name as written in the URL (brackets removed for IPv6). */
  host: string;
  /** The validated address the connection goes to (null when the override skipped the check). */
  address: string | null;
}

function parseIPv4(s: string): number[] | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : Number.NaN));
  return bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255) ? bytes : null;
}

/** 16 bytes of an IPv6 address (zone id refused), or null. */
export function parseIPv6(input: string): number[] | null {
  if (input.includes("%")) return null;
  let s = input;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return null;
    tail = v4;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const head = groups(halves[0] ?? "");
  const rest = halves.length === 2 ? groups(halves[1] ?? "") : [];
  const missing = 8 - head.length - rest.length;
  if ((halves.length === 2 && missing < 1) || (halves.length === 1 && missing !== 0)) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  const bytes: number[] = [];
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    const v = Number.parseInt(g, 16);
    bytes.push(v >> 8, v & 0xff);
  }
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes.length === 16 ? bytes : null;
}

function inV4(b: number[], prefix: [number, number, number, number], bits: number): boolean {
  for (let i = 0; i < 4; i++) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    if (take === 0) return true;
    const mask = (0xff << (8 - take)) & 0xff;
    if (((b[i] ?? 0) & mask) !== (prefix[i]! & mask)) return false;
  }
  return true;
}

const V4_RULES: [[number, number, number, number], number, string][] = [
  [[0, 0, 0, 0], 8, "unspecified ('this network', 0.0.0.0/8)"],
  [[127, 0, 0, 0], 8, "loopback"],
  [[169, 254, 169, 254], 32, "link-local (the cloud metadata endpoint)"],
  [[169, 254, 0, 0], 16, "link-local"],
  [[10, 0, 0, 0], 8, "private (RFC 1918)"],
  [[172, 16, 0, 0], 12, "private (RFC 1918)"],
  [[192, 168, 0, 0], 16, "private (RFC 1918)"],
  [[100, 64, 0, 0], 10, "private (shared address space, RFC 6598)"],
  [[192, 0, 0, 0], 24, "reserved (IETF protocol assignments)"],
  [[192, 0, 2, 0], 24, "reserved (documentation)"],
  [[198, 51, 100, 0], 24, "reserved (documentation)"],
  [[203, 0, 113, 0], 24, "reserved (documentation)"],
  [[198, 18, 0, 0], 15, "reserved (benchmarking)"],
  [[224, 0, 0, 0], 4, "multicast"],
  [[240, 0, 0, 0], 4, "reserved"],
];

function classifyV4(b: number[]): string | null {
  for (const [prefix, bits, reason] of V4_RULES) if (inV4(b, prefix, bits)) return reason;
  return null;
}

function classifyV6(b: number[]): string | null {
  const word = (i: number) => ((b[i * 2] ?? 0) << 8) | (b[i * 2 + 1] ?? 0);
  const zeroUpTo = (n: number) => b.slice(0, n).every((x) => x === 0);
  if (b.every((x) => x === 0)) return "unspecified";
  if (zeroUpTo(15) && b[15] === 1) return "loopback";
  // IPv4-mapped ::ffff:a.b.c.d and the deprecated IPv4-compatible ::a.b.c.d: judge the IPv4 inside.
  if (zeroUpTo(10) && word(5) === 0xffff) return classifyV4(b.slice(12));
  if (zeroUpTo(12)) return classifyV4(b.slice(12)) ?? "reserved (IPv4-compatible IPv6)";
  // NAT64 64:ff9b::/96 and 6to4 2002::/16 carry an IPv4 address too.
  if (word(0) === 0x64 && word(1) === 0xff9b && b.slice(4, 12).every((x) => x === 0)) return classifyV4(b.slice(12));
  if (word(0) === 0x2002) return classifyV4(b.slice(2, 6));
  const first = b[0] ?? 0;
  if (first === 0xff) return "multicast";
  if ((first & 0xfe) === 0xfc) return "private (IPv6 unique local)";
  if (first === 0xfe && ((b[1] ?? 0) & 0xc0) === 0x80) return "link-local";
  if (first === 0xfe && ((b[1] ?? 0) & 0xc0) === 0xc0) return "reserved (site-local)";
  if (word(0) === 0x2001 && word(1) === 0x0db8) return "reserved (documentation)";
  if (word(0) === 0x2001 && word(1) < 0x0200) return "reserved (IETF protocol assignments)";
  // Everything outside global unicast 2000::/3 is reserved.
  if ((first & 0xe0) !== 0x20) return "reserved";
  return null;
}

/** Why an address must not be fetched, or null when it is public. Not an IP at all counts as a reason too. */
export function classifyAddress(address: string): string | null {
  const bare = address.replace(/^\[|\]$/g, "");
  const kind = isIP(bare);
  if (kind === 4) {
    const b = parseIPv4(bare);
    return b ? classifyV4(b) : "not an IP address";
  }
  if (kind === 6) {
    const b = parseIPv6(bare);
    return b ? classifyV6(b) : "not an IP address";
  }
  return "not an IP address";
}

async function systemResolve(host: string): Promise<string[]> {
  const answers = await lookup(host, { all: true, verbatim: true });
  return answers.map((a) => a.address);
}

/**
 * Checks a URL (docs/behaviour/tools.md#ssrf-rules); throws SsrfBlocked naming host, address, reason and the override
 * variable.
 */
export async function checkUrl(raw: string | URL, options: SsrfOptions): Promise<CheckedTarget> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SsrfBlocked(`Refusing to fetch '${String(raw)}': not a valid URL`, "", null, "invalid URL");
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const refuse = (address: string | null, reason: string): never => {
    const where =
      address && address !== host
        ? `host '${host}' resolves to ${address}, which is`
        : `host '${host}' (address ${address}) is`;
    throw new SsrfBlocked(
      `Refusing to fetch ${url.href}: ${where} ${reason}. Set ${options.overrideVariable}=true to allow private and local hosts.`,
      host,
      address,
      reason,
    );
  };
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new SsrfBlocked(
      `Refusing to fetch ${url.href}: only http and https URLs are fetched (scheme '${url.protocol.replace(/:$/, "")}')`,
      host,
      null,
      "scheme not allowed",
    );
  }
  if (!host) throw new SsrfBlocked(`Refusing to fetch ${url.href}: the URL has no host`, "", null, "no host");
  if (options.allowPrivate) return { url, host, address: null };
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = await (options.resolve ?? systemResolve)(host);
    } catch {
      addresses = [];
    }
    if (addresses.length === 0) {
      throw new SsrfBlocked(
        `Refusing to fetch ${url.href}: host '${host}' does not resolve (unresolvable names are refused; ${options.overrideVariable}=true disables the check)`,
        host,
        null,
        "unresolvable host",
      );
    }
  }
  for (const address of addresses) {
    const reason = (options.classify ?? classifyAddress)(address);
    if (reason) refuse(address, reason);
  }
  return { url, host, address: addresses[0] ?? null };
}

/**
 * Fetches a checked target over a connection to its validated address (see the module comment). Redirects are
 * not followed (`redirect: "manual"`): the caller re-checks each hop.
 */
export function pinnedFetch(target: CheckedTarget, init: BunFetchRequestInit = {}): Promise<Response> {
  if (target.address === null) return fetch(target.url, { ...init, redirect: "manual" });
  const direct = new URL(target.url);
  direct.hostname = isIP(target.address) === 6 ? `[${target.address}]` : target.address;
  const headers = new Headers(init.headers);
  headers.set("host", target.url.host);
  return fetch(direct, {
    ...init,
    headers,
    redirect: "manual",
    proxy: false,
    // SNI and certificate name: the real host (an IP literal host needs neither).
    ...(target.url.protocol === "https:" && !isIP(target.host)
      ? { tls: { ...init.tls, serverName: target.host } }
      : {}),
  });
}

/**
 * A fetch bound to one checked target, for a client that makes several requests to it (an MCP session): each request
 * must stay on the target's origin (anything else is refused, it was never checked) and is pinned like
 * `pinnedFetch`.
 */
export function pinnedFetcher(
  target: CheckedTarget,
): (input: string | URL, init?: BunFetchRequestInit) => Promise<Response> {
  return (input, init) => {
    const url = new URL(input);
    if (url.origin !== target.url.origin)
      return Promise.reject(
        new SsrfBlocked(
          `Refusing to fetch ${url.origin}: not the checked origin ${target.url.origin}`,
          url.hostname,
          null,
          "unchecked origin",
        ),
      );
    return pinnedFetch({ ...target, url }, init);
  };
}
