/** POST /v1/chat/completions (SPEC §3.3, §6): JSON and SSE, any provider, governed by the admission. */
import { type ChatChunk, type ChatRequest, chunkForClient, toOpenAIUsage } from "../../core/wire/index";
import { sseComment, sseData, SSE_DONE } from "../../providers/_shared/sse";
import type { Caller } from "../auth";
import type { Admissions } from "./admission";
import { estimateTokens } from "./estimate";
import { type Reply, SSE_HEADERS } from "./reply";
import { pumpSse } from "./sse-pump";
import { settleStream } from "./stream-settlement";
import type { StreamSettings } from "./stream-settings";

const STREAM_ERROR = { error: { message: "An error occurred during streaming", type: "server_error" } };

export function createChatService(admissions: Admissions, streaming: StreamSettings, defaultOutputTokens: number) {
  return async function chatCompletions(caller: Caller, body: ChatRequest, requestId: string): Promise<Reply> {
    const admission = await admissions.admit({
      caller,
      endpoint: "/v1/chat/completions",
      requestId,
      requestedUser: body.user,
      userRequiredMessage: "When using master key, 'user' field is required in request body",
      selector: body.model,
      estimate: estimateTokens([body.messages, body.tools], body.max_completion_tokens ?? body.max_tokens, defaultOutputTokens),
    });
    const { provider, settings, model } = admission.route;
    const upstream: ChatRequest = { ...body, model };

    if (!body.stream) {
      try {
        const result = await provider.chat({ ...upstream, stream: false }, settings);
        const settled = admission.succeed(result.usage);
        return { kind: "json", body: result.body, headers: { ...settled.headers, ...(await admission.budgetHeaders()) } };
      } catch (err) {
        admission.fail(err);
        throw err;
      }
    }

    let stream: Awaited<ReturnType<typeof provider.chatStream>>;
    try {
      stream = await provider.chatStream({ ...upstream, stream: true }, settings);
    } catch (err) {
      admission.fail(err);
      throw err;
    }
    const includeUsage = body.stream_options?.include_usage === true;
    let heldUsage: ChatChunk | null = null;
    const body$ = pumpSse<ChatChunk>({
      stream,
      keepalive: sseComment("keepalive"),
      keepaliveMs: streaming.keepaliveMs,
      drainMs: streaming.drainMs,
      onDisconnect: streaming.onDisconnect,
      // The usage-only chunk is held back so it can carry the settled cost (SPEC §0).
      frame: (chunk) => {
        if (chunk.choices.length === 0 && chunk.usage) {
          heldUsage = chunk;
          return null;
        }
        const out = chunkForClient(chunk, includeUsage);
        return out ? sseData(out) : null;
      },
      finish: (end) => {
        const settled = settleStream(admission, end);
        if (end.kind === "client_gone") return [];
        const frames: string[] = [];
        if (end.kind === "upstream_error") frames.push(sseData(STREAM_ERROR));
        else if (includeUsage && end.usageSeen) {
          const base = heldUsage ?? { id: `chatcmpl-${requestId}`, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model, choices: [] };
          const usage = { ...toOpenAIUsage(end.usage), ...(settled.costMicros !== null ? { cost_usd: settled.costMicros / 1e6 } : {}) };
          frames.push(sseData({ ...base, choices: [], usage }));
        }
        frames.push(SSE_DONE);
        return frames;
      },
    });
    return { kind: "stream", body: body$, headers: { ...SSE_HEADERS, ...admission.rateHeaders } };
  };
}
