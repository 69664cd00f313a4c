/**
 * Hot-path checks: is a parsed upstream body already exactly what its zod schema (and the provider layer's
 * normalisation) would return? When yes, the gateway can skip the schema and hand the client the upstream bytes
 * unchanged; when no, the caller takes the full schema path. So each check may only say yes where the schema
 * would accept the value and change nothing (no default to fill, no shape to lift); a "no" is always safe.
 * canonical.test.ts and the route schemas' test pin that against the schemas.
 */

import { MAX_MODEL_NAME_LENGTH } from "./model-name.ts";

type Obj = Record<string, unknown>;
type Check = (v: unknown) => boolean;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isString: Check = (v) => typeof v === "string";
const nullish = (v: unknown) => v === undefined || v === null;
/** A `.nullish()` member: absent, null, or passing `check`. */
const nullishOr =
  (check: Check): Check =>
  (v) =>
    nullish(v) || check(v);
/** An `.optional()` member: absent or passing `check` (null fails the schema). */
const absentOr =
  (check: Check): Check =>
  (v) =>
    v === undefined || check(v);
const listOf =
  (check: Check): Check =>
  (v) =>
    Array.isArray(v) && v.every(check);

const optString = nullishOr(isString);
/** A `requiredNullable` member (core/wire/chat.ts): present, null or passing `check` (absent gets filled). */
const presentOr =
  (check: Check): Check =>
  (v) =>
    v === null || (v !== undefined && check(v));
const presentString = presentOr(isString);
const present: Check = (v) => v !== undefined;
const optCount = nullishOr((v) => typeof v === "number");
const optBool = nullishOr((v) => typeof v === "boolean");
const optInt = nullishOr(Number.isSafeInteger);
const absentOrString = absentOr(isString);

// Every check is built once here: nothing below makes a closure per value checked.
const promptDetails = nullishOr((d) => isObj(d) && optCount(d["cached_tokens"]));
const completionDetails = nullishOr((d) => isObj(d) && optCount(d["reasoning_tokens"]));

/** openAIUsageSchema, nullish. */
export const isCanonicalOpenAIUsage = nullishOr(
  (u) =>
    isObj(u) &&
    optCount(u["prompt_tokens"]) &&
    optCount(u["completion_tokens"]) &&
    optCount(u["total_tokens"]) &&
    promptDetails(u["prompt_tokens_details"]) &&
    completionDetails(u["completion_tokens_details"]),
);

/** `id`, `object`, `created` and `model` as the completion and chunk schemas take them without a default. */
const hasCompletionHead = (v: Obj) =>
  isString(v["id"]) && isString(v["object"]) && typeof v["created"] === "number" && isString(v["model"]);

const reasoningObject = nullishOr((r) => isObj(r) && isString(r["content"]));
/** No reasoning for the provider layer to lift: `reasoning_content`, or `reasoning` as a bare string. */
const noReasoningToLift = (m: Obj) => !("reasoning_content" in m) && reasoningObject(m["reasoning"]);

const isCanonicalToolCall: Check = (t) => {
  if (!isObj(t) || !isString(t["id"]) || !isString(t["type"])) return false;
  const f = t["function"];
  return isObj(f) && isString(f["name"]) && isString(f["arguments"]);
};

const toolCalls = nullishOr(listOf(isCanonicalToolCall));

const isCanonicalMessage: Check = (m) =>
  isObj(m) &&
  isString(m["role"]) &&
  presentString(m["content"]) &&
  presentString(m["refusal"]) &&
  noReasoningToLift(m) &&
  toolCalls(m["tool_calls"]);

const isCanonicalChoice: Check = (c) =>
  isObj(c) &&
  Number.isSafeInteger(c["index"]) &&
  optString(c["finish_reason"]) &&
  present(c["logprobs"]) &&
  isCanonicalMessage(c["message"]);
const choices = listOf(isCanonicalChoice);

/**
 * chatCompletionSchema + normalizeCompletion would return `v` unchanged. `usage` must be present (an object or
 * null): without it the provider layer looks for Groq's `x_groq.usage` and writes `usage` itself.
 */
export function isCanonicalCompletion(v: unknown): boolean {
  if (!isObj(v) || !hasCompletionHead(v)) return false;
  const usage = v["usage"];
  if (usage === undefined || (usage === null && "x_groq" in v) || !isCanonicalOpenAIUsage(usage)) return false;
  return choices(v["choices"]);
}

const functionDelta = nullishOr((f) => isObj(f) && optString(f["name"]) && optString(f["arguments"]));
const isCanonicalToolCallDelta: Check = (t) =>
  isObj(t) &&
  Number.isSafeInteger(t["index"]) &&
  optString(t["id"]) &&
  optString(t["type"]) &&
  functionDelta(t["function"]);
