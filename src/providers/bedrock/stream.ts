import { z } from "zod";
import { GatewayError } from "../../core/errors.ts";
import { type ChatChunk, type ChunkChoice, hasUsage, mergeUsage, toOpenAIUsage } from "../../core/wire/index.ts";
import type { EventStreamMessage } from "../_shared/aws/eventstream.ts";
import { ProviderFailure, cutStreamError, malformedBodyError } from "../_shared/errors.ts";
import type { StreamState } from "../_shared/stream.ts";
import { converseUsageSchema, finishReasonFromBedrock, fromConverseUsage, mintId } from "./chat.ts";
import { bedrockStreamException } from "./errors.ts";

/**
 * ConverseStream eventstream frames -> canonical chunks (docs/behaviour/providers.md#aws-bedrock;
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html).
 * Frames carry `:message-type` (event | exception | error) and `:event-type`; payloads are JSON. Order:
 * messageStart, (contentBlockStart?, contentBlockDelta*, contentBlockStop)*, messageStop, metadata. A body that ends
 * after events but before messageStop was cut.
 */

const eventSchemas = {
  contentBlockStart: z
    .object({
      contentBlockIndex: z.number(),
      start: z
        .object({ toolUse: z.object({ toolUseId: z.string(), name: z.string() }).loose().optional() })
        .loose()
        .optional(),
    })
    .loose(),
  contentBlockDelta: z
    .object({
      contentBlockIndex: z.number(),
      delta: z
        .object({
          text: z.string().optional(),
          toolUse: z.object({ input: z.string() }).loose().optional(),
          reasoningContent: z.object({ text: z.string().optional() }).loose().optional(),
        })
        .loose(),
    })
    .loose(),
  messageStop: z.object({ stopReason: z.string() }).loose(),
  metadata: z.object({ usage: converseUsageSchema.optional() }).loose(),
};

const text = new TextDecoder();

function parsePayload<S extends z.ZodType>(schema: S, frame: EventStreamMessage, type: string): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(text.decode(frame.payload));
  } catch (err) {
    throw malformedBodyError("inference", `bedrock ${type} payload is not JSON`, err);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw malformedBodyError("inference", `bedrock ${type}: ${parsed.error.message.slice(0, 300)}`);
  return parsed.data;
}

export function decodeConverseStream(model: string, jsonTool: string | null) {
  return async function* decode(
    frames: AsyncIterable<EventStreamMessage>,
    state: StreamState,
  ): AsyncGenerator<ChatChunk> {
    const id = mintId();
    const created = Math.floor(Date.now() / 1000);
    const chunk = (delta: ChunkChoice["delta"], finish: string | null = null): ChatChunk => ({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    const blocks = new Map<number, { kind: "tool" | "json"; tool: number }>();
    let nextTool = 0;
    let started = false;
    let stopped = false;

    for await (const frame of frames) {
      const messageType = String(frame.headers[":message-type"] ?? "event");
      if (messageType === "exception")
        throw bedrockStreamException(
          String(frame.headers[":exception-type"] ?? "internalServerException"),
          text.decode(frame.payload),
        );
      if (messageType === "error")
        throw new GatewayError(502, "LLM provider error", {
          code: "provider_error",
          cause: new ProviderFailure(
            `error frame in stream: ${String(frame.headers[":error-code"])}: ${String(frame.headers[":error-message"])}`,
            null,
          ),
        });
      const type = String(frame.headers[":event-type"] ?? "");
      if (!started && type !== "metadata") {
        started = true;
        yield chunk({ role: "assistant", content: "" });
      }
      switch (type) {
        case "contentBlockStart": {
          const ev = parsePayload(eventSchemas.contentBlockStart, frame, type);
          const tool = ev.start?.toolUse;
          if (!tool) break;
          if (tool.name === jsonTool) blocks.set(ev.contentBlockIndex, { kind: "json", tool: -1 });
          else {
            const index = nextTool++;
            blocks.set(ev.contentBlockIndex, { kind: "tool", tool: index });
            state.contentSeen = true;
            yield chunk({
              tool_calls: [
                { index, id: tool.toolUseId, type: "function", function: { name: tool.name, arguments: "" } },
              ],
            });
          }
          break;
        }
        case "contentBlockDelta": {
          const ev = parsePayload(eventSchemas.contentBlockDelta, frame, type);
          const block = blocks.get(ev.contentBlockIndex);
          const d = ev.delta;
          if (d.text) {
            state.contentSeen = true;
            yield chunk({ content: d.text });
          } else if (d.reasoningContent?.text) {
            state.contentSeen = true;
            yield chunk({ reasoning: { content: d.reasoningContent.text } });
          } else if (d.toolUse?.input && block) {
            state.contentSeen = true;
            yield block.kind === "json"
              ? chunk({ content: d.toolUse.input })
              : chunk({ tool_calls: [{ index: block.tool, function: { arguments: d.toolUse.input } }] });
          }
          break;
        }
        case "messageStop": {
          const ev = parsePayload(eventSchemas.messageStop, frame, type);
          let finish = finishReasonFromBedrock(ev.stopReason) ?? "stop";
          // the forced JSON tool is how the answer arrives, not a call the client must run
          if (finish === "tool_calls" && nextTool === 0) finish = "stop";
          stopped = true;
          yield chunk({}, finish);
          break;
        }
        case "metadata": {
          const ev = parsePayload(eventSchemas.metadata, frame, type);
          state.usage = mergeUsage(state.usage, fromConverseUsage(ev.usage));
          break;
        }
        default:
          break; // messageStart, contentBlockStop, and event types added later
      }
    }
    if (started && !stopped) throw cutStreamError("messageStop");
    if (hasUsage(state.usage)) yield { ...chunk({}), choices: [], usage: toOpenAIUsage(state.usage) };
  };
}
