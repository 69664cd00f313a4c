import type { ChatMessage, ChatRequest, ChatTool, ContentPart, ToolChoice } from "../../../core/wire/index.ts";
import { parseToolInput } from "../anthropic-bridge/index.ts";
import type { JsonObject } from "../openai-chat.ts";
import { toGeminiSchema } from "./json-schema.ts";

/**
 * Canonical chat request -> GenerateContentRequest (docs/behaviour/providers.md#gemini;
 * https://ai.google.dev/api/generate-content). The same body serves AI Studio and Vertex
 * (docs/behaviour/providers.md#vertex-ai); the model goes in the URL, never in the body.
 */

/** reasoning_effort -> thinkingBudget (https://ai.google.dev/gemini-api/docs/thinking#set-budget). */
const THINKING_BUDGET: Record<string, number> = { minimal: 512, low: 1024, medium: 8192, high: 24576 };

/**
 * Gemini has no tool-call ids, but thinking models return a `thoughtSignature` on a functionCall part that must
 * come back on that part in the next turn (https://ai.google.dev/gemini-api/docs/thought-signatures). The
 * signature rides in the minted id, after this separator, so a client replaying the id replays the signature.
 */
export const SIGNATURE_SEPARATOR = "__thought__";

export function splitToolCallId(id: string): { id: string; signature: string | null } {
  const at = id.indexOf(SIGNATURE_SEPARATOR);
  return at === -1
    ? { id, signature: null }
    : { id: id.slice(0, at), signature: id.slice(at + SIGNATURE_SEPARATOR.length) };
}

const MIME_BY_EXTENSION: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  heic: "image/heic",
  pdf: "application/pdf",
  mp3: "audio/mp3",
  wav: "audio/wav",
  mp4: "video/mp4",
  txt: "text/plain",
};

