/**
 * Fetches one search-result page for extraction (docs/behaviour/tools.md#web-search-backend): SSRF-checked and pinned
 * to the checked address (ssrf.ts), redirects followed by hand (at most 5, each hop checked again), a 5 s budget for
 * the whole page, at most 5 MiB read, decoded with the declared charset (else UTF-8, bad bytes replaced), converted to
 * Markdown. Every failure (non-2xx, redirect without Location, blocked hop, too many hops, timeout, extraction error)
 * returns a reason instead of throwing: the caller falls back to the snippet.
 */
import type { SsrfOptions } from "../ssrf";

export const PAGE_TIMEOUT_MS = 5_000;
export const PAGE_MAX_BYTES = 5 * 1024 * 1024;
export const MAX_REDIRECTS = 5;
export const USER_AGENT = "Mozilla/5.0 (compatible; otari-gateway-web-search)";

export type PageResult =
  | { ok: true; markdown: string; finalUrl: string; truncated: boolean }
  | { ok: false; reason: string };

export interface FetchPageOptions {
  ssrf: SsrfOptions;
  timeoutMs?: number;
  maxBytes?: number;
  /** HTML -> Markdown; default: in this thread (the backend passes its extraction child). */
  toMarkdown?: (html: string) => Promise<string>;
}

/** Reads at most `max` bytes of a body, then cancels the rest. */
async function readCapped(res: Response, max: number): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const reader = res.body?.getReader();
  if (!reader) return { bytes: new Uint8Array(0), truncated: false };
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = max - size;
    if (value.length >= room) {
      chunks.push(value.subarray(0, room));
      size += room;
      truncated = value.length > room;
      if (!truncated) {
        // Exactly at the cap: truncated only if more follows.
        const next = await reader.read();
        truncated = !next.done;
      }
      await reader.cancel().catch(() => {});
      break;
    }
    chunks.push(value);
    size += value.length;
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.length;
  }
  return { bytes, truncated };
}

const charsetOf = (value: string | null | undefined) => /charset\s*=\s*["']?([\w.:-]+)/i.exec(value ?? "")?.[1] ?? null;

/** The declared charset: the Content-Type header's, else a `<meta>` in the first 2 KiB, else UTF-8. */
export function decodeBody(bytes: Uint8Array, contentType: string | null): string {
  let label = charsetOf(contentType);
  if (!label) {
    const head = new TextDecoder("windows-1252").decode(bytes.subarray(0, 2048));
    label = /<meta[^>]+charset\s*=\s*["']?([\w.:-]+)/i.exec(head)?.[1] ?? null;
  }
  let decoder: TextDecoder;
  try {
    // An unknown label throws (RangeError): UTF-8 then.
    decoder = new TextDecoder((label ?? "utf-8") as Bun.Encoding);
  } catch {
    decoder = new TextDecoder("utf-8");
  }
  return decoder.decode(bytes);
}

// Loaded on first use: linkedom, readability and turndown cost ~20 MB resident, and the gateway's own process
// normally hands extraction to the worker child.
const inThread = async (html: string) => (await import("./extract")).htmlToMarkdown(html);

/** Fetches and converts one page; never throws. */
export async function fetchPage(rawUrl: string, options: FetchPageOptions): Promise<PageResult> {
  // The SSRF guard needs node:net and node:dns (with node:stream behind them, ~1 MB): loaded by the first search.
  const { checkUrl, pinnedFetch } = await import("../ssrf");
  const signal = AbortSignal.timeout(options.timeoutMs ?? PAGE_TIMEOUT_MS);
  let current = rawUrl;
  try {
    for (let hop = 0; ; hop++) {
      const target = await checkUrl(current, options.ssrf);
      const res = await pinnedFetch(target, {
        method: "GET",
        headers: { "user-agent": USER_AGENT, accept: "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5" },
        signal,
      });
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel().catch(() => {});
        const location = res.headers.get("location");
        if (!location) return { ok: false, reason: `redirect (${res.status}) without Location` };
        if (hop >= MAX_REDIRECTS) return { ok: false, reason: `more than ${MAX_REDIRECTS} redirects` };
        current = new URL(location, target.url).href;
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel().catch(() => {});
        return { ok: false, reason: `HTTP ${res.status}` };
      }
      const contentType = res.headers.get("content-type");
      const { bytes, truncated } = await readCapped(res, options.maxBytes ?? PAGE_MAX_BYTES);
      const text = decodeBody(bytes, contentType);
      const mime = (contentType ?? "text/html").split(";")[0]?.trim().toLowerCase() ?? "";
      let markdown: string;
      if (mime === "text/plain" || mime === "text/markdown") markdown = text.trim();
      else if (mime === "text/html" || mime === "application/xhtml+xml" || mime === "")
        markdown = await (options.toMarkdown ?? inThread)(text);
      else return { ok: false, reason: `unsupported content type ${mime}` };
      if (!markdown) return { ok: false, reason: "no readable content" };
      return { ok: true, markdown, finalUrl: target.url.href, truncated };
    }
  } catch (err) {
    const reason =
      err instanceof Error
        ? err.name === "TimeoutError"
          ? `timed out after ${options.timeoutMs ?? PAGE_TIMEOUT_MS} ms`
          : err.message
        : String(err);
    return { ok: false, reason };
  }
}
