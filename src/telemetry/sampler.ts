/**
 * The OpenTelemetry SDK's built-in samplers, as `OTEL_TRACES_SAMPLER` names them. TraceIdRatioBased decides from
 * the trace id alone, so every replica (and every other service using the same rule) keeps or drops the same traces:
 * the rightmost 56 bits of the id are read as a random number R and the trace is kept when R >= (1 - ratio) * 2^56,
 * which is the threshold rule of the current SDK specification. A ratio kept at 0.1 is then also kept at 0.2.
 */
import type { TraceId } from "./ids";
import { FLAG_SAMPLED, type SpanContext } from "./trace-context";

export const SAMPLER_NAMES = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;
export type SamplerName = (typeof SAMPLER_NAMES)[number];

export interface Sampler {
  /** `parent` is the valid parent context, or null for a root span. */
  shouldSample(trace: TraceId, parent: SpanContext | null): boolean;
  /** e.g. `ParentBased{root=TraceIdRatioBased{0.25}}`, for start-up logs. */
  readonly description: string;
}

const alwaysOn: Sampler = { shouldSample: () => true, description: "AlwaysOnSampler" };
const alwaysOff: Sampler = { shouldSample: () => false, description: "AlwaysOffSampler" };

/** Keeps `ratio` (0..1) of traces, decided by the trace id. */
export function traceIdRatioSampler(ratio: number): Sampler {
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`sampler ratio must be within 0..1, got ${ratio}`);
  // The threshold needs 56 bits, beyond a double's exact integers: compared as a high 24-bit and a low 32-bit half.
  const threshold = BigInt(Math.round((1 - ratio) * 2 ** 56));
  const high = Number(threshold >> 32n);
  const low = Number(threshold & 0xffffffffn);
  return {
    shouldSample(trace) {
      const r1 = trace.w2 & 0xffffff;
      const r0 = trace.w3 >>> 0;
      return r1 > high || (r1 === high && r0 >= low);
    },
    description: `TraceIdRatioBased{${ratio}}`,
  };
}

/** Follows a parent's `sampled` flag; asks `root` only for spans without a parent. */
export function parentBasedSampler(root: Sampler): Sampler {
  return {
    shouldSample: (trace, parent) => (parent ? (parent.flags & FLAG_SAMPLED) !== 0 : root.shouldSample(trace, null)),
    description: `ParentBased{root=${root.description}}`,
  };
}

/** The sampler `OTEL_TRACES_SAMPLER` names; `arg` is `OTEL_TRACES_SAMPLER_ARG` (the ratio, default 1). */
export function createSampler(name: SamplerName, arg: number | null | undefined): Sampler {
  const ratio = arg ?? 1;
  switch (name) {
    case "always_on":
      return alwaysOn;
    case "always_off":
      return alwaysOff;
    case "traceidratio":
      return traceIdRatioSampler(ratio);
    case "parentbased_always_on":
      return parentBasedSampler(alwaysOn);
    case "parentbased_always_off":
      return parentBasedSampler(alwaysOff);
    case "parentbased_traceidratio":
      return parentBasedSampler(traceIdRatioSampler(ratio));
  }
}
