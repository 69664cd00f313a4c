import { oversizedError } from "./errors.ts";

/**
 * JSON Lines (a batch's result file): each non-empty line as soon as its newline arrives, the last one at the end of
 * the body even without a newline. A line longer than `maxLineBytes` (in decoded characters) fails with a 502
 * before more of it is held.
 */
export async function* readLines(body: AsyncIterable<Uint8Array>, maxLineBytes: number): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let end = pending.indexOf("\n"); end >= 0; end = pending.indexOf("\n", start)) {
      const line = pending.slice(start, end).trim();
      start = end + 1;
      if (line) yield line;
    }
    pending = pending.slice(start);
    if (pending.length > maxLineBytes) throw oversizedError("inference", "stream event", maxLineBytes);
  }
  const last = (pending + decoder.decode()).trim();
  if (last) yield last;
}
