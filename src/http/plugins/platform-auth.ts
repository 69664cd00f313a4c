/**
 * The caller's token in platform mode (SPEC §10.2 item 1): `Authorization: Bearer <token>`, passed to the platform.
 * Read once per request: the body parser asks first (before reading the body), the handler gets the same token.
 */
import { unauthorized } from "../../core/errors";

const tokens = new WeakMap<Request, string>();

export function callerToken(request: Request): string {
  let token = tokens.get(request);
  if (token === undefined) {
    token = /^Bearer\s+(.*)$/i.exec(request.headers.get("authorization") ?? "")?.[1]?.trim();
    if (!token) throw unauthorized("Missing authentication token", "missing_token");
    tokens.set(request, token);
  }
  return token;
}
