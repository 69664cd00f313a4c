/** Money is integer micro-dollars (µ$) at rest and USD numbers on the wire (docs/behaviour/storage.md#tables). */

export const MICROS_PER_USD = 1_000_000;

/**
 * USD number -> µ$, rounded half-up (away from zero) to 6 places on the number's shortest decimal form, the one
 * JSON and Python print (0.0000005 is 5e-7, not the binary 4.99999…e-7), so amounts that were written as decimals,
 * or kept as floats by otari, land on the micro-dollar they denote.
 */
export function usdToMicros(usd: number): number {
  if (!Number.isFinite(usd)) throw new RangeError(`not a finite amount: ${usd}`);
  const [mantissa = "0", exp = "0"] = String(Math.abs(usd)).split("e");
  const [whole = "0", frac = ""] = mantissa.split(".");
  // Shift the decimal point by the exponent: digits, and where the integer part ends.
  const digits = whole + frac;
  const point = whole.length + Number(exp);
  const padded = point < 0 ? "0".repeat(-point) + digits : digits;
  const at = Math.max(point, 0);
  const intPart = padded.slice(0, at).padEnd(at, "0") || "0";
  const fraction = `${padded.slice(at)}0000000`;
  let micros = Number(intPart) * MICROS_PER_USD + Number(fraction.slice(0, 6));
  if (fraction.charCodeAt(6) >= 53) micros += 1; // 7th decimal >= '5'
  return usd < 0 ? -micros : micros;
}

export function microsToUsd(micros: number): number {
  return micros / MICROS_PER_USD;
}

/**
 * Cost in µ$ of a call: round_half_up((prompt × input_rate + completion × output_rate) / 1e6), with rates
 * in µ$ per million tokens, in exact integer arithmetic (docs/behaviour/storage.md#pricing).
 */
export function costMicros(
  promptTokens: number,
  completionTokens: number,
  inputRate: number,
  outputRate: number,
): number {
  // Every request runs this: plain numbers are exact while the sum stays a safe integer (it always does for real
  // token counts and rates), and BigInt covers the rest.
  const n = promptTokens * inputRate + completionTokens * outputRate + 500_000;
  if (Number.isSafeInteger(n) && n >= 0) return (n - (n % 1_000_000)) / 1_000_000;
  const total = BigInt(promptTokens) * BigInt(inputRate) + BigInt(completionTokens) * BigInt(outputRate);
  return Number((total + 500_000n) / 1_000_000n);
}
