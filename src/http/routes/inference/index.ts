/**
 * The inference routes, one module for both modes: each endpoint's route (routes.ts) mounted behind the caller's
 * identification (the mode supplies it: keys in standalone, the platform bearer in platform mode), then the
 * pipeline of the mode. Thin: authenticate -> read and validate the body -> pipeline -> reply. The caller is known
 * before anything of the body is read (src/http/body.ts).
 */
import { Elysia } from "elysia";
import type { Config } from "../../../config/load";
import type { Pipeline } from "../../../services/inference/pipeline/run";
import { type Identify, identified, securedDetail } from "../../plugins/auth";
import { createPromptLogger } from "./prompt-log";
import type { InferenceRoute } from "./routes";

export { INFERENCE_ROUTES, type InferenceRoute, inferenceRoute } from "./routes";

export interface InferenceRoutesOptions<I> {
  /** The endpoints this mode serves. */
  routes: readonly InferenceRoute[];
  identify: Identify<I>;
  /** The mode's pipeline (a function: the OpenAPI document is built without one). */
  pipeline: () => Pipeline<I>;
  config: Config;
}

/** The byte caps of the routes that take multipart uploads, by path. */
function uploadLimits(routes: readonly InferenceRoute[]): ReadonlyMap<string, number> {
  const limits = new Map<string, number>();
  for (const route of routes) if (route.uploadLimit !== undefined) limits.set(route.endpoint.path, route.uploadLimit);
  return limits;
}

export function inferenceRoutes<I>(o: InferenceRoutesOptions<I>) {
  const deps = { pipeline: o.pipeline, logPrompt: createPromptLogger(o.config) };
  const app = new Elysia({ name: "inference", detail: { tags: ["inference"], ...securedDetail } }).use(
    identified(o.identify, o.config, uploadLimits(o.routes)),
  );
  for (const route of o.routes) route.mount(app, deps);
  return app;
}
