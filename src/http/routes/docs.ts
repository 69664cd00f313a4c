/**
 * /docs (Swagger UI), /redoc and /openapi.json (docs/api.md#api-documentation-pages), assets served from the binary.
 */
import { Elysia } from "elysia";
import { notFound } from "../../core/errors";
import { type DocAssetName, docAssets } from "../docs/assets";
import type { OpenApiDocument } from "../docs/document";
import { fileBody } from "../../runtime/host";

const swaggerPage = `<!doctype html><html><head><meta charset="utf-8"><title>otari-gateway API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head><body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#ui", deepLinking: true });</script></body></html>`;

const redocPage = `<!doctype html><html><head><meta charset="utf-8"><title>otari-gateway API</title></head><body>
<redoc spec-url="/openapi.json"></redoc><script src="/docs/assets/redoc.standalone.js"></script></body></html>`;

const html = (body: string) => new Response(body, { headers: { "content-type": "text/html; charset=utf-8" } });

/** `document` is built on the first request (it may be async: platform mode builds it off a throwaway store). */
export function docsRoutes(document: () => OpenApiDocument | Promise<OpenApiDocument>) {
  let json: string | null = null;
  return new Elysia({ name: "docs" })
    .get("/openapi.json", async () => {
      json ??= JSON.stringify(await document());
      return new Response(json, { headers: { "content-type": "application/json" } });
    })
    .get("/docs", () => html(swaggerPage))
    .get("/redoc", () => html(redocPage))
    .get("/docs/assets/:name", ({ params }) => {
      const asset = docAssets[params.name as DocAssetName];
      if (!asset) throw notFound("Not Found");
      return new Response(fileBody(asset.path), {
        headers: { "content-type": asset.type, "cache-control": "public, max-age=86400" },
      });
    });
}
