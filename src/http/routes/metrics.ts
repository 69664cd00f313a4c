/**
 * GET /metrics (docs/api.md#metrics, docs/operations.md#metrics): Prometheus text format, optionally behind a bearer
 * token; never counted itself.
 */
import { Elysia } from "elysia";
import { unauthorized } from "../../core/errors";
import type { Recorder } from "../../metrics/registry";
import { digestsEqual, sha256Hex } from "../../runtime/crypto";

export function metricsRoutes(recorder: Recorder, token: string | null | undefined) {
  const expected = token ? sha256Hex(token) : null;
  return new Elysia({ name: "metrics" }).get("/metrics", async ({ request }) => {
    if (expected) {
      const given = /^Bearer\s+(.+)$/i.exec(request.headers.get("authorization") ?? "")?.[1]?.trim() ?? "";
      if (!digestsEqual(sha256Hex(given), expected)) throw unauthorized("Invalid metrics token", "invalid_api_key");
    }
    return new Response(await recorder.registry.metrics(), {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    });
  });
}
