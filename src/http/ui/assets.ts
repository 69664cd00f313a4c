/**
 * The console's files, bundled at build time (bundle.ts, a macro): no CDN, no external font, nothing fetched at run
 * time. This module holds them as strings, so it is imported on the first /ui request, not at start. Each file is
 * gzipped once, on first use.
 */
import { gzipSync } from "node:zlib";
import { bundleConsole } from "./bundle" with { type: "macro" };

const files: Record<string, string> = bundleConsole();

const TYPES: Record<string, string> = { js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8" };

export interface ConsoleAsset {
  body: string;
  type: string;
  gzipped(): Uint8Array;
}

export const consoleAssets = new Map<string, ConsoleAsset>(
  Object.entries(files).map(([name, body]) => {
    let gz: Uint8Array | null = null;
    return [
      name,
      {
        body,
        type: TYPES[name.slice(name.lastIndexOf(".") + 1)] ?? "application/octet-stream",
        gzipped: () => (gz ??= gzipSync(body, { level: 9 })),
      },
    ];
  }),
);

const named = (ext: string) => [...consoleAssets.keys()].filter((n) => n.endsWith(`.${ext}`));

/** The one page: every /ui path serves it and the client routes. */
export const consoleHtml = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>Gateway console</title><link rel="icon" href="data:,">
${named("css")
  .map((n) => `<link rel="stylesheet" href="/ui/assets/${n}">`)
  .join("")}
</head><body><div id="app"></div>
${named("js")
  .map((n) => `<script type="module" src="/ui/assets/${n}"></script>`)
  .join("")}
</body></html>`;
