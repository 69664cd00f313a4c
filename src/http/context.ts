/** What the HTTP layer is built from: the services plus the few settings routes need. */
import type { Config } from "../config/load";
import type { Recorder } from "../metrics/registry";
import type { Services } from "../services";
import type { Inference } from "../services/inference";
import type { ProvidersService } from "../services/providers";

export interface HttpContext {
  services: Services;
  /** The inference runtime (a function so the OpenAPI document can be built without one). */
  inference: () => Inference;
  config: Config;
  /** Providers and their routing health (needs the inference runtime, so a function too). */
  providers: () => ProvidersService;
  /** Metrics recorder; null when `enable_metrics` is off. */
  metrics?: Recorder | null;
  /** True once SIGTERM started the drain: readiness answers 503 and new requests are refused. */
  draining: () => boolean;
}

/** Reads one header from a Request, for the auth helpers. */
export const headerReader = (request: Request) => (name: string) => request.headers.get(name);
