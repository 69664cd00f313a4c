/**
 * Authentication as Elysia plugins. Each check runs before the body is read (the routes' body parser asks it
 * first, src/http/body.ts) and before a query is validated, at most once per request:
 *
 *   identified(identify)  the caller as `identity` on the context: the master key or a virtual key (standalone), or
 *                         the platform bearer token (platform mode); the mode supplies `identify`
 *   masterOnly(ctx)       every route of the module takes the master key only
 */
import { Elysia } from "elysia";
import type { Config } from "../../config/load";
import { type Caller, readCredential } from "../../services/auth";
import { bodyParser } from "../body";
import { type HttpContext, headerReader } from "../context";

/** Who calls, from the request; throws the 401. */
export type Identify<I> = (request: Request) => I | Promise<I>;

const mastered = new WeakSet<Request>();
const callers = new WeakMap<Request, Promise<Caller>>();

/** Throws 401 unless the request carries the master key. */
export function requireMaster(ctx: Pick<HttpContext, "services">, request: Request): void {
  if (mastered.has(request)) return;
  ctx.services.auth.requireMaster(readCredential(headerReader(request)));
  mastered.add(request);
}

/** The master key or a virtual key (K|M routes). */
export function authenticate(ctx: Pick<HttpContext, "services">, request: Request): Promise<Caller> {
  let caller = callers.get(request);
  if (!caller) {
    caller = ctx.services.auth.authenticate(readCredential(headerReader(request)));
    callers.set(request, caller);
  }
  return caller;
}

/** The caller as `identity`, for every route of the module that uses it. */
export function identified<I>(
  identify: Identify<I>,
  config: Pick<Config, "http_body_timeout_seconds">,
  uploadLimits?: ReadonlyMap<string, number>,
) {
  // The seed keeps a module with upload caps from being deduplicated against one without.
  return new Elysia({ name: "identified", seed: uploadLimits ? [...uploadLimits] : undefined })
    .onParse({ as: "scoped" }, bodyParser(identify, config, uploadLimits))
    .derive({ as: "scoped" }, async ({ request }) => ({ identity: await identify(request) }));
}

/** Master key only, for every route of the module that uses it. */
export function masterOnly(ctx: Pick<HttpContext, "services" | "config">) {
  return new Elysia({ name: "master-only" })
    .onParse(
      { as: "scoped" },
      bodyParser((request) => requireMaster(ctx, request), ctx.config),
    )
    .onTransform({ as: "scoped" }, ({ request }) => requireMaster(ctx, request));
}

/** OpenAPI security requirement shared by authenticated routes. */
export const securedDetail = { security: [{ bearerAuth: [] }] };
