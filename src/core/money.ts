/** Money is integer micro-dollars (µ$) at rest and USD numbers on the wire (SPEC §7.1). */

export const MICROS_PER_USD = 1_000_000;

/** USD number -> µ$, parsed as a decimal string and rounded half-up to 6 places (no float drift). */
export function usdToMicros(usd: number): number {
  if (!Number.isFinite(usd)) throw new RangeError(`not a finite amount: ${usd}`);
  const negative = usd < 0;
  const text = Math.abs(usd).toFixed(20).replace(/0+$/, "");
  const [whole = "0", frac = ""] = text.split(".");
  const padded = (frac + "0000000").slice(0, 7);
  let micros = Number(whole) * MICROS_PER_USD + Number(padded.slice(0, 6));
  if (Number(padded[6]) >= 5) micros += 1;
  return negative ? -micros : micros;
}

export function microsToUsd(micros: number): number {
  return micros / MICROS_PER_USD;
}

/**
 * Cost in µ$ of a call: round_half_up((prompt × input_rate + completion × output_rate) / 1e6), with rates
 * in µ$ per million tokens, in exact integer arithmetic (SPEC §7.2).
 */
export function costMicros(promptTokens: number, completionTokens: number, inputRate: number, outputRate: number): number {
  // Every request runs this: plain numbers are exact while the sum stays a safe integer (it always does for real
  // token counts and rates), and BigInt covers the rest.
  const n = promptTokens * inputRate + completionTokens * outputRate + 500_000;
  if (Number.isSafeInteger(n) && n >= 0) return (n - (n % 1_000_000)) / 1_000_000;
  const total = BigInt(promptTokens) * BigInt(inputRate) + BigInt(completionTokens) * BigInt(outputRate);
  return Number((total + 500_000n) / 1_000_000n);
}
