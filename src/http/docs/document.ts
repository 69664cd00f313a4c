/**
 * The OpenAPI document, generated from the same zod schemas that validate requests. It never depends on config or
 * mode (docs/behaviour/compatibility.md#the-openapi-document): it is built from an app with every route mounted, and
 * `gateway openapi --check` guards the committed copy in docs/openapi.json.
 */
import { toOpenAPISchema } from "@elysiajs/openapi";
import type { AnyElysia } from "elysia";
import { z } from "zod";
import { VERSION } from "../../version";
import { zodOf } from "../fast-schema";

export type OpenApiDocument = Record<string, unknown> & { paths: Record<string, unknown> };

/**
 * The app as the generator reads it (its routes, and Elysia models: none are used), with every request body listed
 * as JSON unless its route names another type: the generator takes a body's content types from the route's named
 * parsers, and the routes read bodies with their own parse hook (src/http/body.ts), which takes JSON, and multipart
 * uploads where a route names `multipart/form-data`.
 */
function withJsonBodies(app: AnyElysia): AnyElysia {
  const named = (parse: unknown) =>
    Array.isArray(parse) ? parse.filter((p: { fn?: unknown }) => typeof p.fn === "string") : [];
  const routes = () =>
    app.routes.map((route) => {
      if (!route.hooks?.body) return route;
      const types = named(route.hooks.parse);
      return { ...route, hooks: { ...route.hooks, parse: types.length > 0 ? types : [{ fn: "json" }] } };
    });
  return { getGlobalRoutes: routes, getGlobalDefinitions: () => ({ type: {} }) } as unknown as AnyElysia;
}

export function buildOpenApiDocument(app: AnyElysia): OpenApiDocument {
  const { paths, components } = toOpenAPISchema(
    withJsonBodies(app),
    { staticFile: false, paths: [/^\/docs/, "/redoc", "/openapi.json", "/", "/metrics", "/trpc/*"] },
    undefined,
    { zod: (schema: unknown) => z.toJSONSchema(zodOf(schema), { io: "input", unrepresentable: "any" }) },
    "3.1.0",
  );
  return {
    openapi: "3.1.0",
    info: {
      title: "otari-gateway",
      version: VERSION,
      description:
        "An OpenAI-compatible LLM gateway with virtual keys, budgets, usage tracking and built-in tools (otari-compatible).",
    },
    paths,
    components: {
      ...components,
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description: "Master key or virtual key (also accepted in Otari-Key, AnyLLM-Key, X-AnyLLM-Key and x-api-key)",
        },
      },
    },
  };
}
