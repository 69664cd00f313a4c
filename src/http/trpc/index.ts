/**
 * Mounts the tRPC router at /trpc with tRPC's own fetch adapter on an Elysia route (@elysiajs/trpc is broken with
 * tRPC v11, TRIALS §8). The body is left unparsed for the adapter; the app's headers, body limit and error mapper
 * still apply. Not part of the OpenAPI document.
 */
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { Elysia } from "elysia";
import type { HttpContext } from "../context";
import { appRouter } from "./router";

export const TRPC_ENDPOINT = "/trpc";

export function trpcRoutes(ctx: HttpContext) {
  return new Elysia({ name: "trpc" }).all(
    `${TRPC_ENDPOINT}/*`,
    ({ request }) =>
      fetchRequestHandler({
        endpoint: TRPC_ENDPOINT,
        req: request,
        router: appRouter,
        createContext: () => ({ services: ctx.services, headers: request.headers }),
      }),
    { parse: "none", detail: { hide: true } },
  );
}

export { type AppRouter, appRouter } from "./router";
