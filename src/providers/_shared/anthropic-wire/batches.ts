import { z } from "zod";
import { badRequest } from "../../../core/errors.ts";
import {
  type Batch,
  type BatchList,
  type BatchResultItem,
  type ChatRequest,
  anthropicMessageSchema,
} from "../../../core/wire/index.ts";
import type { CallOptions, ProviderBatchCreate, ProviderSettings } from "../../types.ts";
import { extractProviderMessage, malformedBodyError } from "../errors.ts";
import { type UpstreamRequest, joinUrl, requestJson } from "../http.ts";
import { readLines } from "../lines.ts";
import type { JsonObject } from "../openai-chat.ts";
import { type StreamState, openFramedStream } from "../stream.ts";
import { fromAnthropicMessage } from "./from-anthropic.ts";
import { toAnthropicRequest } from "./to-anthropic.ts";

/**
 * Anthropic Message Batches (https://docs.anthropic.com/en/api/creating-message-batches): `POST /v1/messages/batches`
 * with `{requests: [{custom_id, params}]}` (each chat body translated as chat is), retrieve, list (`after_id`,
 * `limit`), cancel, and the results as JSON lines at `/v1/messages/batches/{id}/results`, each `{custom_id, result:
 * {type: succeeded | errored | canceled | expired, ...}}`. Batches are answered in OpenAI's Batch shape: status
 * `in_progress`, `cancelling`, or once `ended` `completed` (`cancelled` when a cancel was asked for), request counts
 * folded into total / completed / failed. Anthropic keeps no metadata on a batch, and a structured-output request
 * (`response_format: json_schema`) is refused: its answer could not be told from a tool call once it comes back.
 */

const batchSchema = z
  .object({
    id: z.string(),
    processing_status: z.string(),
    request_counts: z
      .object({
        processing: z.number(),
        succeeded: z.number(),
        errored: z.number(),
        canceled: z.number(),
        expired: z.number(),
      })
      .loose(),
    created_at: z.string(),
    ended_at: z.string().nullish(),
    expires_at: z.string().nullish(),
    cancel_initiated_at: z.string().nullish(),
    results_url: z.string().nullish(),
  })
  .loose();

const listSchema = z
  .object({
    data: z.array(batchSchema),
    has_more: z.boolean().default(false),
    first_id: z.string().nullish(),
    last_id: z.string().nullish(),
  })
  .loose();

const lineSchema = z
  .object({
    custom_id: z.string(),
    result: z.object({ type: z.string(), message: z.unknown().optional(), error: z.unknown().optional() }).loose(),
  })
  .loose();

const seconds = (iso: string | null | undefined): number | null => {
  const ms = iso ? Date.parse(iso) : Number.NaN;
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
};

export function toOpenAIBatch(b: z.infer<typeof batchSchema>): Batch {
  const c = b.request_counts;
  const status =
    b.processing_status === "ended"
      ? b.cancel_initiated_at
        ? "cancelled"
        : "completed"
      : b.processing_status === "canceling"
        ? "cancelling"
        : "in_progress";
  return {
    id: b.id,
    object: "batch",
    endpoint: "/v1/chat/completions",
    status,
    created_at: seconds(b.created_at) ?? 0,
    completed_at: seconds(b.ended_at),
    expires_at: seconds(b.expires_at),
    request_counts: {
      total: c.processing + c.succeeded + c.errored + c.canceled + c.expired,
      completed: c.succeeded,
      failed: c.errored + c.canceled + c.expired,
    },
    metadata: null,
  };
}

/** One results line -> the request's chat completion, or why it has none. */
export function resultOfAnthropicLine(line: string): BatchResultItem {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (err) {
    throw malformedBodyError("inference", `batch result line is not JSON (${line.slice(0, 80)})`, err);
  }
  const parsed = lineSchema.safeParse(json);
  if (!parsed.success) throw malformedBodyError("inference", parsed.error.message.slice(0, 300));
  const { custom_id, result } = parsed.data;
  if (result.type === "succeeded") {
    const message = anthropicMessageSchema.safeParse(result.message);
    if (!message.success) throw malformedBodyError("inference", message.error.message.slice(0, 300));
    const { body, usage } = fromAnthropicMessage(message.data, null);
    return { custom_id, result: body, error: null, usage };
  }
  const inner = (result.error as JsonObject | undefined)?.["error"] as JsonObject | undefined;
  const code = typeof inner?.["type"] === "string" ? inner["type"] : result.type;
  const message = extractProviderMessage(result.error) ?? `The request was ${result.type}`;
  return { custom_id, result: null, error: { code, message }, usage: null };
}

async function* decodeLines(lines: AsyncIterable<string>, _state: StreamState): AsyncGenerator<BatchResultItem> {
  for await (const line of lines) yield resultOfAnthropicLine(line);
}

/** The batch members of a host serving Anthropic's Message Batches API under `base`. */
export function anthropicBatchMembers(auth: (s: ProviderSettings, o: CallOptions) => Promise<Record<string, string>>) {
  const request = async (
    s: ProviderSettings,
    o: CallOptions,
    path: string,
    body?: JsonObject,
  ): Promise<UpstreamRequest> => ({
    url: joinUrl(s.apiBase, path),
    method: body === undefined ? "GET" : "POST",
    body,
    headers: await auth(s, o),
  });
  const batchPath = (id: string) => `/v1/messages/batches/${encodeURIComponent(id)}`;

  return {
    async createBatch(b: ProviderBatchCreate, s: ProviderSettings, o: CallOptions = {}): Promise<Batch> {
      const requests = b.requests.map(({ custom_id, body }) => {
        const call = toAnthropicRequest({ ...body, model: b.model } as ChatRequest, false);
        if (call.jsonTool !== null)
          throw badRequest(
            `Provider '${s.name}' batches cannot take response_format json_schema (request '${custom_id}')`,
            "invalid_request",
            "requests",
          );
        return { custom_id, params: call.body };
      });
      const res = await requestJson(
        await request(s, o, "/v1/messages/batches", { requests }),
        batchSchema,
        s,
        o,
        "inference",
      );
      return toOpenAIBatch(res.body);
    },

    async retrieveBatch(id: string, s: ProviderSettings, o: CallOptions = {}): Promise<Batch> {
      return toOpenAIBatch(
        (await requestJson(await request(s, o, batchPath(id)), batchSchema, s, o, "inference")).body,
      );
    },

    async listBatches(
      q: { after?: string; limit?: number },
      s: ProviderSettings,
      o: CallOptions = {},
    ): Promise<BatchList> {
      const query = new URLSearchParams();
      if (q.after) query.set("after_id", q.after);
      if (q.limit) query.set("limit", String(q.limit));
      const path = query.size ? `/v1/messages/batches?${query}` : "/v1/messages/batches";
      const res = await requestJson(await request(s, o, path), listSchema, s, o, "inference");
      const data = res.body.data.map(toOpenAIBatch);
      return {
        object: "list",
        data,
        first_id: data[0]?.id ?? null,
        last_id: data.at(-1)?.id ?? null,
        has_more: res.body.has_more,
      };
    },

    async cancelBatch(id: string, s: ProviderSettings, o: CallOptions = {}): Promise<Batch> {
      const res = await requestJson(await request(s, o, `${batchPath(id)}/cancel`, {}), batchSchema, s, o, "inference");
      return toOpenAIBatch(res.body);
    },

    async batchResults(batch: Batch, s: ProviderSettings, o: CallOptions = {}) {
      return openFramedStream(
        await request(s, o, `${batchPath(batch.id)}/results`),
        readLines,
        decodeLines,
        s,
        o,
        "inference",
      );
    },
  };
}
