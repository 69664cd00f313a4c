/**
 * The platform-mode app (SPEC §10.1): health, chat, messages, responses and docs. Management resources answer 404
 * with the platform-UI message (any sub-path, any method); every other route is 404 `Not Found`. The OpenAPI
 * document is the standalone one: it does not depend on mode (SPEC §0).
 */
import { GatewayError } from "../core/errors";
import { createBaseApp } from "./app";
import type { PlatformHttpContext } from "./platform-context";
import { pathOf } from "./url-path";
import { docsRoutes } from "./routes/docs";
import { metricsRoutes } from "./routes/metrics";
import { platformHealthRoutes } from "./routes/platform/health";
import { platformInferenceRoutes } from "./routes/platform/inference";

export const PLATFORM_UI_MESSAGE =
  "This endpoint is not available in platform mode. Manage this resource via the platform UI.";

const MANAGED_ON_PLATFORM = /^\/v1\/(users|keys|budgets|spend)(\/|$)/;

export function createPlatformApp(ctx: PlatformHttpContext) {
  const metrics = ctx.metrics ?? null;
  const app = createBaseApp({ config: ctx.config, metrics });
  // Before routing and body parsing, so no method or body can turn it into a 405 or a 422.
  app.onRequest(({ request }) => {
    if (MANAGED_ON_PLATFORM.test(pathOf(request.url)))
      throw new GatewayError(404, PLATFORM_UI_MESSAGE, { code: "not_found" });
  });
  app.use(platformHealthRoutes(ctx)).use(platformInferenceRoutes(ctx));
  if (ctx.config.enable_docs) app.use(docsRoutes(ctx.document));
  // Off by default; an operator who enables metrics gets them (the usage-report drop counter lives there).
  if (metrics && ctx.config.enable_metrics) app.use(metricsRoutes(metrics, ctx.config.metrics_token));
  return app;
}

export type PlatformApp = ReturnType<typeof createPlatformApp>;
