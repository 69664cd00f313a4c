/**
 * The operator console at /ui (`enable_ui`): the page and its hashed assets, the sign-in/out endpoints, and the
 * console's API: the tRPC router at /ui/api/trpc and the CSV download, both with a session instead of a key
 * (session-guard.ts). Nothing here is in the OpenAPI document: it is the console's own surface.
 */
import { Elysia } from "elysia";
import { GatewayError } from "../../core/errors";
import { sessionInfo, signInRequest } from "../../core/schemas/console";
import { exportQuery } from "../../core/schemas/analytics";
import { sessionInfoOf } from "../../services/sessions";
import type { HttpContext } from "../context";
import { bodyParser } from "../body";
import { bodySchema } from "../fast-schema";
import { mountTrpc } from "../trpc";
import { takeSetHeaders } from "../set-headers";
import { csvHeaders } from "../routes/usage";
import {
  clearedCookie,
  crossSiteRefused,
  fromSameOrigin,
  readCookie,
  requireSession,
  SESSION_COOKIE,
  sessionCookie,
} from "./session-guard";

/** The console loads only its own files and talks only to this origin. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const loadAssets = () => import("./assets");
let assets: ReturnType<typeof loadAssets> | null = null;

export function consoleRoutes(ctx: HttpContext) {
  const sessions = ctx.services.sessions;
  const page = async ({ set }: { set: { headers: Record<string, string | number | undefined> } }) => {
    assets ??= loadAssets();
    const { consoleHtml } = await assets;
    return new Response(consoleHtml, {
      headers: { ...takeSetHeaders(set), "content-type": "text/html; charset=utf-8", "content-security-policy": CSP },
    });
  };
  // The catch-all page route goes last: Elysia would otherwise let it answer /ui/api/trpc/* too.
  return new Elysia({ name: "console", detail: { hide: true } })
    .use(
      mountTrpc(ctx, "console-trpc", "/ui/api/trpc", (request) =>
        requireSession(sessions, request, true).then(() => undefined),
      ),
    )
    .get("/ui/assets/:name", async ({ params, request, set }) => {
      assets ??= loadAssets();
      const asset = (await assets).consoleAssets.get(params.name);
      if (!asset) throw new GatewayError(404, "Not Found", { code: "not_found" });
      const headers: Record<string, string> = {
        ...takeSetHeaders(set),
        "content-type": asset.type,
        "cache-control": "public, max-age=31536000, immutable",
        vary: "Accept-Encoding",
      };
      if (/\bgzip\b/.test(request.headers.get("accept-encoding") ?? ""))
        return new Response(asset.gzipped(), { headers: { ...headers, "content-encoding": "gzip" } });
      return new Response(asset.body, { headers });
    })
    .use(
      // Sign-in takes its credential in the body: read with the other routes' deadline and JSON checks, after the
      // origin check (a bounded wait, under the sign-in rate limit).
      new Elysia({ name: "console-sign-in" })
        .onParse(
          bodyParser((request) => {
            if (!fromSameOrigin(request)) throw crossSiteRefused();
          }, ctx.config),
        )
        .post(
          "/ui/api/session",
          async ({ body, request, server, set }) => {
            const client = server?.requestIP(request)?.address ?? "unknown";
            const s = await sessions.signIn(body.master_key, client);
            set.headers["set-cookie"] = sessionCookie(request, s.sessionId, s.expiresAt);
            return sessionInfoOf(s);
          },
          { body: bodySchema(signInRequest), response: { 200: sessionInfo } },
        ),
    )
    .get("/ui/api/session", async ({ request }) => sessionInfoOf(await requireSession(sessions, request, false)), {
      response: { 200: sessionInfo },
    })
    .delete("/ui/api/session", async ({ request, set }) => {
      const { sessionId } = await requireSession(sessions, request, true);
      await sessions.signOut(sessionId);
      return new Response(null, {
        status: 204,
        headers: { ...takeSetHeaders(set), "set-cookie": clearedCookie(request) },
      });
    })
    .get(
      "/ui/api/usage/export.csv",
      async ({ query, request, set }) => {
        await requireSession(sessions, request, false);
        return new Response(ctx.services.usage.exportCsv(query), {
          headers: { ...takeSetHeaders(set), ...csvHeaders(ctx.services.now()) },
        });
      },
      { query: exportQuery },
    )
    .get("/ui", page)
    .get("/ui/*", ({ path, set }) => {
      if (path.startsWith("/ui/api/")) throw new GatewayError(404, "Not Found", { code: "not_found" });
      return page({ set });
    });
}

export { SESSION_COOKIE, readCookie };
