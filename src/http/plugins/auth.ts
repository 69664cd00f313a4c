/** Route guards: master-only and K|M (master or virtual key). The caller is derived once per request. */
import { readCredential } from "../../services/auth";
import { type HttpContext, headerReader } from "../context";

/** Used as a transform hook, so a caller without the master key gets 401 before any body/query validation (baseline order). */
export function requireMaster(ctx: HttpContext, request: Request): void {
  ctx.services.auth.requireMaster(readCredential(headerReader(request)));
}

export function authenticate(ctx: HttpContext, request: Request) {
  return ctx.services.auth.authenticate(readCredential(headerReader(request)));
}

/** OpenAPI security requirement shared by authenticated routes. */
export const securedDetail = { security: [{ bearerAuth: [] }] };
