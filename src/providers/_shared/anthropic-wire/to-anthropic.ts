import type { AnthropicBlock, ChatMessage, ChatRequest, ChatTool, ToolChoice } from "../../../core/wire/index.ts";
import type { JsonObject } from "../openai-chat.ts";
import { parseToolInput } from "../anthropic-bridge/index.ts";

/** Canonical chat request -> Anthropic Messages body (docs/behaviour/providers.md#anthropic-messages). */

export const DEFAULT_MAX_TOKENS = 4096;
const THINKING_BUDGET: Record<string, number> = { low: 1024, medium: 4096, high: 16384 };
const DEFAULT_JSON_TOOL = "json_response";

export interface AnthropicCall {
  body: JsonObject;
  /** Name of the forced tool standing in for `response_format: json_schema`; its input is the answer. */
  jsonTool: string | null;
}

function textOf(content: ChatMessage["content"]): string {
  if (typeof content === "string") return content;
  return (content ?? []).map((p) => (p.type === "text" ? (p.text ?? "") : "")).join("");
}

/** data: URIs become base64 sources; anything else is fetched by Anthropic from its URL. */
function imageBlock(url: string): AnthropicBlock {
  const m = url.match(/^data:([^;,]+);base64,(.*)$/s);
  if (m) return { type: "image", source: { type: "base64", media_type: m[1], data: m[2] } };
  return { type: "image", source: { type: "url", url } };
}

function contentBlocks(content: ChatMessage["content"]): AnthropicBlock[] {
  if (typeof content === "string") return content ? [{ type: "text", text: content }] : [];
  const out: AnthropicBlock[] = [];
  for (const part of content ?? []) {
    // Anthropic rejects empty text blocks
    if (part.type === "text" && part.text) out.push({ type: "text", text: part.text });
    else if (part.type === "image_url" && part.image_url) out.push(imageBlock(part.image_url.url));
  }
  return out;
}

function turnOf(m: ChatMessage): { role: "user" | "assistant"; blocks: AnthropicBlock[] } {
  if (m.role === "assistant") {
    const blocks = contentBlocks(m.content);
    for (const call of m.tool_calls ?? [])
      blocks.push({
        type: "tool_use",
        id: call.id,
        name: call.function.name,
        input: parseToolInput(call.function.arguments),
      });
    return { role: "assistant", blocks };
  }
  if (m.role === "tool")
    return {
      role: "user",
      blocks: [{ type: "tool_result", tool_use_id: m.tool_call_id ?? "", content: textOf(m.content) }],
    };
  return { role: "user", blocks: contentBlocks(m.content) };
}

/** Anthropic needs alternating turns: consecutive same-role messages are merged into one turn. */
function toTurns(messages: ChatMessage[]): JsonObject[] {
  const turns: { role: string; content: AnthropicBlock[] }[] = [];
  for (const m of messages) {
    if (m.role === "system" || m.role === "developer") continue;
    const { role, blocks } = turnOf(m);
    if (blocks.length === 0) continue;
    const last = turns[turns.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  }
  return turns;
}

function toTool(tool: ChatTool): JsonObject {
  if (tool.type !== "function" || !tool.function) return tool; // server tools (web_search_20250305...) pass as-is
  const out: JsonObject = {
    name: tool.function.name,
    input_schema: tool.function.parameters ?? { type: "object", properties: {} },
  };
  if (tool.function.description) out["description"] = tool.function.description;
  return out;
}

function toToolChoice(choice: ToolChoice): JsonObject {
  if (typeof choice === "string") return { type: choice === "required" ? "any" : choice === "none" ? "none" : "auto" };
  if (choice.function?.name) return { type: "tool", name: choice.function.name };
  return { type: "auto" };
}

export function toAnthropicRequest(req: ChatRequest, stream: boolean): AnthropicCall {
  const body: JsonObject = { model: req.model };
  const system = req.messages
    .filter((m) => m.role === "system" || m.role === "developer")
    .map((m) => textOf(m.content))
    .filter((t) => t !== "")
    .join("\n\n");
  let maxTokens = req.max_completion_tokens ?? req.max_tokens ?? DEFAULT_MAX_TOKENS;
  if (system) body["system"] = system;
  body["messages"] = toTurns(req.messages);
  if (req.temperature != null) body["temperature"] = req.temperature;
  if (req.top_p != null) body["top_p"] = req.top_p;
  if (req.stop != null) body["stop_sequences"] = typeof req.stop === "string" ? [req.stop] : req.stop;
  if (req.user) body["metadata"] = { user_id: req.user };

  const tools = (req.tools ?? []).map(toTool);
  let toolChoice: JsonObject | null = req.tool_choice != null ? toToolChoice(req.tool_choice) : null;
  let jsonTool: string | null = null;
  const format = req.response_format;
  if (format?.type === "json_schema" && format.json_schema) {
    // Anthropic has no JSON mode: a single forced tool whose input is the structured answer
    jsonTool = format.json_schema.name || DEFAULT_JSON_TOOL;
    const tool: JsonObject = { name: jsonTool, input_schema: format.json_schema.schema ?? { type: "object" } };
    if (format.json_schema.description) tool["description"] = format.json_schema.description;
    tools.push(tool);
    toolChoice = { type: "tool", name: jsonTool };
  }
  if (req.parallel_tool_calls === false && tools.length > 0)
    toolChoice = { ...(toolChoice ?? { type: "auto" }), disable_parallel_tool_use: true };
  if (tools.length > 0) body["tools"] = tools;
  if (toolChoice) body["tool_choice"] = toolChoice;

  const budget = req.reasoning_effort ? THINKING_BUDGET[req.reasoning_effort] : undefined;
  // Thinking cannot be combined with a forced tool, so the JSON-schema stand-in wins
  if (budget !== undefined && !jsonTool) {
    body["thinking"] = { type: "enabled", budget_tokens: budget };
    if (maxTokens <= budget) maxTokens += budget;
    // Anthropic rejects temperature/top_p changes while thinking
    delete body["temperature"];
    delete body["top_p"];
  }
  body["max_tokens"] = maxTokens;
  if (stream) body["stream"] = true;
  return { body, jsonTool };
}
