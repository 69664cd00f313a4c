/**
 * Canonical wire types: OpenAI Chat Completions is the internal form
 * (docs/behaviour/providers.md#canonical-form-and-usage).
 */
export * from "./anthropic.ts";
export * from "./audio.ts";
export * from "./chat.ts";
export * from "./embeddings.ts";
export * from "./images.ts";
export * from "./model-name.ts";
export * from "./rerank.ts";
export * from "./responses.ts";
export * from "./usage.ts";
export * from "./batches.ts";