function mimeOfUrl(url: string): string {
  const ext = url.split(/[?#]/)[0]?.split(".").pop()?.toLowerCase() ?? "";
  return MIME_BY_EXTENSION[ext] ?? "image/jpeg";
}

function partOf(p: ContentPart): JsonObject | null {
  if (p.type === "text") return p.text ? { text: p.text } : null;
  if (p.type === "image_url" && p.image_url) {
    const m = p.image_url.url.match(/^data:([^;,]+);base64,(.*)$/s);
    if (m) return { inlineData: { mimeType: m[1], data: m[2] } };
    return { fileData: { mimeType: mimeOfUrl(p.image_url.url), fileUri: p.image_url.url } };
  }
  const audio = p["input_audio"] as { data?: string; format?: string } | undefined;
  if (p.type === "input_audio" && audio?.data)
    return { inlineData: { mimeType: `audio/${audio.format ?? "wav"}`, data: audio.data } };
  return null;
}

function textOf(content: ChatMessage["content"]): string {
  if (typeof content === "string") return content;
  return (content ?? []).map((p) => (p.type === "text" ? (p.text ?? "") : "")).join("");
}

function partsOf(content: ChatMessage["content"]): JsonObject[] {
  if (typeof content === "string") return content ? [{ text: content }] : [];
  return (content ?? []).map(partOf).filter((p): p is JsonObject => p !== null);
}

function toolResult(m: ChatMessage, names: Map<string, string>): JsonObject {
  const text = textOf(m.content);
  let content: unknown = text;
  try {
    content = JSON.parse(text);
  } catch {
    // plain text result
  }
  const name = names.get(m.tool_call_id ?? "") ?? m.name ?? "tool";
  return { functionResponse: { name, response: { content } } };
}

/** contents[]: assistant -> model, tool results -> user functionResponse parts, same-role turns merged. */
function toContents(messages: ChatMessage[]): JsonObject[] {
  const names = new Map<string, string>();
  const turns: { role: string; parts: JsonObject[] }[] = [];
  for (const m of messages) {
    if (m.role === "system" || m.role === "developer") continue;
    let role = "user";
    let parts: JsonObject[];
    if (m.role === "assistant") {
      role = "model";
      parts = partsOf(m.content);
      for (const call of m.tool_calls ?? []) {
        names.set(call.id, call.function.name);
        const part: JsonObject = {
          functionCall: { name: call.function.name, args: parseToolInput(call.function.arguments) },
        };
        const { signature } = splitToolCallId(call.id);
        if (signature) part["thoughtSignature"] = signature;
        parts.push(part);
      }
    } else if (m.role === "tool") parts = [toolResult(m, names)];
    else parts = partsOf(m.content);
    if (parts.length === 0) continue;
    const last = turns[turns.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else turns.push({ role, parts });
  }
  return turns;
}

function toTools(tools: ChatTool[]): JsonObject[] {
  const declarations = tools
    .filter((t) => t.type === "function" && t.function)
    .map((t) => {
      const fn = t.function!;
      const decl: JsonObject = { name: fn.name };
      if (fn.description) decl["description"] = fn.description;
      if (fn.parameters !== undefined) decl["parameters"] = toGeminiSchema(fn.parameters);
      return decl;
    });
  return declarations.length > 0 ? [{ functionDeclarations: declarations }] : [];
}

/** tool_choice -> functionCallingConfig (https://ai.google.dev/gemini-api/docs/function-calling#function_calling_modes). */
function toToolConfig(choice: ToolChoice): JsonObject {
  if (typeof choice === "string")
    return { functionCallingConfig: { mode: choice === "required" ? "ANY" : choice === "none" ? "NONE" : "AUTO" } };
  if (choice.function?.name)
    return { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [choice.function.name] } };
  return { functionCallingConfig: { mode: "AUTO" } };
}

function generationConfig(req: ChatRequest): JsonObject {
  const g: JsonObject = {};
  if (req.temperature != null) g["temperature"] = req.temperature;
  if (req.top_p != null) g["topP"] = req.top_p;
  const max = req.max_completion_tokens ?? req.max_tokens;
  if (max != null) g["maxOutputTokens"] = max;
  if (req.stop != null) g["stopSequences"] = typeof req.stop === "string" ? [req.stop] : req.stop;
  if (req.n != null) g["candidateCount"] = req.n;
  if (req.seed != null) g["seed"] = req.seed;
  for (const [from, to] of [
    ["presence_penalty", "presencePenalty"],
    ["frequency_penalty", "frequencyPenalty"],
  ] as const)
    if (typeof req[from] === "number") g[to] = req[from];
  const format = req.response_format;
  if (format?.type === "json_object") g["responseMimeType"] = "application/json";
  if (format?.type === "json_schema") {
    g["responseMimeType"] = "application/json";
    if (format.json_schema?.schema !== undefined) g["responseSchema"] = toGeminiSchema(format.json_schema.schema);
  }
  const effort = req.reasoning_effort;
  if (effort === "none") g["thinkingConfig"] = { thinkingBudget: 0 };
  else if (effort && THINKING_BUDGET[effort] !== undefined)
    g["thinkingConfig"] = { thinkingBudget: THINKING_BUDGET[effort], includeThoughts: true };
  return g;
}

export function toGeminiBody(req: ChatRequest): JsonObject {
  const body: JsonObject = { contents: toContents(req.messages) };
  const system = req.messages
    .filter((m) => m.role === "system" || m.role === "developer")
    .map((m) => textOf(m.content))
    .filter((t) => t !== "")
    .join("\n\n");
  if (system) body["systemInstruction"] = { parts: [{ text: system }] };
  const tools = toTools(req.tools ?? []);
  if (tools.length > 0) body["tools"] = tools;
  if (req.tool_choice != null && tools.length > 0) body["toolConfig"] = toToolConfig(req.tool_choice);
  const config = generationConfig(req);
  if (Object.keys(config).length > 0) body["generationConfig"] = config;
  return body;
}
