/**
 * A SearXNG-compatible search backend for the web-search demo (`/search?q=…&format=json`), with one local page
 * for the gateway to fetch and turn into Markdown. Prints `SEARCH_URL=<url>` once listening.
 *   bun demo/web-search/mock-searxng.ts
 */
const page = `<!doctype html><html><head><title>Bun</title></head><body>
<nav>Home · Docs · Blog</nav>
<article><h1>Bun</h1><p>Bun is a fast all-in-one JavaScript runtime, bundler, test runner and package manager.</p>
<table><tr><th>Tool</th><th>Bun command</th></tr><tr><td>test runner</td><td>bun test</td></tr><tr><td>bundler</td><td>bun build</td></tr></table>
</article><footer>© example</footer></body></html>`;

const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch(req) {
    const url = new URL(req.url);
    if (url.pathname === "/page/bun") return new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } });
    if (url.pathname === "/search" && url.searchParams.get("format") === "json") {
      const q = url.searchParams.get("q") ?? "";
      return Response.json({
        query: q,
        results: [{ url: `${server.url}page/bun`, title: "Bun — a fast JavaScript runtime", content: "Bun is a fast JavaScript runtime." }],
      });
    }
    return new Response("not found", { status: 404 });
  },
});
console.log(`SEARCH_URL=${server.url.toString().replace(/\/$/, "")}`);
const stop = () => {
  server.stop(true);
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
