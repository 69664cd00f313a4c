/**
 * The reservation estimate (docs/behaviour/storage.md#estimate): cheap on purpose, it runs on every request. Prompt
 * tokens ≈ ceil(characters of the JSON-serialised prompt parts / 4); output = the request's own cap or the default,
 * once per completion the request asks for (`choices`: chat's `n`, where the prompt is billed once and every choice
 * writes up to the cap).
 */
import type { UnitQuantities } from "../../core/schemas/pricing";

/** Tokens a request is expected to use (the reservation's basis), and quantities of other units where it has them. */
export interface Estimate {
  promptTokens: number;
  outputTokens: number;
  /** For models priced in a unit other than tokens (docs/behaviour/storage.md#units). */
  units?: UnitQuantities;
}

export function estimateTokens(
  promptParts: unknown[],
  outputCap: number | null | undefined,
  defaultOutput: number,
  choices: number | null | undefined = 1,
): Estimate {
  let chars = 0;
  for (const part of promptParts) {
    if (part === undefined || part === null) continue;
    chars += typeof part === "string" ? part.length : JSON.stringify(part).length;
  }
  const perChoice = outputCap && outputCap > 0 ? outputCap : defaultOutput;
  return { promptTokens: Math.ceil(chars / 4), outputTokens: perChoice * (choices && choices > 1 ? choices : 1) };
}
