import { GatewayError } from "../../../core/errors.ts";
import {
  type ChatChoice,
  type ChatCompletion,
  type NormalizedUsage,
  type ToolCall,
  emptyUsage,
  toOpenAIUsage,
} from "../../../core/wire/index.ts";
import { ProviderFailure } from "../errors.ts";
import { SIGNATURE_SEPARATOR } from "./request.ts";
import type { GeminiPart, GeminiResponse, GeminiUsage } from "./schema.ts";

/**
 * GenerateContentResponse -> canonical (docs/behaviour/providers.md#gemini;
 * https://ai.google.dev/api/generate-content#v1beta.Candidate).
 */

/** Finish reasons that mean a safety or policy filter stopped the answer (FinishReason enum). */
const FILTERED = new Set(["SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"]);

export function finishReasonFromGemini(reason: string | undefined, hasToolCalls: boolean): string | null {
  if (!reason || reason === "FINISH_REASON_UNSPECIFIED") return null;
  if (reason === "MAX_TOKENS") return "length";
  if (FILTERED.has(reason)) return "content_filter";
  return hasToolCalls ? "tool_calls" : "stop";
}

const n = (v: number | undefined): number | null => (typeof v === "number" ? v : null);

/**
 * promptTokenCount already includes cachedContentTokenCount; completion = candidates + thoughts
 * (https://ai.google.dev/api/generate-content#UsageMetadata).
 */
export function fromGeminiUsage(u: GeminiUsage | undefined): NormalizedUsage {
  if (!u) return emptyUsage();
  const candidates = n(u.candidatesTokenCount);
  const thoughts = n(u.thoughtsTokenCount);
  const completion = candidates === null && thoughts === null ? null : (candidates ?? 0) + (thoughts ?? 0);
  const prompt = n(u.promptTokenCount);
  return {
    promptTokens: prompt,
    completionTokens: completion,
    totalTokens:
      n(u.totalTokenCount) ?? (prompt !== null || completion !== null ? (prompt ?? 0) + (completion ?? 0) : null),
    cacheReadTokens: n(u.cachedContentTokenCount),
    cacheWriteTokens: null,
    reasoningTokens: thoughts,
  };
}

export const mintId = (prefix: string): string => `${prefix}${crypto.randomUUID().replace(/-/g, "").slice(0, 24)}`;

/** Gemini has no tool-call ids: one is minted, carrying the part's thought signature when there is one. */
export function toolCallOf(part: GeminiPart): ToolCall | null {
  if (!part.functionCall) return null;
  const id = mintId("call_") + (part.thoughtSignature ? SIGNATURE_SEPARATOR + part.thoughtSignature : "");
  return {
    id,
    type: "function",
    function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) },
  };
}

/**
 * A prompt blocked before any candidate (promptFeedback.blockReason, no candidates) is the client's request
 * being refused: 400 invalid_request_error (docs/behaviour/providers.md#gemini).
 */
export function blockedPromptError(res: GeminiResponse): GatewayError | null {
  const reason = res.promptFeedback?.blockReason;
  if (!reason || (res.candidates?.length ?? 0) > 0) return null;
  const detail = res.promptFeedback?.blockReasonMessage;
  return new GatewayError(
    400,
    `The provider blocked the prompt (blockReason: ${reason})${detail ? `: ${detail}` : ""}`,
    {
      code: "invalid_request",
      cause: new ProviderFailure(`prompt blocked: ${reason}`, 200),
    },
  );
}

export function fromGeminiResponse(
  res: GeminiResponse,
  requestedModel: string,
): { body: ChatCompletion; usage: NormalizedUsage } {
  const blocked = blockedPromptError(res);
  if (blocked) throw blocked;
  const choices: ChatChoice[] = (res.candidates ?? []).map((c, i) => {
    let text = "";
    let reasoning = "";
    const toolCalls: ToolCall[] = [];
    for (const part of c.content?.parts ?? []) {
      const call = toolCallOf(part);
      if (call) toolCalls.push(call);
      else if (part.thought) reasoning += part.text ?? "";
      else text += part.text ?? "";
    }
    const message: ChatChoice["message"] = {
      role: "assistant",
      content: text || (toolCalls.length > 0 ? null : ""),
      refusal: null,
    };
    if (toolCalls.length > 0) message.tool_calls = toolCalls;
    if (reasoning) message.reasoning = { content: reasoning };
    return {
      index: c.index ?? i,
      message,
      finish_reason: finishReasonFromGemini(c.finishReason, toolCalls.length > 0) ?? "stop",
      logprobs: null,
    };
  });
  const usage = fromGeminiUsage(res.usageMetadata);
  return {
    body: {
      id: res.responseId ?? mintId("chatcmpl-"),
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: res.modelVersion ?? requestedModel,
      choices,
      usage: toOpenAIUsage(usage),
    },
    usage,
  };
}
