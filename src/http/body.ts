/**
 * How every route that takes a body reads it (an Elysia parse hook, installed by each route module): the caller is
 * checked first (`gate`), so without a credential the gateway never reads, parses or validates a body; the body
 * must arrive within `http_body_timeout_seconds` (408 and the connection closed otherwise); JSON nested deeper
 * than MAX_JSON_DEPTH or holding a number beyond the double range is a 422 before JSON.parse (one linear pass over
 * the text the parser needs anyway: no second parse, no copy). Routes that take uploads (`uploadLimits`, by path)
 * read a multipart body into an object of its fields (files as File), within their own byte cap.
 */
import type { Config } from "../config/load";
import { jsonTextProblem, MAX_JSON_DEPTH } from "../core/json-text";
import { GatewayError } from "../core/errors";
import { issuesToValidation } from "./errors";
import { pathOf } from "./url-path";

const PROBLEM_MESSAGE = {
  too_deep: `JSON nested deeper than ${MAX_JSON_DEPTH} levels`,
  number_out_of_range: "JSON number out of range: numbers must be finite",
} as const;

/** `reading` (a body being read), or a 408 once `timeoutMs` has passed. */
async function within<T>(reading: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const seconds = timeoutMs / 1000;
      reject(
        new GatewayError(408, `Request body not received within ${seconds} s`, {
          code: "request_timeout",
          headers: { connection: "close" },
        }),
      );
    }, timeoutMs);
  });
  try {
    return await Promise.race([reading, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Throws the 422 (located at `body`) for what jsonTextProblem finds in `text`. */
function refuseProblem(text: string): void {
  const problem = jsonTextProblem(text);
  if (problem) throw issuesToValidation("body", [{ message: PROBLEM_MESSAGE[problem], path: [] }]);
}

/** JSON text to a value, refusing what jsonTextProblem finds. */
function parseJsonText(text: string): unknown {
  refuseProblem(text);
  return JSON.parse(text);
}

/**
 * For a handler that reads the body itself (the tRPC adapter, which reads it only once the caller has passed its
 * auth middleware): the same request whose `text()` keeps the deadline and refuses what jsonTextProblem finds.
 */
export function withGuardedText(request: Request, config: Pick<Config, "http_body_timeout_seconds">): Request {
  const timeoutMs = config.http_body_timeout_seconds * 1000;
  const guarded = new Request(request);
  const read = guarded.text.bind(guarded);
  return Object.assign(guarded, {
    async text(): Promise<string> {
      const text = await within(read(), timeoutMs);
      refuseProblem(text);
      return text;
    },
  });
}

/**
 * The parse hook: `gate` (authentication, throws to refuse) runs before the body is read; JSON bodies are parsed as
 * above, any other type is handed on as its text (the route schemas want objects, so those end as a 422), an empty
 * body as null (a hook's undefined would send Elysia on to parse the body it has already read). Errors thrown here
 * reach the error mapper as the cause of Elysia's ParseError.
 */
export function bodyParser(
  gate: (request: Request) => unknown,
  config: Pick<Config, "http_body_timeout_seconds">,
  uploadLimits?: ReadonlyMap<string, number>,
) {
  const timeoutMs = config.http_body_timeout_seconds * 1000;
  return async ({ request }: { request: Request }, contentType: string): Promise<unknown> => {
    const uploadLimit = contentType === "multipart/form-data" ? uploadLimits?.get(pathOf(request.url)) : undefined;
    if (uploadLimit !== undefined) {
      refuseOversized(Number(request.headers.get("content-length") ?? 0), uploadLimit);
      await gate(request);
      return formFields(await within(boundedBytes(request, uploadLimit), timeoutMs), request);
    }
    await gate(request);
    const text = await within(request.text(), timeoutMs);
    if (text === "") return null;
    return contentType === "application/json" ? parseJsonText(text) : text;
  };
}

/** The 413 of a body past a route's own cap, in the envelope of the global one (plugins/body-limit.ts). */
function refuseOversized(length: number, limit: number): void {
  if (length > limit)
    throw new GatewayError(413, `Request body too large: ${length} bytes exceeds the limit of ${limit} bytes`, {
      code: "request_too_large",
    });
}

/** The body's bytes, counted as they arrive: a body without a declared length cannot pass the cap either. */
async function boundedBytes(request: Request, limit: number): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.byteLength;
    // Leaving the loop cancels the rest of the body.
    refuseOversized(size, limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** A multipart body as an object of its fields (files as File; a repeated field as the list of its values). */
async function formFields(bytes: Uint8Array, request: Request): Promise<Record<string, unknown>> {
  let form: Awaited<ReturnType<Response["formData"]>>;
  try {
    form = await new Response(bytes, {
      headers: { "content-type": request.headers.get("content-type") ?? "" },
    }).formData();
  } catch {
    throw issuesToValidation("body", [{ message: "malformed multipart/form-data body", path: [] }]);
  }
  const fields: Record<string, unknown> = {};
  for (const [name, value] of form.entries()) {
    const seen = fields[name];
    if (seen === undefined) fields[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else fields[name] = [seen, value];
  }
  return fields;
}
