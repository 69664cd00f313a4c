/** What the platform-mode HTTP app is built from (SPEC §10): no store, no local services. */
import type { Config } from "../config/load";
import type { Recorder } from "../metrics/registry";
import type { PlatformClient, PlatformInference } from "../services/platform";
import type { OpenApiDocument } from "./docs/document";

export interface PlatformHttpContext {
  config: Config;
  inference: PlatformInference;
  client: PlatformClient;
  /** The mode-independent OpenAPI document (SPEC §0), built on first request. */
  document: () => OpenApiDocument | Promise<OpenApiDocument>;
  metrics?: Recorder | null;
  /** True once SIGTERM started the drain: readiness answers 503. */
  draining: () => boolean;
}
