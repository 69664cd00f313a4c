/**
 * Builds the Elysia app for either mode: the cross-cutting plugins (src/http/plugins), then the mode's route set,
 * docs and metrics. Exported for tests (`app.handle(new Request(...))`) and for `serve`.
 */
import { Elysia } from "elysia";
import type { Caller } from "../services/auth";
import type { AppContext, HttpContext } from "./context";
import type { OpenApiDocument } from "./docs/document";
import { authenticate, type Identify } from "./plugins/auth";
import { bodyLimit } from "./plugins/body-limit";
import { cors } from "./plugins/cors";
import { errorMapper } from "./plugins/error-mapper";
import { requestId } from "./plugins/request-id";
import { securityHeaders } from "./plugins/security-headers";
import { timing } from "./plugins/timing";
import { alertsRoutes } from "./routes/alerts";
import { budgetsRoutes } from "./routes/budgets";
import { docsRoutes } from "./routes/docs";
import { endUsersRoutes } from "./routes/end-users";
import { healthRoutes } from "./routes/health";
import { INFERENCE_ROUTES, type InferenceRoute, inferenceRoutes } from "./routes/inference";
import { batchRoutes } from "./routes/inference/batches";
import { localInferenceRoutes } from "./routes/inference/local";
import { overviewRoutes } from "./routes/overview";
import { keysRoutes } from "./routes/keys";
import { metricsRoutes } from "./routes/metrics";
import { platformRoutes } from "./routes/platform";
import { pricingRoutes } from "./routes/pricing";
import { rateLimitsRoutes } from "./routes/rate-limits";
import { teamsRoutes } from "./routes/teams";
import { usageRoutes } from "./routes/usage";
import { usersRoutes } from "./routes/users";
import { trpcRoutes } from "./trpc";
import { consoleRoutes } from "./ui/routes";
import { rootRoutes } from "./routes/root";

/**
 * Every standalone API route, without docs: what the OpenAPI document is generated from. `routes`: the inference
 * endpoints served (default: all of them).
 */
export function apiRoutes(ctx: HttpContext, routes: readonly InferenceRoute[] = INFERENCE_ROUTES) {
  const identify: Identify<Caller> = (request) => authenticate(ctx, request);
  return new Elysia({ name: "api" })
    .use(healthRoutes(ctx))
    .use(
      inferenceRoutes({
        routes,
        identify,
        pipeline: () => ctx.inference().pipeline,
        config: ctx.config,
      }),
    )
    .use(localInferenceRoutes(ctx, identify))
    .use(batchRoutes(ctx, identify))
    .use(keysRoutes(ctx))
    .use(usersRoutes(ctx))
    .use(budgetsRoutes(ctx))
    .use(pricingRoutes(ctx))
    .use(usageRoutes(ctx))
    .use(overviewRoutes(ctx))
    .use(teamsRoutes(ctx))
    .use(endUsersRoutes(ctx))
    .use(rateLimitsRoutes(ctx))
    .use(alertsRoutes(ctx));
}

export interface AppOptions {
  /** The OpenAPI document (standalone default: built from apiRoutes on the first /openapi.json request). */
  document?: () => OpenApiDocument | Promise<OpenApiDocument>;
  /** Standalone: the inference endpoints served (default: all of them; a test may add its own). */
  inferenceRoutes?: readonly InferenceRoute[];
}

export function createApp(ctx: AppContext, options: AppOptions = {}) {
  const { config } = ctx;
  const metrics = ctx.metrics ?? null;
  // Elysia's own router takes the path from index 11 of the URL on ("http://" plus a host of at least 4
  // characters): a shorter Host header would shift the routed path (`GET /zzzz/metrics` with `Host: x` served
  // /metrics). From index 7 on it is right for every host `http://` can carry; the server answers a Host that is no
  // host with a 400 and gives HTTP/1.0 requests without one a URL of its own (src/runtime/server.ts).
  const app = new Elysia({ handler: { standardHostname: false } }).use(requestId());
  // Request metrics only with metrics on, and before the routes, which pick up only hooks registered ahead of them.
  if (metrics) app.use(timing(metrics));
  app
    .use(securityHeaders())
    .use(cors(config.cors_allow_origins))
    .use(bodyLimit(config.max_request_body_bytes))
    .use(errorMapper(() => app));
  let document = options.document;
  if (ctx.mode === "platform") {
    app.use(platformRoutes(ctx));
    document ??= ctx.document;
  } else {
    app.use(apiRoutes(ctx, options.inferenceRoutes)).use(trpcRoutes(ctx)).use(rootRoutes(config));
    if (config.enable_ui) app.use(consoleRoutes(ctx));
    // The builder (and @elysiajs/openapi) loads with the first /openapi.json request, not at start.
    document ??= async () => (await import("./docs/document")).buildOpenApiDocument(apiRoutes(ctx));
  }
  if (config.enable_docs) app.use(docsRoutes(document));
  // Off by default; an operator who enables metrics gets them (platform mode's usage-report drop counter too).
  if (metrics && config.enable_metrics) app.use(metricsRoutes(metrics, config.metrics_token));
  return app;
}

export type App = ReturnType<typeof createApp>;
