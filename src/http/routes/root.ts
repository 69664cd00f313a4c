/** GET /: a small page pointing to the console and the API docs (whichever are on). */
import { Elysia } from "elysia";
import type { Config } from "../../config/load";
import { VERSION } from "../../version";
import { takeSetHeaders } from "../set-headers";

export function rootRoutes(config: Config) {
  const links = [
    ...(config.enable_ui
      ? ['<li><a href="/ui">Console</a>: spend, usage, requests, keys and budgets (sign in with the master key)</li>']
      : []),
    ...(config.enable_docs
      ? [
          '<li><a href="/docs">API reference</a> (<a href="/redoc">ReDoc</a>, <a href="/openapi.json">OpenAPI document</a>)</li>',
        ]
      : []),
    '<li><a href="/health">Health</a></li>',
  ];
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>otari gateway</title></head>
<body><h1>otari gateway ${VERSION}</h1><p>An OpenAI- and Anthropic-compatible LLM gateway.</p><ul>${links.join("")}</ul></body></html>`;
  return new Elysia({ name: "root" }).get(
    "/",
    ({ set }) =>
      new Response(body, {
        headers: {
          ...takeSetHeaders(set),
          "content-type": "text/html; charset=utf-8",
          "content-security-policy": "default-src 'none'",
        },
      }),
    { detail: { hide: true } },
  );
}
