/**
 * Standalone routing's attempt loop (issue "Provider breadth and routing"): each target of the plan in order;
 * on a target, retries with jittered backoff on 429/5xx (honouring the upstream's Retry-After), then the next
 * target on any failure that can pass (timeout, connection error, 5xx, 429, rejected credentials), all within one
 * total deadline. It runs only up to the first byte: callers pass the JSON call or the stream's opening.
 */
import { GatewayError } from "../../../core/errors";
import { logger } from "../../../runtime/logger";
import { sleep } from "../../../runtime/host";
import { classifyFailure } from "../../../providers/failures";
import type { Attempted } from "../pipeline/types";
import type { Plan, Route, Router } from "../routing";

const log = logger("routing");

export interface FallbackPolicy {
  /** Extra tries on the same target after a 429/5xx. */
  retries: number;
  /** Total time for all tries, backoff included. */
  deadlineMs: number;
}

const BASE_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 2000;
/**
 * The longest a client is kept waiting for one retry of the same target. An upstream asking for a longer pause
 * (Retry-After) is not retried sooner than it asked: the plan moves to its next target, or the 429 is returned.
 */
const MAX_RETRY_WAIT_MS = 2000;

/** Seconds from the error's Retry-After header (set by the provider layer from the upstream's hints). */
function retryAfterMs(err: unknown): number | null {
  if (!(err instanceof GatewayError)) return null;
  const v = err.headers["Retry-After"] ?? err.headers["retry-after"];
  const s = v === undefined ? Number.NaN : Number(v);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : null;
}

const backoffMs = (k: number) => Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** k) * (0.5 + Math.random());

/**
 * Tries the plan until one call succeeds: what served (its route and try number), or the last failure with the route
 * tried last, at once for a failure no other try could fix (or once `signal` aborted: the client left).
 */
export async function runPlan<T>(
  router: Router,
  plan: Plan,
  policy: FallbackPolicy,
  call: (route: Route) => Promise<T>,
  signal?: AbortSignal,
): Promise<Attempted<T, Route>> {
  const deadline = Date.now() + policy.deadlineMs;
  let tries = 0;
  let last: unknown = null;
  let lastRoute: Route | null = null;
  for (const target of plan.targets) {
    let failed: Route["deployment"] | undefined;
    for (let k = 0; k <= policy.retries; k++) {
      const route = router.pick(target, failed);
      tries++;
      try {
        const value = await call(route);
        router.report(route, true);
        return { ok: true, value, route, attempt: tries };
      } catch (err) {
        const failure = classifyFailure(err);
        if (failure.gatewaySide || !failure.retryable || signal?.aborted)
          return { ok: false, error: err, route, attempts: tries };
        router.report(route, false);
        failed = route.deployment;
        last = err;
        lastRoute = route;
        log.warn("upstream attempt failed", {
          provider: route.providerName,
          model: route.model,
          error_class: failure.errorClass,
          attempt: tries,
        });
        // Same target again for load-shedding answers, or when it has other deployments to try; otherwise a
        // timeout or a rejected credential moves on to the next target at once.
        const again =
          failure.status === 429 || (failure.status !== null && failure.status >= 500) || target.deployments.length > 1;
        const wait = retryAfterMs(err) ?? backoffMs(k);
        if (!again || k === policy.retries || wait > MAX_RETRY_WAIT_MS || Date.now() + wait >= deadline) break;
        await sleep(wait);
      }
    }
    if (Date.now() >= deadline) break;
  }
  return { ok: false, error: last, route: lastRoute, attempts: tries };
}
