/**
 * Hot-path checks: is a parsed upstream body already exactly what its zod schema (and the provider layer's
 * normalisation) would return? When yes, the gateway can skip the schema and hand the client the upstream bytes
 * unchanged; when no, the caller takes the full schema path. So each check may only say yes where the schema
 * would accept the value and change nothing (no default to fill, no shape to lift); a "no" is always safe.
 * canonical.test.ts pins that against the schemas.
 */

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const optString = (v: unknown) => v === undefined || v === null || typeof v === "string";
const optCount = (v: unknown) => v === undefined || v === null || typeof v === "number";

function detailsOk(v: unknown, field: string): boolean {
  return v === undefined || v === null || (isObj(v) && optCount(v[field]));
}

/** openAIUsageSchema, nullish. */
export function isCanonicalOpenAIUsage(u: unknown): boolean {
  if (u === undefined || u === null) return true;
  return (
    isObj(u) &&
    optCount(u["prompt_tokens"]) &&
    optCount(u["completion_tokens"]) &&
    optCount(u["total_tokens"]) &&
    detailsOk(u["prompt_tokens_details"], "cached_tokens") &&
    detailsOk(u["completion_tokens_details"], "reasoning_tokens")
  );
}

function isCanonicalToolCall(t: unknown): boolean {
  if (!isObj(t) || typeof t["id"] !== "string" || typeof t["type"] !== "string") return false;
  const f = t["function"];
  return isObj(f) && typeof f["name"] === "string" && typeof f["arguments"] === "string";
}

function isCanonicalMessage(m: unknown): boolean {
  if (!isObj(m) || typeof m["role"] !== "string" || !optString(m["content"])) return false;
  // `reasoning_content` or a string `reasoning` is lifted to `reasoning: {content}` by the provider layer.
  if ("reasoning_content" in m) return false;
  const r = m["reasoning"];
  if (r !== undefined && r !== null && !(isObj(r) && typeof r["content"] === "string")) return false;
  const calls = m["tool_calls"];
  if (calls === undefined || calls === null) return true;
  return Array.isArray(calls) && calls.every(isCanonicalToolCall);
}

function isCanonicalChoice(c: unknown): boolean {
  return isObj(c) && Number.isSafeInteger(c["index"]) && optString(c["finish_reason"]) && isCanonicalMessage(c["message"]);
}

/**
 * chatCompletionSchema + normalizeCompletion would return `v` unchanged. `usage` must be present (an object or
 * null): without it the provider layer looks for Groq's `x_groq.usage` and writes `usage` itself.
 */
export function isCanonicalCompletion(v: unknown): boolean {
  if (!isObj(v)) return false;
  if (typeof v["id"] !== "string" || typeof v["object"] !== "string" || typeof v["created"] !== "number" || typeof v["model"] !== "string") return false;
  const usage = v["usage"];
  if (usage === undefined || (usage === null && "x_groq" in v) || !isCanonicalOpenAIUsage(usage)) return false;
  const choices = v["choices"];
  return Array.isArray(choices) && choices.every(isCanonicalChoice);
}

function isCanonicalToolCallDelta(t: unknown): boolean {
  if (!isObj(t) || !Number.isSafeInteger(t["index"]) || !optString(t["id"]) || !optString(t["type"])) return false;
  const f = t["function"];
  return f === undefined || f === null || (isObj(f) && optString(f["name"]) && optString(f["arguments"]));
}

function isCanonicalDelta(d: unknown): boolean {
  if (!isObj(d) || !optString(d["role"]) || !optString(d["content"]) || "reasoning_content" in d) return false;
  const r = d["reasoning"];
  if (r !== undefined && r !== null && !(isObj(r) && typeof r["content"] === "string")) return false;
  const calls = d["tool_calls"];
  return calls === undefined || calls === null || (Array.isArray(calls) && calls.every(isCanonicalToolCallDelta));
}

function isCanonicalChunkChoice(c: unknown): boolean {
  return isObj(c) && Number.isSafeInteger(c["index"]) && optString(c["finish_reason"]) && isCanonicalDelta(c["delta"]);
}

/** chatChunkSchema + the provider layer's chunk normalisation would return `v` unchanged (see isCanonicalCompletion). */
export function isCanonicalChunk(v: unknown): boolean {
  if (!isObj(v)) return false;
  if (typeof v["id"] !== "string" || typeof v["object"] !== "string" || typeof v["created"] !== "number" || typeof v["model"] !== "string") return false;
  const usage = v["usage"];
  if ((usage === undefined || usage === null) && "x_groq" in v) return false;
  if (!isCanonicalOpenAIUsage(usage)) return false;
  const choices = v["choices"];
  return Array.isArray(choices) && choices.every(isCanonicalChunkChoice);
}

