import { describe, expect, test } from "bun:test";
import { newTraceId, traceIdFromHex } from "./ids";
import { createSampler, traceIdRatioSampler } from "./sampler";
import { parseTraceparent, type SpanContext } from "./trace-context";

const parent = (sampled: boolean, remote = true): SpanContext => ({
  ...(parseTraceparent(`00-${"a".repeat(32)}-${"b".repeat(16)}-0${sampled ? 1 : 0}`) as SpanContext),
  remote,
});

describe("samplers", () => {
  test("always_on and always_off ignore the parent", () => {
    expect(createSampler("always_on", null).shouldSample(newTraceId(), parent(false))).toBe(true);
    expect(createSampler("always_off", null).shouldSample(newTraceId(), parent(true))).toBe(false);
  });

  test("parent-based samplers follow the parent's sampled flag and ask the root sampler only for roots", () => {
    for (const name of ["parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"] as const) {
      const s = createSampler(name, 0.5);
      expect(s.shouldSample(newTraceId(), parent(true))).toBe(true);
      expect(s.shouldSample(newTraceId(), parent(false))).toBe(false);
      expect(s.shouldSample(newTraceId(), parent(true, false))).toBe(true);
    }
    expect(createSampler("parentbased_always_on", null).shouldSample(newTraceId(), null)).toBe(true);
    expect(createSampler("parentbased_always_off", null).shouldSample(newTraceId(), null)).toBe(false);
    expect(createSampler("parentbased_traceidratio", 0.25).description).toBe(
      "ParentBased{root=TraceIdRatioBased{0.25}}",
    );
  });

  test("traceidratio decides from the trace id's rightmost 56 bits: deterministic, the same on every replica", () => {
    const s = traceIdRatioSampler(0.5);
    // R = 0x80000000000000 is exactly the 0.5 threshold: kept; one below it: dropped. The leftmost 9 bytes do not count.
    expect(s.shouldSample(traceIdFromHex(`${"f".repeat(18)}80000000000000`), null)).toBe(true);
    expect(s.shouldSample(traceIdFromHex(`${"0".repeat(18)}80000000000000`), null)).toBe(true);
    expect(s.shouldSample(traceIdFromHex(`${"f".repeat(18)}7fffffffffffff`), null)).toBe(false);
    expect(s.shouldSample(traceIdFromHex(`${"0".repeat(18)}ffffffffffffff`), null)).toBe(true);
    expect(s.shouldSample(traceIdFromHex(`${"f".repeat(18)}00000000000000`), null)).toBe(false);
    const other = traceIdRatioSampler(0.5);
    for (let i = 0; i < 200; i++) {
      const id = newTraceId();
      expect(other.shouldSample(id, null)).toBe(s.shouldSample(id, null));
    }
  });

  test("traceidratio is monotonic: what a ratio keeps, a larger ratio keeps too", () => {
    const low = traceIdRatioSampler(0.1);
    const high = traceIdRatioSampler(0.3);
    for (let i = 0; i < 2000; i++) {
      const id = newTraceId();
      if (low.shouldSample(id, null)) expect(high.shouldSample(id, null)).toBe(true);
    }
  });

  test("traceidratio keeps the configured share of random traces (binomial bound, 6 sigma)", () => {
    const n = 20_000;
    for (const ratio of [0, 0.01, 0.25, 0.5, 1]) {
      const s = createSampler("traceidratio", ratio);
      let kept = 0;
      for (let i = 0; i < n; i++) if (s.shouldSample(newTraceId(), null)) kept++;
      const sigma = Math.sqrt(n * ratio * (1 - ratio));
      expect(Math.abs(kept - n * ratio)).toBeLessThanOrEqual(6 * sigma);
    }
  });

  test("an out-of-range ratio is refused; no argument means 1.0", () => {
    expect(() => traceIdRatioSampler(1.5)).toThrow(RangeError);
    expect(() => traceIdRatioSampler(Number.NaN)).toThrow(RangeError);
    expect(createSampler("traceidratio", null).description).toBe("TraceIdRatioBased{1}");
  });
});
