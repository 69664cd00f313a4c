import type {
  AnthropicBlock,
  AnthropicMessageParam,
  AnthropicRequest,
  AnthropicTool,
  ChatMessage,
  ChatRequest,
  ChatTool,
  ContentPart,
  ToolChoice,
} from "../../../core/wire/index.ts";

/**
 * /v1/messages body -> canonical chat request, for providers without the Anthropic wire
 * (docs/behaviour/providers.md#v1messages-on-other-providers).
 */

/** Text of a `system` field or of a tool_result's content (string or blocks; non-text blocks are skipped). */
export function blocksText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((b) =>
      b && typeof b === "object" && typeof (b as AnthropicBlock).text === "string" ? (b as AnthropicBlock).text : "",
    )
    .filter((t) => t !== "")
    .join("\n\n");
}

function toPart(block: AnthropicBlock): ContentPart | null {
  if (block.type === "text" && typeof block.text === "string") return { type: "text", text: block.text };
  if (block.type === "image" && block.source) {
    const s = block.source;
    if (s.type === "base64" && s.data)
      return { type: "image_url", image_url: { url: `data:${s.media_type};base64,${s.data}` } };
    if (s.type === "url" && s.url) return { type: "image_url", image_url: { url: s.url } };
  }
  // documents, server-tool results and other Anthropic-only blocks have no chat equivalent
  return null;
}

function fromUserTurn(content: AnthropicBlock[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  const parts: ContentPart[] = [];
  for (const block of content) {
    if (block.type === "tool_result") {
      // OpenAI wants tool answers as their own messages, right after the assistant's tool_calls
      out.push({ role: "tool", tool_call_id: block.tool_use_id ?? "", content: blocksText(block.content) });
    } else {
      const part = toPart(block);
      if (part) parts.push(part);
    }
  }
  if (parts.length > 0) {
    const textOnly = parts.every((p) => p.type === "text");
    out.push({ role: "user", content: textOnly ? parts.map((p) => p.text).join("\n\n") : parts });
  }
  return out;
}

function fromAssistantTurn(content: AnthropicBlock[]): ChatMessage {
  const text: string[] = [];
  const toolCalls: NonNullable<ChatMessage["tool_calls"]> = [];
  for (const block of content) {
    if (block.type === "text" && block.text) text.push(block.text);
    else if (block.type === "tool_use")
      toolCalls.push({
        id: block.id ?? "",
        type: "function",
        function: { name: block.name ?? "", arguments: JSON.stringify(block.input ?? {}) },
      });
    // thinking blocks are Anthropic-signed; other providers cannot take them back
  }
  const msg: ChatMessage = { role: "assistant", content: text.length > 0 ? text.join("") : null };
  if (toolCalls.length > 0) msg.tool_calls = toolCalls;
  return msg;
}

function fromTurn(m: AnthropicMessageParam): ChatMessage[] {
  if (typeof m.content === "string") return [{ role: m.role, content: m.content }];
  return m.role === "assistant" ? [fromAssistantTurn(m.content)] : fromUserTurn(m.content);
}

/**
 * Anthropic tool -> OpenAI function tool; OpenAI-shaped and server tools pass unchanged
 * (docs/behaviour/tools.md#declaring-a-tool).
 */
function toChatTool(tool: AnthropicTool): ChatTool {
  if (tool.function || tool.type === "function") return { ...tool, type: tool.type ?? "function" };
  if (tool.input_schema !== undefined || tool.type === undefined || tool.type === "custom")
    return {
      type: "function",
      function: {
        name: tool.name ?? "",
        description: tool.description,
        parameters: tool.input_schema ?? { type: "object", properties: {} },
      },
    };
  return { ...tool, type: tool.type };
}

function toChatToolChoice(choice: NonNullable<AnthropicRequest["tool_choice"]>): ToolChoice {
  switch (choice.type) {
    case "any":
      return "required";
    case "none":
      return "none";
    case "tool":
      return { type: "function", function: { name: choice.name ?? "" } };
    default:
      return "auto";
  }
}

/**
 * Thinking budget -> the nearest reasoning_effort (inverse of the 1024/4096/16384 of
 * docs/behaviour/providers.md#anthropic-messages).
 */
function effortFor(budget: number | undefined): string {
  if (budget === undefined || budget > 4096) return "high";
  return budget > 1024 ? "medium" : "low";
}

export function anthropicToCanonical(req: AnthropicRequest): ChatRequest {
  const messages: ChatMessage[] = [];
  const system = blocksText(req.system);
  if (system) messages.push({ role: "system", content: system });
  for (const m of req.messages) messages.push(...fromTurn(m));
  const out: ChatRequest = { model: req.model, messages, max_tokens: req.max_tokens };
  if (req.temperature !== undefined) out.temperature = req.temperature;
  if (req.top_p !== undefined) out.top_p = req.top_p;
  if (req.stop_sequences?.length) out.stop = req.stop_sequences;
  if (req.stream !== undefined) out.stream = req.stream;
  if (req.tools?.length) out.tools = req.tools.map(toChatTool);
  if (req.tool_choice) {
    out.tool_choice = toChatToolChoice(req.tool_choice);
    if (req.tool_choice.disable_parallel_tool_use) out.parallel_tool_calls = false;
  }
  if (req.thinking?.type === "enabled") out.reasoning_effort = effortFor(req.thinking.budget_tokens);
  return out;
}
