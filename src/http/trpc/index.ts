/**
 * Mounts the tRPC router with tRPC's own fetch adapter on an Elysia route (@elysiajs/trpc, built for
 * tRPC v10, type-checks with v11 but fails at run time): at /trpc for the master key, and at /ui/api/trpc for console
 * sessions (src/http/ui). The body is left unparsed for the adapter, which reads it after its auth middleware, with the
 * deadline and JSON checks of src/http/body.ts; the app's headers, body limit and error mapper still apply. Not part of
 * the OpenAPI document. The router and @trpc/server load with the first tRPC request, not at start: a gateway that is
 * never managed over tRPC does not hold them in memory.
 */
import { Elysia } from "elysia";
import { readCredential } from "../../services/auth";
import { withGuardedText } from "../body";
import type { HttpContext } from "../context";
import { headerReader } from "../context";

export const TRPC_ENDPOINT = "/trpc";

const loadTrpc = () => Promise.all([import("@trpc/server/adapters/fetch"), import("./router")]);
let trpc: ReturnType<typeof loadTrpc> | null = null;

/** The router at `endpoint`, with `authorize(request)` checking each call's caller. */
export function mountTrpc(
  ctx: HttpContext,
  name: string,
  endpoint: string,
  authorize: (request: Request) => void | Promise<void>,
) {
  const handle = async ({ request }: { request: Request }) => {
    trpc ??= loadTrpc();
    const [{ fetchRequestHandler }, { appRouter }] = await trpc;
    return fetchRequestHandler({
      endpoint,
      req: withGuardedText(request, ctx.config),
      router: appRouter,
      createContext: () => ({
        services: ctx.services,
        providers: ctx.providers,
        config: ctx.config,
        authorize: () => authorize(request),
      }),
    });
  };
  // GET (queries) and POST (mutations) by name: Elysia prefers any GET wildcard, such as the console's /ui/*, to an
  // ALL route.
  const options = { parse: "none" as const, detail: { hide: true } };
  return new Elysia({ name }).get(`${endpoint}/*`, handle, options).post(`${endpoint}/*`, handle, options);
}

/** /trpc: the master key, read as the REST routes read it. */
export function trpcRoutes(ctx: HttpContext) {
  return mountTrpc(ctx, "trpc", TRPC_ENDPOINT, (request) =>
    ctx.services.auth.requireMaster(readCredential(headerReader(request))),
  );
}

export type { AppRouter } from "./router";
