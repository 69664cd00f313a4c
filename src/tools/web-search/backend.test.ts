/**
 * Web search (docs/behaviour/tools.md#web-search-backend) against a local SearXNG-compatible mock and local pages. Page
 * fetches use the allow-private override where the pages are simply local; the SSRF tests run without it.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { classifyAddress } from "../ssrf";
import { ToolBackendUnreachable } from "../types";
import {
  DEFAULT_ENGINES,
  filterResults,
  hostMatches,
  renderResults,
  WebSearch,
  type WebSearchOptions,
  webSearchOptions,
} from "./backend";
import { decodeBody, fetchPage, PAGE_MAX_BYTES } from "./fetch-page";
import { PageExtractor } from "./extractor";

interface Hit {
  path: string;
  host: string | null;
  userAgent: string | null;
}

let searches: URLSearchParams[] = [];
let searchReply: () => Response;
let pageHits: Hit[] = [];
let search: ReturnType<typeof Bun.serve>;
/** Local pages on 127.0.0.1 (private: only reachable with the override). */
let pages: ReturnType<typeof Bun.serve>;
/** A "public" page server on 127.0.0.2: the tests' classifier treats that one address as public. */
let publicPages: ReturnType<typeof Bun.serve>;
let PAGE: string;
let PUBLIC: string;

const ARTICLE = `<!doctype html><html><head><title>Widgets</title></head><body>
<nav>Home | Shop | Login</nav>
<article><h1>Widget prices in 2026</h1>
<p>${"Widget prices rose sharply this year as demand for small gadgets kept growing. ".repeat(6)}</p>
<table><tr><th>Item</th><th>Price</th></tr><tr><td>Widget</td><td>$3</td></tr><tr><td>Gadget</td><td>$5</td></tr></table>
<p>Analysts expect the trend to continue.</p></article>
<div id="comments"><p>Great post! Visit my site.</p></div>
<footer>Copyright 2026 Widget Times</footer><script>track()</script></body></html>`;

function pageRoutes(req: Request): Response {
  const url = new URL(req.url);
  pageHits.push({ path: url.pathname, host: req.headers.get("host"), userAgent: req.headers.get("user-agent") });
  const p = url.pathname;
  if (p === "/article") return new Response(ARTICLE, { headers: { "content-type": "text/html; charset=utf-8" } });
  if (p === "/latin1")
    return new Response(
      new Uint8Array([...new TextEncoder().encode("<p>caf"), 0xe9, ...new TextEncoder().encode(" au lait</p>")]),
      { headers: { "content-type": "text/html; charset=iso-8859-1" } },
    );
  if (p === "/plain") return new Response("Just some plain text.", { headers: { "content-type": "text/plain" } });
  if (p === "/huge") {
    // 6 MiB of text: the reader stops at 5 MiB.
    const chunk = new TextEncoder().encode(`${"x".repeat(1023)}\n`);
    let sent = 0;
    return new Response(
      new ReadableStream({
        pull(controller) {
          if (sent >= 6 * 1024 * 1024) return controller.close();
          controller.enqueue(chunk);
          sent += chunk.length;
        },
      }),
      { headers: { "content-type": "text/plain" } },
    );
  }
  if (p === "/missing") return new Response("nope", { status: 404 });
  if (p === "/binary")
    return new Response(new Uint8Array([1, 2, 3]), { headers: { "content-type": "application/octet-stream" } });
  if (p === "/slow")
    return new Promise<Response>((resolve) =>
      setTimeout(() => resolve(new Response("late")), 3_000),
    ) as unknown as Response;
  if (p === "/no-location") return new Response(null, { status: 302 });
  const hops = /^\/hops\/(\d+)$/.exec(p);
  if (hops) {
    const n = Number(hops[1]);
    return n === 0
      ? Response.redirect(`${url.origin}/article`, 302)
      : new Response(null, { status: 301, headers: { location: `/hops/${n - 1}` } });
  }
  if (p === "/to-loopback") return Response.redirect(`http://127.0.0.1:${pages.port}/article`, 302);
  if (p === "/to-metadata") return Response.redirect("http://169.254.169.254/latest/meta-data/", 302);
  if (p === "/to-ten") return Response.redirect("http://10.0.0.1/", 307);
  return new Response("unknown", { status: 404 });
}

const result = (url: string, title = "Title", content = "snippet", extra: Record<string, unknown> = {}) => ({
  url,
  title,
  content,
  ...extra,
});

const created: WebSearch[] = [];
afterEach(async () => {
  await Promise.all(created.splice(0).map((b) => b.shutdown()));
});

