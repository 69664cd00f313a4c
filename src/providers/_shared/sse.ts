/**
 * Server-sent events: an incremental reader (WHATWG framing: LF, CR or CRLF line ends, `:` comments,
 * multi-line `data:`, events split across network chunks) and the writer helpers the HTTP layer frames with.
 */

export interface SseEvent {
  /** The `event:` field, or null when absent (OpenAI chat streams). */
  event: string | null;
  /** `data:` lines joined with "\n". */
  data: string;
}

const LINE_END = /\r\n|\r|\n/g;

/**
 * Yields each event as soon as its blank line arrives. An event pending at end of body is yielded too: some
 * servers omit the last blank line, and a truncated JSON payload then fails at the caller's parse instead.
 */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  let event: string | null = null;
  let data: string[] = [];
  let hasData = false;

  function* takeLine(line: string): Generator<SseEvent> {
    if (line === "") {
      if (hasData) yield { event, data: data.join("\n") };
      event = null;
      data = [];
      hasData = false;
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") {
      data.push(value);
      hasData = true;
    } else if (field === "event") {
      event = value;
    }
    // `id` and `retry` are irrelevant to a one-shot proxy read
  }

  for await (const bytes of body) {
    buffer += decoder.decode(bytes, { stream: true });
    let start = 0;
    LINE_END.lastIndex = 0;
    for (let m = LINE_END.exec(buffer); m !== null; m = LINE_END.exec(buffer)) {
      // A lone CR at the very end may be the first half of a CRLF split across chunks: wait for more.
      if (m[0] === "\r" && m.index === buffer.length - 1) break;
      yield* takeLine(buffer.slice(start, m.index));
      start = m.index + m[0].length;
    }
    buffer = buffer.slice(start);
  }
  buffer += decoder.decode();
  for (const line of buffer.split(LINE_END)) yield* takeLine(line);
  yield* takeLine("");
}

/** `data: <json>\n\n` (OpenAI chat framing). */
export const sseData = (payload: unknown): string => `data: ${JSON.stringify(payload)}\n\n`;

/** `event: <name>\ndata: <json>\n\n` (Anthropic and Responses framing, SPEC §6.1). */
export const sseEvent = (name: string, payload: unknown): string => `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;

/** The chat stream terminator. */
export const SSE_DONE = "data: [DONE]\n\n";

/** A comment line, used for keepalives (SPEC §6.4). */
export const sseComment = (text: string): string => `: ${text}\n\n`;
