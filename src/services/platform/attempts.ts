/**
 * The ordered attempts of a platform route (SPEC §10.2 items 4-7): each is tried in turn until one succeeds before
 * its first byte; retryable failures move on, others end the request at once; a tool loop that has had its first
 * model response is locked in to its attempt. Every attempt that fails here is reported to the platform.
 */
import { GatewayError } from "../../core/errors";
import { classifyFailure, type FailureClass, PROVIDER_ERROR, PROVIDER_TIMEOUT } from "../../providers/failures";
import { logger } from "../../platform/logger";
import type { PlatformAttempt } from "./client";

export { classifyFailure, type FailureClass };

const log = logger("platform");

export const ALL_FAILED = "All upstream providers failed";
export const ALL_TIMED_OUT = "All upstream providers timed out";

export interface AttemptRun<R> {
  /** The attempts in the order to try them. */
  attempts: readonly PlatformAttempt[];
  /**
   * Runs one attempt up to its first byte (JSON: the whole call; stream: the first chunk). `lockIn` is for tool
   * loops: called once the attempt's first model response arrived, after which no other attempt is tried.
   */
  run: (attempt: PlatformAttempt, lockIn: () => void) => Promise<R>;
  /** Told about each failed attempt (the usage report of SPEC §10.3). */
  onFailure: (attempt: PlatformAttempt, failure: FailureClass, err: unknown) => void;
}

/** Tries the attempts in order; returns the first success and its attempt, or throws the request's error. */
export async function runAttempts<R>(o: AttemptRun<R>): Promise<{ attempt: PlatformAttempt; result: R }> {
  let last: FailureClass | null = null;
  for (const attempt of o.attempts) {
    let lockedIn = false;
    try {
      const result = await o.run(attempt, () => {
        lockedIn = true;
      });
      return { attempt, result };
    } catch (err) {
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
      if (failure.gatewaySide) throw err;
      if (lockedIn || !failure.retryable)
        throw new GatewayError(502, PROVIDER_ERROR, { code: "provider_error", cause: err });
    }
  }
  const several = o.attempts.length > 1;
  if (last?.errorClass === "timeout")
    throw new GatewayError(504, several ? ALL_TIMED_OUT : PROVIDER_TIMEOUT, { code: "provider_timeout" });
  throw new GatewayError(502, several ? ALL_FAILED : PROVIDER_ERROR, { code: "provider_error" });
}
