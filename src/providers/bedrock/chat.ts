import { z } from "zod";
import { badRequest } from "../../core/errors.ts";
import {
  type ChatChoice,
  type ChatCompletion,
  type ChatMessage,
  type ChatRequest,
  type ChatTool,
  type NormalizedUsage,
  type ToolCall,
  toOpenAIUsage,
  withTotal,
} from "../../core/wire/index.ts";
import { parseToolInput } from "../_shared/anthropic-bridge/index.ts";
import type { JsonObject } from "../_shared/openai-chat.ts";

/**
 * Canonical chat <-> Bedrock Converse (docs/behaviour/providers.md#aws-bedrock;
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html). `response_format: json_schema`
 * has no Converse field: like the Anthropic adapter, it becomes one forced tool whose input is returned as the message
 * content.
 */

const JSON_TOOL = "json_response";
/** reasoning_effort -> Claude thinking budget, sent through additionalModelRequestFields (Anthropic models only). */
const THINKING_BUDGET: Record<string, number> = { low: 1024, medium: 4096, high: 16384 };
const IMAGE_FORMATS = new Set(["png", "jpeg", "gif", "webp"]);

export interface ConverseCall {
  body: JsonObject;
  jsonTool: string | null;
}

function textOf(content: ChatMessage["content"]): string {
  if (typeof content === "string") return content;
  return (content ?? []).map((p) => (p.type === "text" ? (p.text ?? "") : "")).join("");
}

/** Converse takes image bytes (base64 in JSON) or S3 locations, never http URLs. */
function imageBlock(url: string): JsonObject {
  const m = url.match(/^data:image\/([a-z]+);base64,(.*)$/s);
  const format = m?.[1] === "jpg" ? "jpeg" : m?.[1];
  if (!m || !format || !IMAGE_FORMATS.has(format))
    throw badRequest("Bedrock accepts images only as base64 data URIs (png, jpeg, gif, webp)", "invalid_request");
  return { image: { format, source: { bytes: m[2] } } };
}

function blocksOf(content: ChatMessage["content"]): JsonObject[] {
  if (typeof content === "string") return content ? [{ text: content }] : [];
  const out: JsonObject[] = [];
  for (const p of content ?? []) {
    // Converse rejects empty text blocks
    if (p.type === "text" && p.text) out.push({ text: p.text });
    else if (p.type === "image_url" && p.image_url) out.push(imageBlock(p.image_url.url));
  }
  return out;
}

function toolResult(m: ChatMessage): JsonObject {
  const text = textOf(m.content);
  let block: JsonObject = { text };
  try {
    const parsed: unknown = JSON.parse(text);
    // a toolResult `json` block must be an object (a JSON document), anything else stays text
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) block = { json: parsed };
  } catch {
    // plain text
  }
  return { toolResult: { toolUseId: m.tool_call_id ?? "", content: [block] } };
}

/** Converse needs alternating user/assistant turns: same-role neighbours are merged. */
function toMessages(messages: ChatMessage[]): JsonObject[] {
  const turns: { role: string; content: JsonObject[] }[] = [];
  for (const m of messages) {
    if (m.role === "system" || m.role === "developer") continue;
    let role = "user";
    let content: JsonObject[];
    if (m.role === "assistant") {
      role = "assistant";
      content = blocksOf(m.content);
      for (const call of m.tool_calls ?? [])
        content.push({
          toolUse: { toolUseId: call.id, name: call.function.name, input: parseToolInput(call.function.arguments) },
        });
    } else if (m.role === "tool") content = [toolResult(m)];
    else content = blocksOf(m.content);
    if (content.length === 0) continue;
    const last = turns[turns.length - 1];
    if (last && last.role === role) last.content.push(...content);
    else turns.push({ role, content });
  }
  return turns;
}

const toolSpec = (name: string, description: string | undefined, schema: unknown): JsonObject => ({
  toolSpec: {
    name,
    ...(description ? { description } : {}),
    inputSchema: { json: schema ?? { type: "object", properties: {} } },
  },
});

function toolChoiceOf(choice: ChatRequest["tool_choice"]): JsonObject | null {
  if (choice == null || choice === "none") return null; // Converse has no "none": the tools stay, nothing is forced
  if (choice === "auto") return { auto: {} };
  if (choice === "required") return { any: {} };
  if (typeof choice === "object" && choice.function?.name) return { tool: { name: choice.function.name } };
  return { auto: {} };
}

