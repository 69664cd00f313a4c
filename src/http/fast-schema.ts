/**
 * A zod schema with a fast accept in front, for hot request bodies. A body the `canonical` check (core/wire/
 * canonical.ts) proves the schema would return unchanged is taken as it is; any other body goes through zod, so
 * every error is zod's. To Elysia it is a Standard Schema of vendor "zod"; the OpenAPI mapper reads `.zod`.
 */
import type { z } from "zod";

export interface FastSchema<T extends z.ZodType> {
  readonly zod: T;
  readonly "~standard": z.core.$ZodStandardSchema<T>;
}

export function withFastAccept<T extends z.ZodType>(schema: T, canonical: (value: unknown) => boolean): FastSchema<T> {
  const standard = schema["~standard"] as z.core.$ZodStandardSchema<T>;
  return {
    zod: schema,
    "~standard": {
      ...standard,
      validate: (value, options) => (canonical(value) ? { value: value as z.output<T> } : standard.validate(value, options)),
    },
  };
}

/** The zod schema behind a route schema (itself when it is one). */
export const zodOf = (schema: unknown): z.ZodType => ((schema as { zod?: z.ZodType }).zod ?? schema) as z.ZodType;
