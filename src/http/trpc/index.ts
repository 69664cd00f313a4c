/**
 * Mounts the tRPC router at /trpc with tRPC's own fetch adapter on an Elysia route (@elysiajs/trpc is broken with
 * tRPC v11, TRIALS §8). The body is left unparsed for the adapter, which reads it after its auth middleware, with
 * the deadline and JSON checks of src/http/body.ts; the app's headers, body limit and error mapper still apply.
 * Not part of the OpenAPI document.
 * The router and @trpc/server load with the first /trpc request, not at start: a gateway that is never managed over
 * tRPC does not hold them in memory.
 */
import { Elysia } from "elysia";
import { withGuardedText } from "../body";
import type { HttpContext } from "../context";

export const TRPC_ENDPOINT = "/trpc";

const loadTrpc = () => Promise.all([import("@trpc/server/adapters/fetch"), import("./router")]);
let trpc: ReturnType<typeof loadTrpc> | null = null;

export function trpcRoutes(ctx: HttpContext) {
  return new Elysia({ name: "trpc" }).all(
    `${TRPC_ENDPOINT}/*`,
    async ({ request }) => {
      trpc ??= loadTrpc();
      const [{ fetchRequestHandler }, { appRouter }] = await trpc;
      return fetchRequestHandler({
        endpoint: TRPC_ENDPOINT,
        req: withGuardedText(request, ctx.config),
        router: appRouter,
        createContext: () => ({ services: ctx.services, headers: request.headers }),
      });
    },
    { parse: "none", detail: { hide: true } },
  );
}

export type { AppRouter } from "./router";
