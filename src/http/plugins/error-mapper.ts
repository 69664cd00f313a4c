/**
 * The error mapper: every failure of a request becomes its HTTP answer here (src/http/errors.ts renders it), with
 * the headers the request-id and security plugins set: Elysia's validation and parse errors as the FastAPI-style
 * 422 (or the body parser's own refusals), an unknown path as 404 and a known path with another method as 405.
 */
import { type AnyElysia, Elysia } from "elysia";
import { GatewayError } from "../../core/errors";
import { errorResponse, issuesToValidation, toGatewayError } from "../errors";
import { takeSetHeaders } from "../set-headers";

interface StandardSchemaLike {
  "~standard": { validate: (value: unknown) => unknown };
}

type Issue = { message: string; path?: PropertyKey[]; keys?: string[] };

/** Re-validates with the route's own zod schema to get its issues as the FastAPI-style list. */
function validationFromElysia(error: { type: string; validator: unknown; value: unknown }): GatewayError {
  const where = error.type === "params" ? "path" : error.type;
  // Elysia wraps Standard Schemas; the zod schema itself sits in `.schema`.
  const wrapped = error.validator as { schema?: Partial<StandardSchemaLike> } & Partial<StandardSchemaLike>;
  const schema = wrapped.schema?.["~standard"] ? wrapped.schema : wrapped;
  const result = schema["~standard"]?.validate(error.value) as { issues?: Issue[] } | undefined;
  const issues = (result?.issues ?? []).flatMap((issue) =>
    issue.keys?.length
      ? issue.keys.map((key) => ({ message: "Extra inputs are not permitted", path: [...(issue.path ?? []), key] }))
      : [issue],
  );
  return issuesToValidation(where, issues.length ? issues : [{ message: "Invalid input" }]);
}

/** Which methods serve a path, for 405 vs 404 (Elysia answers 404 for both). */
function methodsFor(app: AnyElysia, path: string): string[] {
  const methods = new Set<string>();
  for (const route of app.routes) {
    const pattern = new RegExp(`^${route.path.replace(/:[^/]+/g, "[^/]+").replace(/\*/g, ".*")}$`);
    if (pattern.test(path)) methods.add(route.method);
  }
  return [...methods];
}

/** `app`: the app whose route table tells a 405 from a 404 (read when such a request comes, not at build time). */
export const errorMapper = (app: () => AnyElysia) =>
  new Elysia({ name: "error-mapper" }).onError({ as: "global" }, ({ code, error, request, set, path }) => {
    let err: GatewayError;
    if (code === "VALIDATION") err = validationFromElysia(error);
    else if (code === "PARSE")
      // The body parser (body.ts) refuses with GatewayErrors (401 before reading, 408, 422), which Elysia wraps.
      err =
        error.cause instanceof GatewayError
          ? error.cause
          : issuesToValidation("body", [{ message: "JSON decode error: the body is not valid JSON", path: [] }]);
    else if (code === "NOT_FOUND") {
      const allowed = methodsFor(app(), path).filter((m) => m !== request.method);
      err = allowed.length
        ? new GatewayError(405, "Method Not Allowed", {
            code: "method_not_allowed",
            headers: { Allow: allowed.join(", ") },
          })
        : new GatewayError(404, "Not Found", { code: "not_found" });
    } else err = toGatewayError(error);
    set.status = err.status; // for the request metrics in onAfterResponse
    return errorResponse(err, path, takeSetHeaders(set));
  });