const optBool = (v: unknown) => v === undefined || v === null || typeof v === "boolean";
const optInt = (v: unknown) => v === undefined || v === null || Number.isSafeInteger(v);
/** An `.optional()` (not nullish) string member: absent or a string; null fails the schema. */
const absentOrString = (v: unknown) => v === undefined || typeof v === "string";

function isCanonicalPart(p: unknown): boolean {
  if (!isObj(p) || typeof p["type"] !== "string" || !absentOrString(p["text"])) return false;
  const image = p["image_url"];
  return image === undefined || (isObj(image) && typeof image["url"] === "string" && absentOrString(image["detail"]));
}

function isCanonicalRequestMessage(m: unknown): boolean {
  if (!isObj(m) || typeof m["role"] !== "string" || !absentOrString(m["name"]) || !absentOrString(m["tool_call_id"])) return false;
  const content = m["content"];
  if (!(content === undefined || content === null || typeof content === "string" || (Array.isArray(content) && content.every(isCanonicalPart)))) return false;
  const calls = m["tool_calls"];
  return calls === undefined || calls === null || (Array.isArray(calls) && calls.every(isCanonicalToolCall));
}

function isCanonicalTool(t: unknown): boolean {
  if (!isObj(t) || typeof t["type"] !== "string") return false;
  const f = t["function"];
  return f === undefined || (isObj(f) && typeof f["name"] === "string" && absentOrString(f["description"]));
}

function isCanonicalToolChoice(c: unknown): boolean {
  if (c === undefined || c === null || typeof c === "string") return true;
  if (!isObj(c) || typeof c["type"] !== "string") return false;
  const f = c["function"];
  return f === undefined || (isObj(f) && typeof f["name"] === "string");
}

function isCanonicalResponseFormat(r: unknown): boolean {
  if (r === undefined || r === null) return true;
  if (!isObj(r) || typeof r["type"] !== "string") return false;
  const s = r["json_schema"];
  return s === undefined || (isObj(s) && absentOrString(s["name"]) && absentOrString(s["description"]));
}

/**
 * The chat request body schema (routes' chatBody) would return `v` unchanged. Bodies naming gateway tool servers
 * (`mcp_servers`, `mcp_server_ids`) always take the schema: their validation is richer and they are rare.
 */
export function isCanonicalChatRequest(v: unknown): boolean {
  if (!isObj(v) || typeof v["model"] !== "string") return false;
  const messages = v["messages"];
  if (!Array.isArray(messages) || messages.length === 0 || !messages.every(isCanonicalRequestMessage)) return false;
  const options = v["stream_options"];
  if (!(options === undefined || options === null || (isObj(options) && (options["include_usage"] === undefined || typeof options["include_usage"] === "boolean")))) return false;
  const stop = v["stop"];
  if (!(stop === undefined || stop === null || typeof stop === "string" || (Array.isArray(stop) && stop.every((s) => typeof s === "string")))) return false;
  const tools = v["tools"];
  if (!(tools === undefined || tools === null || (Array.isArray(tools) && tools.every(isCanonicalTool)))) return false;
  const header = v["tools_header"];
  const iterations = v["max_tool_iterations"];
  return (
    optBool(v["stream"]) &&
    optCount(v["temperature"]) &&
    optCount(v["top_p"]) &&
    optInt(v["max_tokens"]) &&
    optInt(v["max_completion_tokens"]) &&
    optInt(v["n"]) &&
    optInt(v["seed"]) &&
    isCanonicalToolChoice(v["tool_choice"]) &&
    optBool(v["parallel_tool_calls"]) &&
    isCanonicalResponseFormat(v["response_format"]) &&
    optString(v["reasoning_effort"]) &&
    optString(v["user"]) &&
    (v["mcp_servers"] === undefined || v["mcp_servers"] === null) &&
    (v["mcp_server_ids"] === undefined || v["mcp_server_ids"] === null) &&
    (header === undefined || header === null || (typeof header === "string" && header.length <= 4000)) &&
    (iterations === undefined || iterations === null || (Number.isSafeInteger(iterations) && (iterations as number) >= 1 && (iterations as number) <= 25))
  );
}
