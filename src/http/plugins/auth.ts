/**
 * Route guards: master-only and K|M (master or virtual key). Each runs at most once per request: routes that take a
 * body run it in their body parser (src/http/body.ts), before the body is read, and the handler or transform hook
 * that asks again gets the same answer.
 */
import { type Caller, readCredential } from "../../services/auth";
import { type HttpContext, headerReader } from "../context";

const mastered = new WeakSet<Request>();
const callers = new WeakMap<Request, Promise<Caller>>();

/** Throws 401 unless the request carries the master key. */
export function requireMaster(ctx: HttpContext, request: Request): void {
  if (mastered.has(request)) return;
  ctx.services.auth.requireMaster(readCredential(headerReader(request)));
  mastered.add(request);
}

export function authenticate(ctx: HttpContext, request: Request): Promise<Caller> {
  let caller = callers.get(request);
  if (!caller) {
    caller = ctx.services.auth.authenticate(readCredential(headerReader(request)));
    callers.set(request, caller);
  }
  return caller;
}

/** OpenAPI security requirement shared by authenticated routes. */
export const securedDetail = { security: [{ bearerAuth: [] }] };
