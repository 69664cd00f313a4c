/** `max_request_body_bytes`: a declared body over the limit is a 413 before routing, without reading it. */
import { Elysia } from "elysia";
import { GatewayError } from "../../core/errors";

export const bodyLimit = (limit: number) =>
  new Elysia({ name: "body-limit", seed: limit }).onRequest(({ request }) => {
    const length = Number(request.headers.get("content-length") ?? 0);
    if (length > limit) {
      throw new GatewayError(413, `Request body too large: ${length} bytes exceeds the limit of ${limit} bytes`, {
        code: "request_too_large",
      });
    }
  });