const toolCallDeltas = nullishOr(listOf(isCanonicalToolCallDelta));

const isCanonicalDelta: Check = (d) =>
  isObj(d) &&
  optString(d["role"]) &&
  optString(d["content"]) &&
  noReasoningToLift(d) &&
  toolCallDeltas(d["tool_calls"]);

const isCanonicalChunkChoice: Check = (c) =>
  isObj(c) && Number.isSafeInteger(c["index"]) && presentString(c["finish_reason"]) && isCanonicalDelta(c["delta"]);
const chunkChoices = listOf(isCanonicalChunkChoice);

/** chatChunkSchema + the provider layer's chunk normalisation would return `v` unchanged (see isCanonicalCompletion). */
export function isCanonicalChunk(v: unknown): boolean {
  if (!isObj(v) || !hasCompletionHead(v)) return false;
  const usage = v["usage"];
  if (nullish(usage) && "x_groq" in v) return false;
  return isCanonicalOpenAIUsage(usage) && chunkChoices(v["choices"]);
}

const imageUrl = absentOr((i) => isObj(i) && isString(i["url"]) && absentOrString(i["detail"]));
const isCanonicalPart: Check = (p) =>
  isObj(p) && isString(p["type"]) && absentOrString(p["text"]) && imageUrl(p["image_url"]);
const parts = listOf(isCanonicalPart);
const requestContent = nullishOr((c) => isString(c) || parts(c));

const isCanonicalRequestMessage: Check = (m) =>
  isObj(m) &&
  isString(m["role"]) &&
  absentOrString(m["name"]) &&
  absentOrString(m["tool_call_id"]) &&
  requestContent(m["content"]) &&
  toolCalls(m["tool_calls"]);

const toolFunction = absentOr((f) => isObj(f) && isString(f["name"]) && absentOrString(f["description"]));
const isCanonicalTool: Check = (t) => isObj(t) && isString(t["type"]) && toolFunction(t["function"]);
const tools = nullishOr(listOf(isCanonicalTool));

const namedFunction = absentOr((f) => isObj(f) && isString(f["name"]));
const isCanonicalToolChoice = nullishOr(
  (c) => isString(c) || (isObj(c) && isString(c["type"]) && namedFunction(c["function"])),
);

const jsonSchema = absentOr((s) => isObj(s) && absentOrString(s["name"]) && absentOrString(s["description"]));
const isCanonicalResponseFormat = nullishOr((r) => isObj(r) && isString(r["type"]) && jsonSchema(r["json_schema"]));

const includeUsage = absentOr((u) => typeof u === "boolean");
const isCanonicalStreamOptions = nullishOr((o) => isObj(o) && includeUsage(o["include_usage"]));
const isCanonicalStop = nullishOr((s) => isString(s) || listOf(isString)(s));
const isCanonicalToolsHeader = nullishOr((h) => typeof h === "string" && h.length <= 4000);
const isCanonicalIterations = nullishOr((n) => Number.isSafeInteger(n) && (n as number) >= 1 && (n as number) <= 25);
/** A request number: zod's z.number() refuses Infinity, so the fast accept must too. */
const optFinite = nullishOr(Number.isFinite);

/**
 * The chat request body schema (routes' chatBody) would return `v` unchanged. Bodies naming gateway tool servers
 * (`mcp_servers`, `mcp_server_ids`) always take the schema: their validation is richer and they are rare.
 */
export function isCanonicalChatRequest(v: unknown): boolean {
  if (!isObj(v) || !isString(v["model"]) || (v["model"] as string).length > MAX_MODEL_NAME_LENGTH) return false;
  const messages = v["messages"];
  return (
    Array.isArray(messages) &&
    messages.length > 0 &&
    messages.every(isCanonicalRequestMessage) &&
    isCanonicalStreamOptions(v["stream_options"]) &&
    isCanonicalStop(v["stop"]) &&
    tools(v["tools"]) &&
    optBool(v["stream"]) &&
    optFinite(v["temperature"]) &&
    optFinite(v["top_p"]) &&
    optInt(v["max_tokens"]) &&
    optInt(v["max_completion_tokens"]) &&
    optInt(v["n"]) &&
    optInt(v["seed"]) &&
    isCanonicalToolChoice(v["tool_choice"]) &&
    optBool(v["parallel_tool_calls"]) &&
    isCanonicalResponseFormat(v["response_format"]) &&
    optString(v["reasoning_effort"]) &&
    optString(v["user"]) &&
    nullish(v["mcp_servers"]) &&
    nullish(v["mcp_server_ids"]) &&
    isCanonicalToolsHeader(v["tools_header"]) &&
    isCanonicalIterations(v["max_tool_iterations"])
  );
}
