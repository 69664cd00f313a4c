/** The errors providers raise for upstream failures, for tests that feed them to the layers above without a mock server. */
export { connectionError, malformedBodyError, timeoutError, upstreamHttpError } from "../_shared/errors.ts";
