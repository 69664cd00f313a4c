/**
 * Builds the Elysia app: cross-cutting headers, body limit, the error mapper, and every route module.
 * Exported for tests (`app.handle(new Request(...))`) and for `serve`.
 */
import { type AnyElysia, Elysia } from "elysia";
import { GatewayError } from "../core/errors";
import type { Config } from "../config/load";
import type { Recorder } from "../metrics/registry";
import type { HttpContext } from "./context";
import type { OpenApiDocument } from "./docs/document";
import { errorResponse, issuesToValidation, toGatewayError } from "./errors";
import { pathOf } from "./url-path";
import { budgetsRoutes } from "./routes/budgets";
import { docsRoutes } from "./routes/docs";
import { healthRoutes } from "./routes/health";
import { inferenceRoutes } from "./routes/inference";
import { metricsRoutes } from "./routes/metrics";
import { overviewRoutes } from "./routes/overview";
import { keysRoutes } from "./routes/keys";
import { pricingRoutes } from "./routes/pricing";
import { usageRoutes } from "./routes/usage";
import { usersRoutes } from "./routes/users";
import { enterRequest } from "../platform/request-context";
import { createCors } from "./cors";
import { applySecurityHeaders } from "./security-headers";
import { takeSetHeaders } from "./set-headers";
import { trpcRoutes } from "./trpc";
import { consoleRoutes } from "./ui/routes";
import { rootRoutes } from "./routes/root";

/** Every API route, without docs: what the OpenAPI document is generated from. */
export function apiRoutes(ctx: HttpContext) {
  return new Elysia({ name: "api" })
    .use(healthRoutes(ctx))
    .use(inferenceRoutes(ctx))
    .use(keysRoutes(ctx))
    .use(usersRoutes(ctx))
    .use(budgetsRoutes(ctx))
    .use(pricingRoutes(ctx))
    .use(usageRoutes(ctx))
    .use(overviewRoutes(ctx));
}

interface StandardSchemaLike {
  "~standard": { validate: (value: unknown) => unknown };
}

type Issue = { message: string; path?: PropertyKey[]; keys?: string[] };

/** Re-validates with the route's own zod schema to get its issues as the FastAPI-style list. */
function validationFromElysia(error: { type: string; validator: unknown; value: unknown }): GatewayError {
  const where = error.type === "params" ? "path" : error.type;
  // Elysia wraps Standard Schemas; the zod schema itself sits in `.schema`.
  const wrapped = error.validator as { schema?: Partial<StandardSchemaLike> } & Partial<StandardSchemaLike>;
  const schema = wrapped.schema?.["~standard"] ? wrapped.schema : wrapped;
  const result = schema["~standard"]?.validate(error.value) as { issues?: Issue[] } | undefined;
  const issues = (result?.issues ?? []).flatMap((issue) =>
    issue.keys?.length
      ? issue.keys.map((key) => ({ message: "Extra inputs are not permitted", path: [...(issue.path ?? []), key] }))
      : [issue],
  );
  return issuesToValidation(where, issues.length ? issues : [{ message: "Invalid input" }]);
}

/** Which methods serve a path, for 405 vs 404 (Elysia answers 404 for both). */
function methodsFor(app: AnyElysia, path: string): string[] {
  const methods = new Set<string>();
  for (const route of app.routes) {
    const pattern = new RegExp(`^${route.path.replace(/:[^/]+/g, "[^/]+").replace(/\*/g, ".*")}$`);
    if (pattern.test(path)) methods.add(route.method);
  }
  return [...methods];
}

/** `/v1/keys/:key_id` -> `/v1/keys/{key_id}`; unmatched paths share one label (SPEC §12). Route templates are few. */
const labels = new Map<string, string>();
function endpointLabel(route: string | undefined): string {
  if (!route) return "unmatched";
  let label = labels.get(route);
  if (label === undefined) {
    label = route.replace(/:([^/]+)/g, "{$1}");
    labels.set(route, label);
  }
  return label;
}

export interface BaseAppOptions {
  config: Config;
  metrics: Recorder | null;
}

