/**
 * The web search backend (docs/behaviour/tools.md#web-search-backend): a SearXNG-compatible
 * `GET {base}/search?q=&format=json&engines=` (15 s), then domain filters, the first `max_results`, and extraction of
 * each kept page (at most 5 at a time) unless the backend already sent `extracted_content` or extraction is switched
 * off. The base URL is an operator setting (trusted, loopback included); the result pages are not (SSRF-checked,
 * ssrf.ts).
 */
import { logger } from "../../runtime/logger";
import type { SsrfOptions } from "../ssrf";
import {
  type ToolBackend,
  type ToolEntryOptions,
  ToolBackendUnreachable,
  type ToolSession,
  TOOL_ERROR_PREFIX,
} from "../types";
import { fetchPage, PAGE_TIMEOUT_MS } from "./fetch-page";
import { PageExtractor } from "./extractor";

const log = logger("web_search");

export const DEFAULT_ENGINES = ["duckduckgo", "mojeek", "qwant", "wikipedia"];
export const DEFAULT_MAX_RESULTS = 5;
export const SEARCH_TIMEOUT_MS = 15_000;
export const EXTRACT_CONCURRENCY = 5;
export const BODY_MAX_CHARS = 1500;
export const ALLOW_PRIVATE_VARIABLE = "GATEWAY_WEB_SEARCH_ALLOW_PRIVATE_HOSTS";

/**
 * The EnvSettings fields web search reads (docs/configuration.md#environment-only-variables), raw as the config loader
 * keeps them.
 */
export interface WebSearchSettings {
  webSearchUrl: string;
  webSearchEngines: string | null;
  webSearchMaxResults: string | null;
  webSearchExtract: string | null;
  webSearchAllowPrivateHosts: boolean;
}

export interface WebSearchOptions {
  baseUrl: string;
  engines: string[];
  maxResults: number;
  extract: boolean;
  allowPrivateHosts: boolean;
  /** Overrides (tests). */
  searchTimeoutMs?: number;
  pageTimeoutMs?: number;
  resolve?: SsrfOptions["resolve"];
  classify?: SsrfOptions["classify"];
  /** The extraction child's argv (tests); default: this binary's `sandbox-worker --extract`. */
  extractorArgv?: string[];
}

export interface SearchResult {
  url: string;
  title: string;
  content: string;
  extractedContent: string | null;
}

const clamp = (n: number) => Math.min(20, Math.max(1, Math.trunc(n)));
const FALSE_WORDS = new Set(["0", "false", "no", "off"]);

/** Resolves the raw env strings: engines (blanks dropped), max results (invalid -> warning, default 5), extract. */
export function webSearchOptions(
  settings: WebSearchSettings,
  warn: (message: string) => void = (m) => log.warn(m),
): WebSearchOptions {
  const engines = (settings.webSearchEngines ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "");
  let maxResults = DEFAULT_MAX_RESULTS;
  const raw = settings.webSearchMaxResults?.trim();
  if (raw) {
    const n = Number(raw);
    if (/^\d+$/.test(raw) && n >= 1) maxResults = clamp(n);
    else
      warn(
        `Ignoring GATEWAY_WEB_SEARCH_MAX_RESULTS='${settings.webSearchMaxResults}': not an integer >= 1 (using ${DEFAULT_MAX_RESULTS})`,
      );
  }
  return {
    baseUrl: settings.webSearchUrl.replace(/\/+$/, ""),
    engines: engines.length > 0 ? engines : DEFAULT_ENGINES,
    maxResults,
    extract: !FALSE_WORDS.has((settings.webSearchExtract ?? "").trim().toLowerCase()),
    allowPrivateHosts: settings.webSearchAllowPrivateHosts,
  };
}

/**
 * A host matches a domain when equal to it or ending in `.<domain>`, case-insensitive
 * (docs/behaviour/tools.md#declaring-a-tool).
 */
export function hostMatches(host: string, domain: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  const d = domain
    .trim()
    .toLowerCase()
    .replace(/^\*?\./, "")
    .replace(/\.$/, "");
  return d !== "" && (h === d || h.endsWith(`.${d}`));
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return null;
  }
}

/** Domain filters (allowed, then blocked) and the first `max` results. */
export function filterResults(results: SearchResult[], entry: ToolEntryOptions, max: number): SearchResult[] {
  const allowed = (entry.allowedDomains ?? []).filter((d) => d.trim() !== "");
  const blocked = (entry.blockedDomains ?? []).filter((d) => d.trim() !== "");
  return results
    .filter((r) => {
      const host = hostOf(r.url);
      if (host === null) return allowed.length === 0 && blocked.length === 0;
      if (allowed.length > 0 && !allowed.some((d) => hostMatches(host, d))) return false;
      return !blocked.some((d) => hostMatches(host, d));
    })
    .slice(0, max);
}

