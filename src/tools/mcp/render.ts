/**
 * An MCP tool result as the text the model receives: text blocks (and text resources) as they are, other content
 * summarised in one bracketed line (`[image image/png, 1234 bytes]`), blocks joined by newlines; structured content
 * as JSON when there is no other content; `(no output)` when there is nothing. A result the server marked `isError`
 * starts with `[tool error] `. The text is cut at MAX_RESULT_CHARS: a tool's output goes into the model's context on
 * every later round.
 */
import type { CallToolResult, ContentBlock } from "@modelcontextprotocol/sdk/types.js";
import { TOOL_ERROR_PREFIX } from "../types";

export const MAX_RESULT_CHARS = 65_536;

/** Bytes of a base64 payload. */
const decodedBytes = (base64: string) => Math.floor((base64.replace(/=+$/, "").length * 3) / 4);

function block(b: ContentBlock): string {
  switch (b.type) {
    case "text":
      return b.text;
    case "image":
    case "audio":
      return `[${b.type} ${b.mimeType}, ${decodedBytes(b.data)} bytes]`;
    case "resource_link":
      return `[resource link ${b.uri}${b.name ? ` (${b.name})` : ""}]`;
    case "resource": {
      const r = b.resource;
      if ("text" in r && typeof r.text === "string") return r.text;
      const blob = "blob" in r && typeof r.blob === "string" ? r.blob : "";
      return `[resource ${r.uri}${r.mimeType ? ` ${r.mimeType}` : ""}, ${decodedBytes(blob)} bytes]`;
    }
    default:
      return `[${(b as { type: string }).type} content]`;
  }
}

/** Cuts a long text, saying how much was left out. */
export function capped(text: string, max = MAX_RESULT_CHARS): string {
  return text.length > max ? `${text.slice(0, max)}\n… [${text.length - max} more characters cut]` : text;
}

export function renderToolResult(result: CallToolResult): string {
  const parts = (result.content ?? []).map(block).filter((t) => t !== "");
  let text = parts.join("\n");
  if (!text && result.structuredContent !== undefined) text = JSON.stringify(result.structuredContent);
  text = capped(text || "(no output)");
  return result.isError ? `${TOOL_ERROR_PREFIX}${text}` : text;
}
