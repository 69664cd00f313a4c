/** Health probes in platform mode (docs/api.md#health): the platform's reachability instead of the database. */
import { Elysia } from "elysia";
import { GatewayError } from "../../../core/errors";
import { VERSION } from "../../../version";
import type { PlatformHttpContext } from "../../context";

export function platformHealthRoutes(ctx: PlatformHttpContext) {
  return new Elysia({ name: "platform-health" })
    .get("/health", async () => ({
      status: "healthy",
      mode: "platform",
      platform_reachable: (await ctx.platform.client.reachable()) ? "yes" : "no",
    }))
    .get("/health/liveness", () => Response.json("I'm alive!"))
    .get("/health/readiness", async () => {
      if (ctx.draining() || !(await ctx.platform.client.reachable())) {
        throw new GatewayError(503, "Service not ready", {
          code: "platform_unavailable",
          detail: { status: "unhealthy", mode: "platform", platform: "unavailable", version: VERSION },
        });
      }
      return { status: "healthy", mode: "platform", platform: "connected", version: VERSION };
    });
}