/**
 * The app both modes share before any route: request id, security headers, the body limit, the error mapper
 * (404/405 included) and, with metrics on, the request metrics. Routes are `use`d onto it by the caller.
 */
export function createBaseApp(o: BaseAppOptions) {
  const limit = o.config.max_request_body_bytes;
  const metrics = o.metrics;
  const started = new WeakMap<Request, number>();
  const cors = createCors(o.config.cors_allow_origins);
  // Elysia's own router takes the path from index 11 of the URL on ("http://" plus a host of at least 4
  // characters): a shorter Host header would shift the routed path (`GET /zzzz/metrics` with `Host: x` served
  // /metrics). From index 7 on it is right for every host `http://` can carry; the server answers a Host that is no
  // host with a 400 and gives HTTP/1.0 requests without one a URL of its own (src/platform/server.ts).
  const app = new Elysia({ handler: { standardHostname: false } })
    .onRequest(({ request, set }) => {
      set.headers["x-request-id"] = enterRequest(request);
      const path = pathOf(request.url);
      if (metrics && path !== "/metrics") {
        metrics.requestStarted();
        started.set(request, performance.now());
      }
      applySecurityHeaders(path, set.headers);
      const preflight = cors?.(request, set.headers);
      if (preflight) return preflight;
      const length = Number(request.headers.get("content-length") ?? 0);
      if (length > limit) {
        throw new GatewayError(413, `Request body too large: ${length} bytes exceeds the limit of ${limit} bytes`, {
          code: "request_too_large",
        });
      }
    })
    .onError(({ code, error, request, set, path }) => {
      let err: GatewayError;
      if (code === "VALIDATION") err = validationFromElysia(error);
      else if (code === "PARSE")
        // The body parser (body.ts) refuses with GatewayErrors (401 before reading, 408, 422), which Elysia wraps.
        err =
          error.cause instanceof GatewayError
            ? error.cause
            : issuesToValidation("body", [{ message: "JSON decode error: the body is not valid JSON", path: [] }]);
      else if (code === "NOT_FOUND") {
        const allowed = methodsFor(app, path).filter((m) => m !== request.method);
        err = allowed.length
          ? new GatewayError(405, "Method Not Allowed", {
              code: "method_not_allowed",
              headers: { Allow: allowed.join(", ") },
            })
          : new GatewayError(404, "Not Found", { code: "not_found" });
      } else err = toGatewayError(error);
      set.status = err.status; // for the request metrics in onAfterResponse
      return errorResponse(err, path, takeSetHeaders(set));
    });
  if (metrics) {
    // Registered only with metrics on (Elysia's after-response phase has a per-request cost), and before the
    // routes, which only pick up hooks registered ahead of them.
    app.onAfterResponse(({ request, route, set, responseValue }) => {
      const t0 = started.get(request);
      if (t0 === undefined) return;
      const status =
        responseValue instanceof Response ? responseValue.status : typeof set.status === "number" ? set.status : 200;
      metrics.requestFinished(request.method, endpointLabel(route), status, (performance.now() - t0) / 1000);
    });
  }
  return app;
}

export function createApp(
  ctx: HttpContext,
  options: { document?: () => OpenApiDocument | Promise<OpenApiDocument> } = {},
) {
  const metrics = ctx.metrics ?? null;
  const api = apiRoutes(ctx);
  // The builder (and @elysiajs/openapi) loads with the first /openapi.json request, not at start.
  const document =
    options.document ?? (async () => (await import("./docs/document")).buildOpenApiDocument(apiRoutes(ctx)));
  const app = createBaseApp({ config: ctx.config, metrics });
  app.use(api).use(trpcRoutes(ctx)).use(rootRoutes(ctx.config));
  if (ctx.config.enable_ui) app.use(consoleRoutes(ctx));
  if (ctx.config.enable_docs) app.use(docsRoutes(document));
  if (metrics && ctx.config.enable_metrics) app.use(metricsRoutes(metrics, ctx.config.metrics_token));
  return app;
}

export type App = ReturnType<typeof createApp>;
