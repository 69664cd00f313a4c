/**
 * Route request schemas (body and query). To Elysia each is a Standard Schema of vendor "zod" (the OpenAPI mapper
 * reads `.zod`), with two differences from the bare zod schema: a body the optional `canonical` check
 * (core/wire/canonical.ts) proves the schema would return unchanged is taken as it is (the hot chat route), and a
 * value that fails is thrown as the 422 GatewayError itself. Elysia would otherwise build its ValidationError,
 * which renders the whole value, indented, into a message nobody reads: for a large body many times its size in
 * memory, and for a query value of nested brackets (Elysia parses `[...]` values as JSON) time quadratic in the
 * depth.
 */
import type { z } from "zod";
import { issuesToValidation } from "./errors";

export interface RouteSchema<T extends z.ZodType> {
  readonly zod: T;
  readonly "~standard": z.core.$ZodStandardSchema<T>;
}

type Result<T extends z.ZodType> = Awaited<ReturnType<z.core.$ZodStandardSchema<T>["validate"]>>;

function routeSchema<T extends z.ZodType>(
  where: "body" | "query",
  schema: T,
  canonical?: (value: unknown) => boolean,
): RouteSchema<T> {
  const standard = schema["~standard"] as z.core.$ZodStandardSchema<T>;
  const orThrow = (result: Result<T>): Result<T> => {
    if (result.issues) throw issuesToValidation(where, result.issues);
    return result;
  };
  return {
    zod: schema,
    "~standard": {
      ...standard,
      validate: (value, options) => {
        if (canonical?.(value)) return { value: value as z.output<T> };
        const result = standard.validate(value, options);
        return result instanceof Promise ? result.then(orThrow) : orThrow(result);
      },
    },
  };
}

export const bodySchema = <T extends z.ZodType>(schema: T, canonical?: (value: unknown) => boolean) =>
  routeSchema("body", schema, canonical);
export const querySchema = <T extends z.ZodType>(schema: T) => routeSchema("query", schema);

/** The zod schema behind a route schema (itself when it is one). */
export const zodOf = (schema: unknown): z.ZodType => ((schema as { zod?: z.ZodType }).zod ?? schema) as z.ZodType;
