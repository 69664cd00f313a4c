/**
 * Upstream JSON bodies that reach the client unchanged, mapped to their exact upstream text, so the relay sends
 * those bytes instead of serialising the object again. Only the provider layer records a body, and only when a
 * canonical check (canonical.ts) proved the parsed text needs no change; a body replaced later (translated,
 * usage summed) is a new object with no text. Recorded bodies are never mutated.
 */
const texts = new WeakMap<object, string>();

export function recordRawText(body: object, text: string): void {
  texts.set(body, text);
}

/** The upstream text of `body`, when it is a recorded body. */
export function rawTextOf(body: unknown): string | undefined {
  return typeof body === "object" && body !== null ? texts.get(body) : undefined;
}
