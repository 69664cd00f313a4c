/**
 * The reservation estimate (SPEC §7.3 item 1): cheap on purpose, it runs on every request. Prompt tokens ≈
 * ceil(characters of the JSON-serialised prompt parts / 4); output = the request's own cap or the default.
 */
export function estimateTokens(promptParts: unknown[], outputCap: number | null | undefined, defaultOutput: number): { promptTokens: number; outputTokens: number } {
  let chars = 0;
  for (const part of promptParts) {
    if (part === undefined || part === null) continue;
    chars += typeof part === "string" ? part.length : JSON.stringify(part).length;
  }
  return { promptTokens: Math.ceil(chars / 4), outputTokens: outputCap && outputCap > 0 ? outputCap : defaultOutput };
}
