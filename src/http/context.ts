/** What the HTTP layer is built from: the services plus the few settings routes need. */
import type { Config } from "../config/load";
import type { Services } from "../services";

export interface HttpContext {
  services: Services;
  config: Config;
  /** True once SIGTERM started the drain: readiness answers 503 and new requests are refused. */
  draining: () => boolean;
}

/** Reads one header from a Request, for the auth helpers. */
export const headerReader = (request: Request) => (name: string) => request.headers.get(name);
