/** What the HTTP app is built from, by mode: the services and the settings routes need. */
import type { Config } from "../config/load";
import type { Recorder } from "../metrics/registry";
import type { Services } from "../services";
import type { Inference } from "../services/inference";
import type { ProvidersService } from "../services/providers";
import type { PlatformRuntime } from "../services/platform";
import type { OpenApiDocument } from "./docs/document";

interface BaseContext {
  config: Config;
  /** Metrics recorder; null when `enable_metrics` is off. */
  metrics?: Recorder | null;
  /** True once SIGTERM started the drain: readiness answers 503 (and the server refuses new requests). */
  draining: () => boolean;
}

/** Standalone mode: the database-backed services and the inference runtime. */
export interface HttpContext extends BaseContext {
  mode: "standalone";
  services: Services;
  /** The inference runtime (a function so the OpenAPI document can be built without one). */
  inference: () => Inference;
  /** Providers and their routing health (needs the inference runtime, so a function too). */
  providers: () => ProvidersService;
}

/** Platform mode (docs/behaviour/platform-mode.md): no store, no local services. */
export interface PlatformHttpContext extends BaseContext {
  mode: "platform";
  platform: Pick<PlatformRuntime, "client" | "pipeline">;
  /**
   * The mode-independent OpenAPI document (docs/behaviour/compatibility.md#the-openapi-document), built on first
   * request.
   */
  document: () => OpenApiDocument | Promise<OpenApiDocument>;
}

export type AppContext = HttpContext | PlatformHttpContext;

/** Reads one header from a Request, for the auth helpers. */
export const headerReader = (request: Request) => (name: string) => request.headers.get(name);
