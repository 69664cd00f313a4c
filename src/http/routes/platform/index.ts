/**
 * Platform mode's routes (docs/behaviour/platform-mode.md#activation): health, the inference endpoints the platform
 * resolves (chat, messages, responses) and docs. Management resources answer 404 with the platform-UI message (any
 * sub-path, any method); every other route is 404 `Not Found`.
 */
import { Elysia } from "elysia";
import { GatewayError } from "../../../core/errors";
import { bearerToken, PLATFORM_ENDPOINTS } from "../../../services/platform";
import type { PlatformHttpContext } from "../../context";
import { pathOf } from "../../url-path";
import { INFERENCE_ROUTES, inferenceRoutes } from "../inference";
import { platformHealthRoutes } from "./health";

export const PLATFORM_UI_MESSAGE =
  "This endpoint is not available in platform mode. Manage this resource via the platform UI.";

const MANAGED_ON_PLATFORM = /^\/v1\/(users|keys|budgets|spend|teams|end-users|rate-limits|alerts)(\/|$)/;

const served = new Set<unknown>(PLATFORM_ENDPOINTS);

export function platformRoutes(ctx: PlatformHttpContext) {
  return (
    new Elysia({ name: "platform" })
      // Before routing and body parsing, so no method or body can turn it into a 405 or a 422.
      .onRequest(({ request }) => {
        if (MANAGED_ON_PLATFORM.test(pathOf(request.url)))
          throw new GatewayError(404, PLATFORM_UI_MESSAGE, { code: "not_found" });
      })
      .use(platformHealthRoutes(ctx))
      .use(
        inferenceRoutes({
          routes: INFERENCE_ROUTES.filter((r) => served.has(r.endpoint)),
          identify: (request) => bearerToken(request.headers),
          pipeline: () => ctx.platform.pipeline,
          config: ctx.config,
        }),
      )
  );
}
