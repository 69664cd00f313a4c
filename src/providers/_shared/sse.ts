/**
 * Server-sent events: an incremental reader (WHATWG framing: LF, CR or CRLF line ends, `:` comments,
 * multi-line `data:`, events split across network chunks). The frames written to clients are the inference
 * pipeline's (src/services/inference/pipeline/sse-frames.ts).
 */
import { oversizedError } from "./errors.ts";

export interface SseEvent {
  /** The `event:` field, or null when absent (OpenAI chat streams). */
  event: string | null;
  /** `data:` lines joined with "\n". */
  data: string;
}

const LINE_END = /\r\n|\r|\n/;

/**
 * Yields each event as soon as its blank line arrives. An event pending at end of body is yielded too: some
 * servers omit the last blank line, and a truncated JSON payload then fails at the caller's parse instead.
 * A line, or an event's data, longer than `maxEventBytes` (counted in decoded characters) fails the stream with a 502
 * before more of it is held; each chunk is scanned for line ends once, so a long line costs linear time.
 */
export async function* readSse(
  body: AsyncIterable<Uint8Array>,
  maxEventBytes = Number.POSITIVE_INFINITY,
): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  // One matcher per stream: a shared global regex's lastIndex would be moved by other streams between our yields.
  const lineEnd = new RegExp(LINE_END, "g");
  let event: string | null = null;
  let data: string[] = [];
  let dataChars = 0;
  let hasData = false;

  function* takeLine(line: string): Generator<SseEvent> {
    if (line === "") {
      if (hasData) yield { event, data: data.join("\n") };
      event = null;
      data = [];
      dataChars = 0;
      hasData = false;
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") {
      dataChars += value.length + 1;
      if (dataChars > maxEventBytes) throw oversizedError("inference", "stream event", maxEventBytes);
      data.push(value);
      hasData = true;
    } else if (field === "event") {
      event = value;
    }
    // `id` and `retry` are irrelevant to a one-shot proxy read
  }

  // The unfinished line: pieces that arrived with no line end in them (the last may end in a lone CR). Kept apart
  // and joined once a line end arrives, so a long line costs linear time however many chunks bring it.
  let pending: string[] = [];
  let pendingChars = 0;
  let crAtEnd = false;
  for await (const bytes of body) {
    const text = decoder.decode(bytes, { stream: true });
    if (!crAtEnd && text.search(LINE_END) === -1) {
      pending.push(text);
      pendingChars += text.length;
      if (pendingChars > maxEventBytes) throw oversizedError("inference", "stream event", maxEventBytes);
      continue;
    }
    const buffer = pending.length === 0 ? text : pending.join("") + text;
    let start = 0;
    // Only the new text can hold a line end (or complete a CRLF): scanning starts there.
    lineEnd.lastIndex = Math.max(0, pendingChars - 1);
    for (let m = lineEnd.exec(buffer); m !== null; m = lineEnd.exec(buffer)) {
      // A lone CR at the very end may be the first half of a CRLF split across chunks: wait for more.
      if (m[0] === "\r" && m.index === buffer.length - 1) break;
      yield* takeLine(buffer.slice(start, m.index));
      start = m.index + m[0].length;
    }
    const rest = buffer.slice(start);
    pending = rest === "" ? [] : [rest];
    pendingChars = rest.length;
    crAtEnd = rest.endsWith("\r");
    if (pendingChars > maxEventBytes) throw oversizedError("inference", "stream event", maxEventBytes);
  }
  const tail = pending.join("") + decoder.decode();
  for (const line of tail.split(LINE_END)) yield* takeLine(line);
  yield* takeLine("");
}