export function toConverseRequest(req: ChatRequest): ConverseCall {
  const body: JsonObject = { messages: toMessages(req.messages) };
  const system = req.messages
    .filter((m) => m.role === "system" || m.role === "developer")
    .map((m) => textOf(m.content))
    .filter(Boolean);
  if (system.length > 0) body["system"] = system.map((text) => ({ text }));
  const inference: JsonObject = {};
  const max = req.max_completion_tokens ?? req.max_tokens;
  if (max != null) inference["maxTokens"] = max;
  if (req.temperature != null) inference["temperature"] = req.temperature;
  if (req.top_p != null) inference["topP"] = req.top_p;
  if (req.stop != null) inference["stopSequences"] = typeof req.stop === "string" ? [req.stop] : req.stop;

  const tools = (req.tools ?? [])
    .filter((t: ChatTool) => t.type === "function" && t.function)
    .map((t) => toolSpec(t.function!.name, t.function!.description, t.function!.parameters));
  let choice = toolChoiceOf(req.tool_choice);
  let jsonTool: string | null = null;
  const format = req.response_format;
  if (format?.type === "json_schema" && format.json_schema) {
    jsonTool = format.json_schema.name || JSON_TOOL;
    tools.push(toolSpec(jsonTool, format.json_schema.description, format.json_schema.schema ?? { type: "object" }));
    choice = { tool: { name: jsonTool } };
  }
  if (tools.length > 0) body["toolConfig"] = choice ? { tools, toolChoice: choice } : { tools };

  const budget = req.reasoning_effort ? THINKING_BUDGET[req.reasoning_effort] : undefined;
  if (budget !== undefined && !jsonTool && /anthropic|claude/i.test(req.model)) {
    body["additionalModelRequestFields"] = { thinking: { type: "enabled", budget_tokens: budget } };
    if (typeof inference["maxTokens"] === "number" && inference["maxTokens"] <= budget)
      inference["maxTokens"] += budget;
    // Claude rejects temperature/top_p changes while thinking
    delete inference["temperature"];
    delete inference["topP"];
  }
  if (Object.keys(inference).length > 0) body["inferenceConfig"] = inference;
  return { body, jsonTool };
}

const converseBlockSchema = z
  .object({
    text: z.string().optional(),
    toolUse: z.object({ toolUseId: z.string(), name: z.string(), input: z.unknown().optional() }).loose().optional(),
    reasoningContent: z
      .object({ reasoningText: z.object({ text: z.string().optional() }).loose().optional() })
      .loose()
      .optional(),
  })
  .loose();

export const converseUsageSchema = z
  .object({
    inputTokens: z.number().optional(),
    outputTokens: z.number().optional(),
    totalTokens: z.number().optional(),
    cacheReadInputTokens: z.number().optional(),
    cacheWriteInputTokens: z.number().optional(),
  })
  .loose();
export type ConverseUsage = z.infer<typeof converseUsageSchema>;

export const converseResponseSchema = z
  .object({
    output: z
      .object({ message: z.object({ role: z.string().optional(), content: z.array(converseBlockSchema) }).loose() })
      .loose(),
    stopReason: z.string(),
    usage: converseUsageSchema.optional(),
  })
  .loose();
export type ConverseResponse = z.infer<typeof converseResponseSchema>;

/** stopReason -> finish_reason (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_ResponseSyntax). */
export function finishReasonFromBedrock(reason: string | undefined | null): string | null {
  if (!reason) return null;
  if (reason === "max_tokens" || reason === "model_context_window_exceeded") return "length";
  if (reason === "tool_use") return "tool_calls";
  if (reason === "guardrail_intervened" || reason === "content_filtered") return "content_filter";
  return "stop";
}

/**
 * inputTokens excludes the cached parts: canonical prompt = input + cache read + cache write
 * (docs/behaviour/providers.md#canonical-form-and-usage).
 */
export function fromConverseUsage(u: ConverseUsage | undefined): NormalizedUsage {
  const num = (v: number | undefined) => (typeof v === "number" ? v : null);
  const input = num(u?.inputTokens);
  const read = num(u?.cacheReadInputTokens);
  const write = num(u?.cacheWriteInputTokens);
  const prompt = input === null && read === null && write === null ? null : (input ?? 0) + (read ?? 0) + (write ?? 0);
  return withTotal({
    promptTokens: prompt,
    completionTokens: num(u?.outputTokens),
    totalTokens: null,
    cacheReadTokens: read,
    cacheWriteTokens: write,
    reasoningTokens: null,
  });
}

export const mintId = (): string => `chatcmpl-${crypto.randomUUID().replace(/-/g, "").slice(0, 24)}`;

export function fromConverseResponse(
  res: ConverseResponse,
  model: string,
  jsonTool: string | null,
): { body: ChatCompletion; usage: NormalizedUsage } {
  let text = "";
  let reasoning = "";
  let jsonAnswer: string | null = null;
  const toolCalls: ToolCall[] = [];
  for (const block of res.output.message.content) {
    if (block.text !== undefined) text += block.text;
    else if (block.reasoningContent?.reasoningText?.text) reasoning += block.reasoningContent.reasoningText.text;
    else if (block.toolUse && block.toolUse.name === jsonTool) jsonAnswer = JSON.stringify(block.toolUse.input ?? {});
    else if (block.toolUse)
      toolCalls.push({
        id: block.toolUse.toolUseId,
        type: "function",
        function: { name: block.toolUse.name, arguments: JSON.stringify(block.toolUse.input ?? {}) },
      });
  }
  let finish = finishReasonFromBedrock(res.stopReason) ?? "stop";
  if (jsonAnswer !== null && toolCalls.length === 0 && finish === "tool_calls") finish = "stop";
  const message: ChatChoice["message"] = {
    role: "assistant",
    content: jsonAnswer ?? (text || (toolCalls.length > 0 ? null : "")),
    refusal: null,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (reasoning) message.reasoning = { content: reasoning };
  const usage = fromConverseUsage(res.usage);
  return {
    body: {
      id: mintId(),
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ index: 0, message, finish_reason: finish, logprobs: null }],
      usage: toOpenAIUsage(usage),
    },
    usage,
  };
}
