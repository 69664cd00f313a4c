import { GatewayError } from "../../../core/errors.ts";
import {
  type AnthropicEvent,
  type AnthropicKnownEvent,
  type AnthropicUsage,
  type ChatChunk,
  anthropicEventSchema,
  anthropicKnownEventSchema,
  finishReasonFromAnthropic,
  hasUsage,
  toOpenAIUsage,
} from "../../../core/wire/index.ts";
import { ProviderFailure, cutStreamError, malformedBodyError, upstreamHttpError } from "../errors.ts";
import type { SseEvent } from "../sse.ts";
import type { StreamState } from "../stream.ts";
import { fromAnthropicUsage } from "./from-anthropic.ts";

/**
 * Anthropic SSE (docs/behaviour/providers.md#anthropic-messages): native pass-through, and translation to canonical
 * chunks.
 */

/** In-stream `error` event types -> the HTTP status Anthropic would have answered with. */
const STATUS_BY_ERROR_TYPE: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529,
};

export function anthropicStreamError(error: { type: string; message: string }): GatewayError {
  const status = STATUS_BY_ERROR_TYPE[error.type] ?? 500;
  const mapped = upstreamHttpError({
    status,
    bodyText: JSON.stringify({ type: "error", error }),
    headers: new Headers(),
    route: "inference",
  });
  return new GatewayError(mapped.status, mapped.message, {
    code: mapped.code,
    headers: mapped.headers,
    cause: new ProviderFailure(`error event in stream: ${error.type}: ${error.message}`, status),
  });
}

function parseEvent(sse: SseEvent): { raw: AnthropicEvent; known: AnthropicKnownEvent | null } {
  let json: unknown;
  try {
    json = JSON.parse(sse.data);
  } catch (err) {
    throw malformedBodyError("inference", `anthropic stream data is not JSON (${sse.data.slice(0, 80)})`, err);
  }
  const raw = anthropicEventSchema.safeParse(json);
  if (!raw.success) throw malformedBodyError("inference", raw.error.message.slice(0, 300));
  const known = anthropicKnownEventSchema.safeParse(raw.data);
  return { raw: raw.data, known: known.success ? known.data : null };
}

/** Field-level merge of Anthropic usage (last non-zero wins) before normalising, so cache counts from
 * message_start survive a message_delta that repeats input_tokens without them. */
function mergeAnthropicUsage(prev: AnthropicUsage, next: AnthropicUsage | null | undefined): AnthropicUsage {
  const out: AnthropicUsage = { ...prev };
  if (!next) return out;
  for (const key of [
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
  ] as const) {
    const v = next[key];
    if (typeof v === "number" && (v !== 0 || typeof out[key] !== "number")) out[key] = v;
  }
  return out;
}

/** Tracks usage and content while reading; shared by both decoders. */
function createTracker(state: StreamState) {
  let usage: AnthropicUsage = {};
  return {
    see(event: AnthropicKnownEvent | null): void {
      if (!event) return;
      if (event.type === "message_start") usage = mergeAnthropicUsage(usage, event.message.usage);
      else if (event.type === "message_delta") usage = mergeAnthropicUsage(usage, event.usage);
      else if (event.type === "content_block_delta") state.contentSeen = true;
      else if (event.type === "error") throw anthropicStreamError(event.error);
      else return;
      state.usage = fromAnthropicUsage(usage);
    },
  };
}

const CUT = "message_stop";

/**
 * Native events for /v1/messages pass-through: forwarded as received (unknown types included), up to message_stop; a
 * body that ends after events but before it was cut.
 */
export async function* decodeAnthropicNative(
  events: AsyncIterable<SseEvent>,
  state: StreamState,
): AsyncGenerator<AnthropicEvent> {
  const tracker = createTracker(state);
  let started = false;
  for await (const sse of events) {
    if (!sse.data.trim()) continue;
    const { raw, known } = parseEvent(sse);
    tracker.see(known);
    started = true;
    yield raw;
    if (raw.type === "message_stop") return;
  }
  if (started) throw cutStreamError(CUT);
}

/** Anthropic events -> canonical chunks; `jsonTool` is the response_format stand-in whose input is content. */
export function decodeAnthropicToChunks(jsonTool: string | null) {
  return async function* decode(events: AsyncIterable<SseEvent>, state: StreamState): AsyncGenerator<ChatChunk> {
    const tracker = createTracker(state);
    let id = "";
    let model = "";
    const created = Math.floor(Date.now() / 1000);
    const blocks = new Map<number, { kind: "text" | "tool" | "json" | "thinking" | "other"; tool: number }>();
    let nextTool = 0;
    const chunk = (delta: ChatChunk["choices"][number]["delta"], finish: string | null = null): ChatChunk => ({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });

    let started = false;
    for await (const sse of events) {
      if (!sse.data.trim()) continue;
      const { known: ev } = parseEvent(sse);
      tracker.see(ev);
      started = true;
      if (!ev) continue;
      switch (ev.type) {
        case "message_start":
          id = ev.message.id ?? id;
          model = ev.message.model ?? model;
          yield chunk({ role: "assistant", content: "" });
          break;
        case "content_block_start": {
          const b = ev.content_block;
          if (b.type === "tool_use" && jsonTool !== null && b.name === jsonTool)
            blocks.set(ev.index, { kind: "json", tool: -1 });
          else if (b.type === "tool_use") {
            const tool = nextTool++;
            blocks.set(ev.index, { kind: "tool", tool });
            yield chunk({
              tool_calls: [
                { index: tool, id: b.id ?? "", type: "function", function: { name: b.name ?? "", arguments: "" } },
              ],
            });
          } else if (b.type === "text") {
            blocks.set(ev.index, { kind: "text", tool: -1 });
            if (b.text) yield chunk({ content: b.text });
          } else blocks.set(ev.index, { kind: b.type === "thinking" ? "thinking" : "other", tool: -1 });
          break;
        }
        case "content_block_delta": {
          const block = blocks.get(ev.index);
          const d = ev.delta;
          if (d.type === "text_delta" && d.text) yield chunk({ content: d.text });
          else if (d.type === "thinking_delta" && d.thinking) yield chunk({ reasoning: { content: d.thinking } });
          else if (d.type === "input_json_delta" && d.partial_json && block?.kind === "json")
            yield chunk({ content: d.partial_json });
          else if (d.type === "input_json_delta" && d.partial_json && block?.kind === "tool")
            yield chunk({ tool_calls: [{ index: block.tool, function: { arguments: d.partial_json } }] });
          break;
        }
        case "message_delta": {
          let finish = finishReasonFromAnthropic(ev.delta.stop_reason);
          // the forced JSON tool is how the answer arrives, not a tool call the client must run
          if (finish === "tool_calls" && nextTool === 0) finish = "stop";
          if (finish) yield chunk({}, finish);
          break;
        }
        case "message_stop":
          if (hasUsage(state.usage)) yield { ...chunk({}), choices: [], usage: toOpenAIUsage(state.usage) };
          return;
        default:
          break; // ping, content_block_stop, error (thrown by the tracker)
      }
    }
    if (started) throw cutStreamError(CUT);
  };
}