function backend(overrides: Partial<WebSearchOptions> = {}): WebSearch {
  const b = new WebSearch({
    baseUrl: `http://127.0.0.1:${search.port}`,
    engines: DEFAULT_ENGINES,
    maxResults: 5,
    extract: true,
    allowPrivateHosts: true,
    pageTimeoutMs: 1_000,
    ...overrides,
  });
  created.push(b);
  return b;
}

/** Strict SSRF (no override), except that 127.0.0.2 counts as a public address so redirects can be tested. */
const strictButPublicTwo = {
  allowPrivateHosts: false,
  classify: (address: string) => (address === "127.0.0.2" ? null : classifyAddress(address)),
};

async function runSearch(b: WebSearch, query: unknown, entry = {}): Promise<string> {
  const session = await b.openSession(entry);
  try {
    return await session.run({ query });
  } finally {
    await session.close();
  }
}

beforeAll(() => {
  search = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      searches.push(new URL(req.url).searchParams);
      return searchReply();
    },
  });
  pages = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: pageRoutes });
  publicPages = Bun.serve({ hostname: "127.0.0.2", port: 0, fetch: pageRoutes });
  PAGE = `http://127.0.0.1:${pages.port}`;
  PUBLIC = `http://127.0.0.2:${publicPages.port}`;
});

afterAll(() => {
  search.stop(true);
  pages.stop(true);
  publicPages.stop(true);
});

beforeEach(() => {
  searches = [];
  pageHits = [];
  searchReply = () => Response.json({ results: [] });
});

describe("the search request", () => {
  test("GET /search?q=…&format=json&engines=<default list>", async () => {
    expect(await runSearch(backend(), "  widget prices  ")).toBe("No results for query: 'widget prices'");
    expect(searches).toHaveLength(1);
    expect(searches[0]?.get("q")).toBe("widget prices");
    expect(searches[0]?.get("format")).toBe("json");
    expect(searches[0]?.get("engines")).toBe("duckduckgo,mojeek,qwant,wikipedia");
  });

  test("GATEWAY_WEB_SEARCH_ENGINES replaces the list (blanks dropped)", async () => {
    const options = webSearchOptions({
      webSearchUrl: `http://127.0.0.1:${search.port}/`,
      webSearchEngines: " bing, ,wikipedia ,",
      webSearchMaxResults: null,
      webSearchExtract: null,
      webSearchAllowPrivateHosts: false,
    });
    expect(options.engines).toEqual(["bing", "wikipedia"]);
    expect(options.baseUrl).toBe(`http://127.0.0.1:${search.port}`);
    await runSearch(new WebSearch(options), "q");
    expect(searches[0]?.get("engines")).toBe("bing,wikipedia");
  });

  test("empty or blank query: [tool error] empty query, no backend call", async () => {
    expect(await runSearch(backend(), "   ")).toBe("[tool error] empty query");
    expect(await runSearch(backend(), undefined)).toBe("[tool error] empty query");
    expect(await runSearch(backend(), 42)).toBe("[tool error] empty query");
    expect(searches).toHaveLength(0);
  });

  test("env knobs: max results (invalid ignored with a warning, clamped) and extraction switch", () => {
    const warnings: string[] = [];
    const base = {
      webSearchUrl: "http://s",
      webSearchEngines: null,
      webSearchExtract: null,
      webSearchAllowPrivateHosts: false,
    };
    const opts = (max: string | null, extract: string | null = null) =>
      webSearchOptions({ ...base, webSearchMaxResults: max, webSearchExtract: extract }, (m) => warnings.push(m));
    expect(opts(null).maxResults).toBe(5);
    expect(opts("3").maxResults).toBe(3);
    expect(opts("50").maxResults).toBe(20);
    expect(opts("0").maxResults).toBe(5);
    expect(opts("two").maxResults).toBe(5);
    expect(opts("2.5").maxResults).toBe(5);
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toContain("GATEWAY_WEB_SEARCH_MAX_RESULTS");
    expect(opts(null).extract).toBe(true);
    for (const off of ["0", "false", "NO", "off"]) expect(opts(null, off).extract).toBe(false);
    expect(opts(null, "yes").extract).toBe(true);
  });
});

