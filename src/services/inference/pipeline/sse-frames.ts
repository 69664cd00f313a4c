/** Server-sent event frames as the gateway writes them to clients (the readers of upstream streams are the providers'). */

/** `data: <json>\n\n` (OpenAI chat framing). */
export const sseData = (payload: unknown): string => `data: ${JSON.stringify(payload)}\n\n`;

/** `event: <name>\ndata: <json>\n\n` (Anthropic and Responses framing, docs/behaviour/streaming.md#wire-formats). */
export const sseEvent = (name: string, payload: unknown): string =>
  `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;

/** The chat stream terminator. */
export const SSE_DONE = "data: [DONE]\n\n";

/** A comment line, used for keepalives (docs/behaviour/streaming.md#keepalives). */
export const sseComment = (text: string): string => `: ${text}\n\n`;
