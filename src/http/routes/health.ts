/** Health probes (docs/api.md#health): no auth, never rate limited, no Cache-Control. */
import { Elysia } from "elysia";
import { GatewayError } from "../../core/errors";
import { VERSION } from "../../version";
import type { HttpContext } from "../context";

export function healthRoutes(ctx: HttpContext) {
  return new Elysia({ name: "health", detail: { tags: ["health"] } })
    .get("/health", () => ({ status: "healthy" }), { detail: { summary: "Health check" } })
    .get("/health/liveness", () => Response.json("I'm alive!"), { detail: { summary: "Liveness probe" } })
    .get(
      "/health/readiness",
      async () => {
        const unhealthy = () =>
          new GatewayError(503, "Service not ready", {
            code: "database_unavailable",
            detail: { status: "unhealthy", database: "unavailable", version: VERSION },
          });
        if (ctx.draining()) throw unhealthy();
        try {
          await ctx.services.store.ping(2000);
        } catch {
          throw unhealthy();
        }
        return { status: "healthy", database: "connected", version: VERSION };
      },
      { detail: { summary: "Readiness probe (checks the database)" } },
    );
}