describe("unreachable backend -> ToolBackendUnreachable (502, documented text)", () => {
  const cases: [string, () => Response][] = [
    ["non-2xx", () => new Response("down", { status: 500 })],
    ["invalid JSON", () => new Response("<html>")],
    ["results not a list", () => Response.json({ results: { a: 1 } })],
    ["no results key", () => Response.json({})],
  ];
  test.each(cases)("%s", async (_name, reply) => {
    searchReply = reply;
    const err = await runSearch(backend(), "q").then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ToolBackendUnreachable);
    expect((err as ToolBackendUnreachable).message).toBe(
      "web_search backend unreachable — check GATEWAY_WEB_SEARCH_URL",
    );
    expect((err as ToolBackendUnreachable).status).toBe(502);
  });

  test("nothing listening", async () => {
    const probe = Bun.serve({ port: 0, fetch: () => new Response() });
    const port = probe.port;
    probe.stop(true);
    const b = backend({ baseUrl: `http://127.0.0.1:${port}` });
    await expect(runSearch(b, "q")).rejects.toBeInstanceOf(ToolBackendUnreachable);
  });
});

describe("filters, max results and rendering", () => {
  const many = Array.from({ length: 25 }, (_, i) => result(`https://site${i}.example.org/p`, `T${i}`, `snippet ${i}`));

  test("allowed/blocked domains match by suffix, case-insensitive", () => {
    expect(hostMatches("docs.Python.org", "python.org")).toBe(true);
    expect(hostMatches("python.org", "PYTHON.ORG")).toBe(true);
    expect(hostMatches("notpython.org", "python.org")).toBe(false);
    const rs = [
      "https://a.example.com/1",
      "https://example.com/2",
      "https://evil-example.com/3",
      "https://b.other.net/4",
    ].map((url) => ({
      url,
      title: url,
      content: "",
      extractedContent: null,
    }));
    expect(filterResults(rs, { allowedDomains: ["Example.com"] }, 20).map((r) => r.url)).toEqual([
      "https://a.example.com/1",
      "https://example.com/2",
    ]);
    expect(filterResults(rs, { blockedDomains: ["example.com"] }, 20).map((r) => r.url)).toEqual([
      "https://evil-example.com/3",
      "https://b.other.net/4",
    ]);
    expect(
      filterResults(rs, { allowedDomains: ["example.com", "other.net"], blockedDomains: ["a.example.com"] }, 20).map(
        (r) => r.url,
      ),
    ).toEqual(["https://example.com/2", "https://b.other.net/4"]);
  });

  test("[i] title\\nurl\\nbody, joined by a blank line; first max_results (default 5; entry wins, clamped 1..20)", async () => {
    searchReply = () => Response.json({ results: many });
    const b = backend({ extract: false });
    const text = await runSearch(b, "q");
    expect(text.split("\n\n")).toHaveLength(5);
    expect(text.startsWith("[1] T0\nhttps://site0.example.org/p\nsnippet 0\n\n[2] T1\n")).toBe(true);
    expect((await runSearch(b, "q", { maxResults: 2 })).split("\n\n")).toHaveLength(2);
    expect((await runSearch(b, "q", { maxResults: 0 })).split("\n\n")).toHaveLength(1);
    expect((await runSearch(b, "q", { maxResults: 99 })).split("\n\n")).toHaveLength(20);
    expect(await runSearch(b, "q", { allowedDomains: ["site3.example.org"] })).toBe(
      "[1] T3\nhttps://site3.example.org/p\nsnippet 3",
    );
  });

  test("items without url are dropped; missing titles are (untitled); bodies are trimmed and cut at 1500 chars + …", async () => {
    searchReply = () =>
      Response.json({
        results: [
          { title: "no url", content: "x" },
          { url: "https://a.example/", content: `  ${"b".repeat(2000)}  ` },
          "junk",
        ],
      });
    const text = await runSearch(backend({ extract: false }), "q");
    expect(text).toBe(`[1] (untitled)\nhttps://a.example/\n${"b".repeat(1500)}…`);
    expect(renderResults("q", [{ url: "u", title: " T ", body: "exactly" }])).toBe("[1] T\nu\nexactly");
  });

  test("a backend-supplied extracted_content is used and the page is not fetched", async () => {
    searchReply = () =>
      Response.json({
        results: [result(`${PAGE}/article`, "Widgets", "snippet", { extracted_content: "Backend markdown." })],
      });
    expect(await runSearch(backend(), "q")).toBe(`[1] Widgets\n${PAGE}/article\nBackend markdown.`);
    expect(pageHits).toHaveLength(0);
  });
});

