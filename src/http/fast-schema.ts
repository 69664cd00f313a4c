/**
 * Route body schemas. To Elysia each is a Standard Schema of vendor "zod" (the OpenAPI mapper reads `.zod`), with two
 * differences from the bare zod schema: a body the optional `canonical` check (core/wire/canonical.ts) proves the
 * schema would return unchanged is taken as it is (the hot chat route), and a body that fails is thrown as the 422
 * GatewayError itself. Elysia would otherwise build its ValidationError, which renders the whole body, indented,
 * into a message nobody reads: for a large body many times its size in memory.
 */
import type { z } from "zod";
import { issuesToValidation } from "./errors";

export interface BodySchema<T extends z.ZodType> {
  readonly zod: T;
  readonly "~standard": z.core.$ZodStandardSchema<T>;
}

type Result<T extends z.ZodType> = Awaited<ReturnType<z.core.$ZodStandardSchema<T>["validate"]>>;

export function bodySchema<T extends z.ZodType>(schema: T, canonical?: (value: unknown) => boolean): BodySchema<T> {
  const standard = schema["~standard"] as z.core.$ZodStandardSchema<T>;
  const orThrow = (result: Result<T>): Result<T> => {
    if (result.issues) throw issuesToValidation("body", result.issues);
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

/** The zod schema behind a route schema (itself when it is one). */
export const zodOf = (schema: unknown): z.ZodType => ((schema as { zod?: z.ZodType }).zod ?? schema) as z.ZodType;
