/** The caller's token in platform mode (SPEC §10.2 item 1): `Authorization: Bearer <token>`, passed to the platform. */
import { unauthorized } from "../../core/errors";

export function callerToken(request: Request): string {
  const match = /^Bearer\s+(.*)$/i.exec(request.headers.get("authorization") ?? "");
  const token = match?.[1]?.trim();
  if (!token) throw unauthorized("Missing authentication token", "missing_token");
  return token;
}
