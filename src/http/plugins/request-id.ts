/**
 * The request id (docs/api.md#cross-cutting-rules): the client's `x-request-id` when it is a usable one, else a new one, on every
 * response and bound to the request's context for the logs (src/runtime/request-context.ts).
 */
import { Elysia } from "elysia";
import { enterRequest } from "../../runtime/request-context";

export const requestId = () =>
  new Elysia({ name: "request-id" }).onRequest(({ request, set }) => {
    set.headers["x-request-id"] = enterRequest(request);
  });