describe("page extraction (local pages, with the allow-private override)", () => {
  test("main content to Markdown (in the extraction child): boilerplate dropped, table kept, our User-Agent sent", async () => {
    searchReply = () => Response.json({ results: [result(`${PAGE}/article`, "Widgets", "snippet")] });
    const b = backend();
    expect(b.extractor.running).toBe(false);
    const text = await runSearch(b, "widgets");
    expect(b.extractor.running).toBe(true);
    expect(text).toStartWith(`[1] Widgets\n${PAGE}/article\n`);
    expect(text).toContain("Widget prices rose sharply");
    expect(text).not.toContain("snippet");
    expect(text).not.toContain("track()");
    expect(text).not.toContain("Home | Shop");
    expect(pageHits[0]?.userAgent).toBe("Mozilla/5.0 (compatible; otari-gateway-web-search)");
    const page = await fetchPage(`${PAGE}/article`, { ssrf: { allowPrivate: true, overrideVariable: "X" } });
    expect(page.ok && page.markdown).toContain("| Item | Price |\n| --- | --- |\n| Widget | $3 |\n| Gadget | $5 |");
  });

  test("the declared charset decodes the page; text/plain is kept as is", async () => {
    const ssrf = { allowPrivate: true, overrideVariable: "X" };
    const latin = await fetchPage(`${PAGE}/latin1`, { ssrf });
    expect(latin.ok && latin.markdown).toBe("café au lait");
    expect(decodeBody(new TextEncoder().encode('<meta charset="windows-1252"><p>x</p>'), null)).toContain("<p>x</p>");
    expect(decodeBody(new Uint8Array([0x63, 0x61, 0x66, 0xe9]), "text/html; charset=latin1")).toBe("café");
    expect(decodeBody(new Uint8Array([0x63, 0xff]), "text/html")).toBe("c\ufffd");
    expect(decodeBody(new Uint8Array([0x63]), "text/html; charset=bogus-charset")).toBe("c");
    const plain = await fetchPage(`${PAGE}/plain`, { ssrf });
    expect(plain.ok && plain.markdown).toBe("Just some plain text.");
  });

  test("a page over 5 MiB is truncated at 5 MiB", async () => {
    const page = await fetchPage(`${PAGE}/huge`, { ssrf: { allowPrivate: true, overrideVariable: "X" } });
    expect(page.ok).toBe(true);
    if (!page.ok) return;
    expect(page.truncated).toBe(true);
    expect(page.markdown.length).toBeLessThanOrEqual(PAGE_MAX_BYTES);
    expect(page.markdown.length).toBeGreaterThan(PAGE_MAX_BYTES - 2048);
  });

  test("redirects are followed by hand up to 5 hops; more, or none without Location, fall back to the snippet", async () => {
    const ssrf = { allowPrivate: true, overrideVariable: "X" };
    expect((await fetchPage(`${PAGE}/hops/4`, { ssrf })).ok).toBe(true);
    expect(await fetchPage(`${PAGE}/hops/5`, { ssrf })).toEqual({ ok: false, reason: "more than 5 redirects" });
    expect(await fetchPage(`${PAGE}/no-location`, { ssrf })).toEqual({
      ok: false,
      reason: "redirect (302) without Location",
    });
  });

  test("non-2xx, non-text content and timeouts fall back to the snippet silently", async () => {
    searchReply = () =>
      Response.json({
        results: [
          result(`${PAGE}/missing`, "A", "snippet A"),
          result(`${PAGE}/binary`, "B", "snippet B"),
          result(`${PAGE}/slow`, "C", "snippet C"),
        ],
      });
    const started = performance.now();
    const text = await runSearch(backend({ pageTimeoutMs: 300 }), "q");
    expect(text).toBe(
      `[1] A\n${PAGE}/missing\nsnippet A\n\n[2] B\n${PAGE}/binary\nsnippet B\n\n[3] C\n${PAGE}/slow\nsnippet C`,
    );
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  test("extraction switched off: snippets only, no page fetch", async () => {
    searchReply = () => Response.json({ results: [result(`${PAGE}/article`, "W", "the snippet")] });
    expect(await runSearch(backend({ extract: false }), "q")).toBe(`[1] W\n${PAGE}/article\nthe snippet`);
    expect(pageHits).toHaveLength(0);
  });
});

describe("SSRF on result pages (no override)", () => {
  test("loopback, 10.0.0.0/8 and 169.254.169.254 result URLs are not fetched: the snippet is used", async () => {
    searchReply = () =>
      Response.json({
        results: [
          result(`${PAGE}/article`, "Loopback", "snippet loopback"),
          result("http://10.0.0.1/admin", "Ten", "snippet ten"),
          result("http://169.254.169.254/latest/meta-data/", "Metadata", "snippet metadata"),
          result(`http://[::ffff:127.0.0.1]:${pages.port}/article`, "Mapped", "snippet mapped"),
          result(`http://localhost:${pages.port}/article`, "Localhost", "snippet localhost"),
        ],
      });
    const started = performance.now();
    const text = await runSearch(backend({ allowPrivateHosts: false }), "q");
    expect(text).toContain("[1] Loopback\n" + `${PAGE}/article\nsnippet loopback`);
    expect(text).toContain("snippet ten");
    expect(text).toContain("snippet metadata");
    expect(text).toContain("snippet mapped");
    expect(text).toContain("snippet localhost");
    expect(pageHits).toHaveLength(0);
    // Refused before any connection attempt (10.0.0.1 and 169.254.169.254 would otherwise hang until the timeout).
    expect(performance.now() - started).toBeLessThan(500);
  });

  test("a public page that redirects to 127.0.0.1 or 169.254.169.254 is not followed", async () => {
    searchReply = () =>
      Response.json({
        results: [
          result(`${PUBLIC}/to-loopback`, "R1", "snippet r1"),
          result(`${PUBLIC}/to-metadata`, "R2", "snippet r2"),
          result(`${PUBLIC}/to-ten`, "R3", "snippet r3"),
          result(`${PUBLIC}/article`, "Public", "snippet public"),
        ],
      });
    const text = await runSearch(backend(strictButPublicTwo), "q");
    expect(text).toContain(`[1] R1\n${PUBLIC}/to-loopback\nsnippet r1`);
    expect(text).toContain(`[2] R2\n${PUBLIC}/to-metadata\nsnippet r2`);
    expect(text).toContain(`[3] R3\n${PUBLIC}/to-ten\nsnippet r3`);
    // The allowed "public" page itself is extracted.
    expect(text).toContain("Widget prices rose sharply");
    // The redirect targets on 127.0.0.1 were never requested; the public server saw only the four first hops.
    expect(pageHits.map((h) => h.path).sort()).toEqual(["/article", "/to-loopback", "/to-metadata", "/to-ten"]);
    expect(pageHits.every((h) => h.host?.startsWith("127.0.0.2:"))).toBe(true);
  });

  test("the refusal reason names the host, address, reason and override variable", async () => {
    const page = await fetchPage(`${PUBLIC}/to-metadata`, {
      ssrf: {
        allowPrivate: false,
        overrideVariable: "GATEWAY_WEB_SEARCH_ALLOW_PRIVATE_HOSTS",
        classify: strictButPublicTwo.classify,
      },
    });
    expect(page.ok).toBe(false);
    if (page.ok) return;
    expect(page.reason).toContain("169.254.169.254");
    expect(page.reason).toContain("link-local");
    expect(page.reason).toContain("GATEWAY_WEB_SEARCH_ALLOW_PRIVATE_HOSTS");
  });

  test("with GATEWAY_WEB_SEARCH_ALLOW_PRIVATE_HOSTS=true the loopback page and its redirect are fetched", async () => {
    searchReply = () => Response.json({ results: [result(`${PUBLIC}/to-loopback`, "R", "snippet r")] });
    const text = await runSearch(backend({ allowPrivateHosts: true }), "q");
    expect(text).toContain("Widget prices rose sharply");
    expect(pageHits.map((h) => h.path)).toEqual(["/to-loopback", "/article"]);
  });
});

describe("the extraction child", () => {
  const sleeper = [process.execPath, "-e", "await Bun.sleep(60_000)"];

  test("a page that takes too long kills the child; the next page gets a fresh one", async () => {
    const stuck = new PageExtractor({ argv: sleeper, timeoutMs: 200, idleMs: 60_000, maxPages: 50 });
    await expect(stuck.toMarkdown("<p>x</p>")).rejects.toThrow("extraction timed out after 200 ms");
    expect(stuck.running).toBe(false);
    stuck.stop();
  });

  test("a crash fails the pending pages; idle and worn children are stopped", async () => {
    const crashing = new PageExtractor({
      argv: [process.execPath, "-e", "process.exit(5)"],
      timeoutMs: 5_000,
      idleMs: 60_000,
      maxPages: 50,
    });
    await expect(crashing.toMarkdown("<p>x</p>")).rejects.toThrow("the extraction process ended (code 5)");
    // The real child (`bun src/main.ts sandbox-worker --extract` under the OS wrappers).
    const idle = new PageExtractor({ timeoutMs: 5_000, idleMs: 100, maxPages: 2 });
    expect(await idle.toMarkdown("<article><p>one</p></article>")).toBe("one");
    expect(idle.running).toBe(true);
    await Bun.sleep(300);
    expect(idle.running).toBe(false);
    expect(await idle.toMarkdown("<p>two</p>")).toBe("two");
    expect(await idle.toMarkdown("<p>three</p>")).toBe("three");
    // Two pages served: the worn child is recycled.
    expect(idle.running).toBe(false);
  });
});