/**
 * `[i] title\nurl\nbody` per result (body cut to 1500 chars + `…`), joined by a blank line
 * (docs/behaviour/tools.md#web-search-backend).
 */
export function renderResults(query: string, results: readonly { url: string; title: string; body: string }[]): string {
  if (results.length === 0) return `No results for query: '${query}'`;
  return results
    .map((r, i) => {
      const body = r.body.trim();
      const cut = body.length > BODY_MAX_CHARS ? `${body.slice(0, BODY_MAX_CHARS)}…` : body;
      return `[${i + 1}] ${r.title.trim() || "(untitled)"}\n${r.url}\n${cut}`;
    })
    .join("\n\n");
}

const str = (v: unknown) => (typeof v === "string" ? v : "");

/** Runs `fn` over `items` with at most `limit` at a time, keeping order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

export class WebSearch implements ToolBackend {
  readonly name = "web_search" as const;
  /** HTML -> Markdown runs in a child process: off the event loop, inside the sandbox's OS wall. */
  readonly extractor: PageExtractor;

  constructor(readonly options: WebSearchOptions) {
    this.extractor = new PageExtractor({
      argv: options.extractorArgv,
      timeoutMs: PAGE_TIMEOUT_MS,
      idleMs: 60_000,
      maxPages: 50,
    });
  }

  /** The backend query; transport failures, non-2xx, invalid JSON or a non-list `results` are unreachable errors. */
  async search(query: string): Promise<SearchResult[]> {
    const params = new URLSearchParams({ q: query, format: "json", engines: this.options.engines.join(",") });
    const path = `/search?${params}`;
    let res: Response;
    try {
      res = await fetch(`${this.options.baseUrl}${path}`, {
        headers: { accept: "application/json" },
        signal: AbortSignal.timeout(this.options.searchTimeoutMs ?? SEARCH_TIMEOUT_MS),
      });
    } catch (err) {
      throw new ToolBackendUnreachable(
        "web_search",
        `GET /search: ${err instanceof Error ? err.message : String(err)}`,
        err,
      );
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new ToolBackendUnreachable("web_search", `GET /search: HTTP ${res.status}`);
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch (err) {
      throw new ToolBackendUnreachable("web_search", "GET /search: reply is not JSON", err);
    }
    const results = typeof body === "object" && body !== null ? (body as Record<string, unknown>).results : undefined;
    if (!Array.isArray(results)) throw new ToolBackendUnreachable("web_search", "GET /search: `results` is not a list");
    return results.flatMap((item): SearchResult[] => {
      if (typeof item !== "object" || item === null) return [];
      const r = item as Record<string, unknown>;
      const url = str(r.url);
      if (!url) return [];
      const extracted = str(r.extracted_content).trim();
      return [{ url, title: str(r.title), content: str(r.content), extractedContent: extracted || null }];
    });
  }

  /** One tool call: search, filter, extract, render. */
  async run(args: unknown, entry: ToolEntryOptions): Promise<string> {
    const raw = typeof args === "object" && args !== null ? (args as Record<string, unknown>).query : undefined;
    const query = typeof raw === "string" ? raw.trim() : "";
    if (!query) return `${TOOL_ERROR_PREFIX}empty query`;
    const max =
      typeof entry.maxResults === "number" && Number.isFinite(entry.maxResults)
        ? clamp(entry.maxResults)
        : this.options.maxResults;
    const kept = filterResults(await this.search(query), entry, max);
    const ssrf: SsrfOptions = {
      allowPrivate: this.options.allowPrivateHosts,
      overrideVariable: ALLOW_PRIVATE_VARIABLE,
      resolve: this.options.resolve,
      classify: this.options.classify,
    };
    const bodies = await mapLimited(kept, EXTRACT_CONCURRENCY, async (r) => {
      if (r.extractedContent) return r.extractedContent;
      if (!this.options.extract) return r.content;
      const page = await fetchPage(r.url, {
        ssrf,
        timeoutMs: this.options.pageTimeoutMs,
        toMarkdown: (html) => this.extractor.toMarkdown(html),
      });
      if (page.ok) return page.markdown;
      log.debug("page extraction fell back to the snippet", { url: r.url, reason: page.reason });
      return r.content;
    });
    return renderResults(
      query,
      kept.map((r, i) => ({ url: r.url, title: r.title, body: bodies[i] ?? r.content })),
    );
  }

  async openSession(entry: ToolEntryOptions = {}): Promise<ToolSession> {
    // Search is stateless: nothing to open on the backend.
    return { run: (args) => this.run(args, entry), close: async () => {} };
  }

  async shutdown(): Promise<void> {
    this.extractor.stop();
  }
}
