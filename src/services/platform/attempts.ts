/**
 * The ordered attempts of a platform route (docs/behaviour/platform-mode.md#attempts-and-failover,
 * docs/behaviour/platform-mode.md#streaming, docs/behaviour/platform-mode.md#tool-loops): each is tried in turn until
 * one succeeds before its first byte; retryable failures move on, others end the request at once; a call locked in to
 * its attempt (a tool loop's later round) ends the request on any failure. Every attempt that fails here is reported to
 * the platform, unless the client left.
 */
import { GatewayError } from "../../core/errors";
import { logger } from "../../runtime/logger";
import { classifyFailure, type FailureClass, PROVIDER_ERROR, PROVIDER_TIMEOUT } from "../../providers/failures";
import type { Attempted } from "../inference/pipeline/types";
import type { PlatformAttempt } from "./client";

export { classifyFailure, type FailureClass };

const log = logger("platform");

export const ALL_FAILED = "All upstream providers failed";
export const ALL_TIMED_OUT = "All upstream providers timed out";

export interface AttemptRun<T, R> {
  /** The attempts in the order to try them. */
  attempts: readonly PlatformAttempt[];
  /** An attempt made ready to call (its adapter and settings); a throw is that attempt's failure. */
  prepare: (attempt: PlatformAttempt) => R;
  /**
   * Runs one attempt up to its first byte (JSON: the whole call; stream: the first chunk). `lockIn`: from then on
   * no other attempt is tried, and any failure is the 502.
   */
  run: (route: R, lockIn: () => void) => Promise<T>;
  /** Told about each failed attempt (the usage report of docs/behaviour/platform-mode.md#usage-reports). */
  onFailure: (attempt: PlatformAttempt, failure: FailureClass, err: unknown) => void;
  /** The client's request: once it is aborted a failure is the client's, neither reported nor tried again. */
  signal?: AbortSignal;
}

/** Tries the attempts in order: the first success and its attempt, or the request's error. */
export async function runAttempts<T, R>(o: AttemptRun<T, R>): Promise<Attempted<T, R>> {
  let last: FailureClass | null = null;
  let route: R | null = null;
  let n = 0;
  for (const attempt of o.attempts) {
    n++;
    route = null;
    let lockedIn = false;
    try {
      route = o.prepare(attempt);
      const value = await o.run(route, () => {
        lockedIn = true;
      });
      return { ok: true, value, route, attempt: n };
    } catch (err) {
      if (o.signal?.aborted) return { ok: false, error: err, route, attempts: n };
      const failure = classifyFailure(err);
      last = failure;
      o.onFailure(attempt, failure, err);
      log.warn("platform attempt failed", {
        position: attempt.position,
        provider: attempt.provider,
        model: attempt.model,
        error_class: failure.errorClass,
        retryable: failure.retryable,
        locked_in: lockedIn,
      });
      if (failure.gatewaySide) return { ok: false, error: err, route, attempts: n };
      if (lockedIn || !failure.retryable) {
        const error = new GatewayError(502, PROVIDER_ERROR, { code: "provider_error", cause: err });
        return { ok: false, error, route, attempts: n };
      }
    }
  }
  const several = o.attempts.length > 1;
  const error =
    last?.errorClass === "timeout"
      ? new GatewayError(504, several ? ALL_TIMED_OUT : PROVIDER_TIMEOUT, { code: "provider_timeout" })
      : new GatewayError(502, several ? ALL_FAILED : PROVIDER_ERROR, { code: "provider_error" });
  return { ok: false, error, route, attempts: n };
}
