import { z } from "zod";
import {
  type Batch,
  type BatchResultItem,
  batchListSchema,
  batchSchema,
  fromOpenAIUsage,
  openAIUsageSchema,
} from "../../core/wire/index.ts";
import type { CallOptions, ProviderBatchCreate, ProviderSettings } from "../types.ts";
import { extractProviderMessage, malformedBodyError } from "./errors.ts";
import { type UpstreamRequest, requestJson } from "./http.ts";
import { readLines } from "./lines.ts";
import type { JsonObject } from "./openai-chat.ts";
import { type StreamState, openFramedStream } from "./stream.ts";

/**
 * OpenAI's Batch API (https://platform.openai.com/docs/api-reference/batch): the requests become a JSONL file
 * uploaded to `POST /files` (purpose `batch`, multipart), then `POST /batches` names it; retrieve, list and cancel are
 * `/batches/{id}`, `/batches?after&limit` and `/batches/{id}/cancel`; results are the output file's lines (then the
 * error file's), `GET /files/{id}/content`, each `{custom_id, response: {status_code, body}, error}`.
 */

/** Builds an upstream request for `path` under the provider's base (GET without a body). */
export type OpenAIRequestBuilder = (s: ProviderSettings, path: string, body?: JsonObject) => UpstreamRequest;

const fileSchema = z.object({ id: z.string() }).loose();

const lineSchema = z
  .object({
    custom_id: z.string(),
    response: z.object({ status_code: z.number().int(), body: z.unknown() }).loose().nullish(),
    error: z.object({ code: z.string().nullish(), message: z.string().nullish() }).loose().nullish(),
  })
  .loose();

const usageOf = (body: unknown) => {
  const usage = body && typeof body === "object" ? (body as JsonObject)["usage"] : undefined;
  const parsed = openAIUsageSchema.safeParse(usage);
  return parsed.success && parsed.data ? fromOpenAIUsage(parsed.data) : null;
};

/** One result line -> the request's completion, or its error (a non-2xx answer's message). */
export function resultOfLine(line: string): BatchResultItem {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (err) {
    throw malformedBodyError("inference", `batch result line is not JSON (${line.slice(0, 80)})`, err);
  }
  const parsed = lineSchema.safeParse(json);
  if (!parsed.success) throw malformedBodyError("inference", parsed.error.message.slice(0, 300));
  const { custom_id, response, error } = parsed.data;
  if (response && response.status_code >= 200 && response.status_code < 300)
    return { custom_id, result: response.body ?? null, error: null, usage: usageOf(response.body) };
  const message = error?.message ?? extractProviderMessage(response?.body) ?? "The request failed";
  return {
    custom_id,
    result: null,
    error: { code: error?.code ?? (response ? String(response.status_code) : null), message },
    usage: null,
  };
}

async function* decodeLines(lines: AsyncIterable<string>, _state: StreamState): AsyncGenerator<BatchResultItem> {
  for await (const line of lines) yield resultOfLine(line);
}

function multipart(boundary: string, jsonl: string): string {
  return [
    `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n`,
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="batch.jsonl"\r\n`,
    `Content-Type: application/jsonl\r\n\r\n${jsonl}\r\n--${boundary}--\r\n`,
  ].join("");
}

export function openAIBatchMembers(request: OpenAIRequestBuilder) {
  const idPath = (id: string) => encodeURIComponent(id);
  const openFile = (id: string, s: ProviderSettings, o: CallOptions) =>
    openFramedStream(request(s, `/files/${idPath(id)}/content`), readLines, decodeLines, s, o, "inference");

  return {
    async createBatch(b: ProviderBatchCreate, s: ProviderSettings, o: CallOptions = {}): Promise<Batch> {
      const jsonl = b.requests
        .map((r) =>
          JSON.stringify({
            custom_id: r.custom_id,
            method: "POST",
            url: "/v1/chat/completions",
            body: { ...r.body, model: b.model },
          }),
        )
        .join("\n");
      const boundary = `otari-batch-${crypto.randomUUID()}`;
      const base = request(s, "/files", {});
      const upload: UpstreamRequest = {
        ...base,
        body: undefined,
        rawBody: multipart(boundary, jsonl),
        headers: { ...base.headers, "content-type": `multipart/form-data; boundary=${boundary}` },
      };
      const file = await requestJson(upload, fileSchema, s, o, "inference");
      const body: JsonObject = {
        input_file_id: file.body.id,
        endpoint: "/v1/chat/completions",
        completion_window: b.completion_window,
      };
      if (b.metadata) body["metadata"] = b.metadata;
      return (await requestJson(request(s, "/batches", body), batchSchema, s, o, "inference")).body;
    },

    async retrieveBatch(id: string, s: ProviderSettings, o: CallOptions = {}): Promise<Batch> {
      return (await requestJson(request(s, `/batches/${idPath(id)}`), batchSchema, s, o, "inference")).body;
    },

    async listBatches(q: { after?: string; limit?: number }, s: ProviderSettings, o: CallOptions = {}) {
      const query = new URLSearchParams();
      if (q.after) query.set("after", q.after);
      if (q.limit) query.set("limit", String(q.limit));
      const path = query.size ? `/batches?${query}` : "/batches";
      return (await requestJson(request(s, path), batchListSchema, s, o, "inference")).body;
    },

    async cancelBatch(id: string, s: ProviderSettings, o: CallOptions = {}): Promise<Batch> {
      return (await requestJson(request(s, `/batches/${idPath(id)}/cancel`, {}), batchSchema, s, o, "inference")).body;
    },

    async batchResults(batch: Batch, s: ProviderSettings, o: CallOptions = {}) {
      // the output file is opened before the promise resolves: its failure is the caller's HTTP error
      const output = batch.output_file_id ? await openFile(batch.output_file_id, s, o) : null;
      const errorFile = batch.error_file_id ?? null;
      return (async function* items(): AsyncGenerator<BatchResultItem> {
        try {
          if (output) yield* output;
          if (errorFile) yield* await openFile(errorFile, s, o);
        } finally {
          // a reader that stops early (the client left) closes the upstream download too
          await output?.cancel();
        }
      })();
    },
  };
}
