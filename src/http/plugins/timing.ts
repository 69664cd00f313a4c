/**
 * Request metrics (docs/operations.md#metrics): in flight, count and duration by method, route template and status. Used only with
 * metrics on (Elysia's after-response phase has a per-request cost); /metrics itself is never counted.
 */
import { Elysia } from "elysia";
import type { Recorder } from "../../metrics/registry";
import { pathOf } from "../url-path";

/**
 * `/v1/keys/:key_id` -> `/v1/keys/{key_id}`; unmatched paths share one label (docs/operations.md#metrics). Route
 * templates are few.
 */
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

/** Must be used before the routes: they pick up only hooks registered ahead of them. */
export function timing(metrics: Recorder) {
  const started = new WeakMap<Request, number>();
  return new Elysia({ name: "timing" })
    .onRequest(({ request }) => {
      if (pathOf(request.url) === "/metrics") return;
      metrics.requestStarted();
      started.set(request, performance.now());
    })
    .onAfterResponse({ as: "global" }, ({ request, route, set, responseValue }) => {
      const t0 = started.get(request);
      if (t0 === undefined) return;
      const status =
        responseValue instanceof Response ? responseValue.status : typeof set.status === "number" ? set.status : 200;
      metrics.requestFinished(request.method, endpointLabel(route), status, (performance.now() - t0) / 1000);
    });
}
