/**
 * What a provider failure means for the request, as the provider layer alone can tell (its errors carry their
 * upstream detail as a private cause): how it is recorded on the usage row, and whether another try (another
 * deployment, target or platform attempt) may serve it. The public face of the provider errors for services.
 */
import { GatewayError } from "../core/errors.ts";
import { ProviderFailure } from "./_shared/errors.ts";

/** The client-facing texts of a provider failure and timeout on the inference routes. */
export { PROVIDER_ERROR, PROVIDER_TIMEOUT } from "./_shared/errors.ts";

/**
 * The usage row's status_code and error_message for a failure: the upstream status and the provider's own
 * (internal, never client-facing) text when the provider failed, else the gateway's status and message.
 */
export function failureDetail(err: unknown): { statusCode: number; errorMessage: string } {
  if (err instanceof GatewayError && err.cause instanceof ProviderFailure) {
    return { statusCode: err.cause.upstreamStatus ?? err.status, errorMessage: err.cause.message };
  }
  if (err instanceof GatewayError) return { statusCode: err.status, errorMessage: err.message };
  return { statusCode: 500, errorMessage: err instanceof Error ? err.message : String(err) };
}

export interface FailureClass {
  /** `timeout`, `conn_err`, `http_<code>` or `unknown` (docs/behaviour/platform-mode.md#attempts-and-failover). */
  errorClass: string;
  /** Another attempt may serve the request (failed before its first byte for a reason that can pass). */
  retryable: boolean;
  /** A failure the gateway itself decided (bad request, unsupported provider): answered as it is. */
  gatewaySide: boolean;
  /** The upstream status, when a response arrived. */
  status: number | null;
}

const RETRYABLE_STATUS = new Set([401, 403, 408, 429]);

/** Classifies a failure from the provider layer's GatewayError and its ProviderFailure cause. */
export function classifyFailure(err: unknown): FailureClass {
  if (err instanceof GatewayError && err.cause instanceof ProviderFailure) {
    const status = err.cause.upstreamStatus;
    if (status !== null)
      return {
        errorClass: `http_${status}`,
        retryable: RETRYABLE_STATUS.has(status) || (status >= 500 && status <= 599),
        gatewaySide: false,
        status,
      };
    if (err.code === "provider_timeout")
      return { errorClass: "timeout", retryable: true, gatewaySide: false, status: null };
    if (err.cause.message.startsWith("provider connection failed"))
      return { errorClass: "conn_err", retryable: true, gatewaySide: false, status: null };
    return { errorClass: "unknown", retryable: false, gatewaySide: false, status: null };
  }
  if (err instanceof GatewayError && err.code === "provider_timeout")
    return { errorClass: "timeout", retryable: true, gatewaySide: false, status: null };
  if (err instanceof GatewayError) return { errorClass: "unknown", retryable: false, gatewaySide: true, status: null };
  return { errorClass: "unknown", retryable: false, gatewaySide: false, status: null };
}
