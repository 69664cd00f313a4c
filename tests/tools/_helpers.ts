/**
 * Shared pieces of the tool-loop suites: a mock remote sandbox (SPEC §9.4) that records its calls, a mock
 * SearXNG-compatible search backend with a local page server (SPEC §9.5), and a test gateway wired to them.
 *
 * The mock sandbox "runs" code by echoing it: `out:<code>` on stdout. Code containing `STDERR` answers with stderr
 * only and return code 1 (a `[tool error]` result); `DOWN` makes exec answer 500 (a transport failure, §9.1's 502);
 * `SLOW` makes exec take 400 ms.
 */
import type { TestDatabase } from "../helpers/db";
import { startTestGateway, type TestGateway } from "../helpers/gateway";

export interface SandboxCall {
  method: string;
  path: string;
  body: unknown;
}

export interface MockSandbox {
  url: string;
  calls: SandboxCall[];
  /** Makes `POST /sessions` fail with this status (null: works). */
  failSessions(status: number | null): void;
  stop(): void;
}

export function startMockSandbox(): MockSandbox {
  const calls: SandboxCall[] = [];
  let sessionFailure: number | null = null;
  let n = 0;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      const text = await req.text();
      const body: unknown = text ? JSON.parse(text) : null;
      calls.push({ method: req.method, path: url.pathname, body });
      if (req.method === "POST" && url.pathname === "/sessions") {
        if (sessionFailure !== null) return new Response("down", { status: sessionFailure });
        return Response.json({ session_id: `sess-${++n}` });
      }
      if (req.method === "POST" && url.pathname.endsWith("/exec")) {
        const code = String((body as { input?: { code?: unknown } } | null)?.input?.code ?? "");
        if (code.includes("DOWN")) return new Response("exec backend down", { status: 500 });
        if (code.includes("SLOW")) await Bun.sleep(400);
        const failed = code.includes("STDERR");
        const content = failed
          ? { type: "code_execution_result", stdout: "", stderr: "Traceback: boom", return_code: 1, content: [] }
          : { type: "code_execution_result", stdout: `out:${code}\n`, stderr: "", return_code: 0, content: [] };
        return Response.json({ result_block: { type: "code_execution_tool_result", tool_use_id: "t", content } });
      }
      if (req.method === "DELETE") return new Response(null, { status: 204 });
      return new Response("not found", { status: 404 });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    calls,
    failSessions: (status) => {
      sessionFailure = status;
    },
    stop: () => server.stop(true),
  };
}

export const ARTICLE_HTML = `<!doctype html><html><head><title>Otters</title></head><body>
<nav>Home | About | Login</nav>
<article><h1>Sea otters use tools</h1>
<p>${"Sea otters crack open shellfish with stones they keep in a pouch under their forearm. ".repeat(4)}</p>
<table><tr><th>Species</th><th>Tool</th></tr><tr><td>Sea otter</td><td>Stone</td></tr></table>
</article><footer>Copyright Otter Times</footer><script>track()</script></body></html>`;

export interface MockSearch {
  url: string;
  /** The query strings the backend received. */
  queries: URLSearchParams[];
  stop(): void;
}

/** A SearXNG-compatible `/search` whose one result is a page on a local page server (fetched and extracted). */
export function startMockSearch(): MockSearch {
  const queries: URLSearchParams[] = [];
  const pages = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: () => new Response(ARTICLE_HTML, { headers: { "content-type": "text/html; charset=utf-8" } }),
  });
  const search = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const url = new URL(req.url);
      if (url.pathname !== "/search") return new Response("not found", { status: 404 });
      queries.push(url.searchParams);
      return Response.json({
        results: [
          { url: `http://127.0.0.1:${pages.port}/otters`, title: "Sea otters use tools", content: "a short snippet" },
        ],
      });
    },
  });
  return {
    url: `http://127.0.0.1:${search.port}`,
    queries,
    stop: () => {
      search.stop(true);
      pages.stop(true);
    },
  };
}

/** A test gateway whose code tool uses `sandbox` (remote protocol) and, when given, web search on `search`. */
export function startToolGateway(
  db: TestDatabase,
  o: {
    sandbox?: MockSandbox;
    search?: MockSearch;
    env?: Record<string, string>;
    config?: Record<string, unknown>;
  } = {},
): Promise<TestGateway> {
  const env: Record<string, string> = { ...o.env };
  if (o.sandbox) env.GATEWAY_SANDBOX_URL = o.sandbox.url;
  if (o.search) {
    env.GATEWAY_WEB_SEARCH_URL = o.search.url;
    env.GATEWAY_WEB_SEARCH_ALLOW_PRIVATE_HOSTS = "true";
  }
  return startTestGateway(db, o.config ?? {}, {}, env);
}

export type Json = Record<string, unknown>;

/** POSTs JSON with a bearer token. */
export async function postJson(
  gw: TestGateway,
  path: string,
  key: string,
  body: unknown,
): Promise<{ status: number; json: Json; text: string; headers: Headers }> {
  const res = await fetch(gw.base + path, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    json = {};
  }
  return { status: res.status, json, text, headers: res.headers };
}

/** The upstream requests a mock received for one path. */
export const upstreamBodies = (requests: { path: string; body: unknown }[], path: string): Json[] =>
  requests.filter((r) => r.path.startsWith(path)).map((r) => r.body as Json);
