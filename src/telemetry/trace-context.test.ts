import { describe, expect, test } from "bun:test";
import { formatTraceparent, parseTraceparent, parseTracestate } from "./trace-context";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";

describe("traceparent", () => {
  test("version 00 is read: ids, flags, remote", () => {
    const parsed = parseTraceparent(`00-${TRACE}-${SPAN}-01`);
    expect(parsed).toMatchObject({ traceId: TRACE, spanId: SPAN, flags: 1, traceState: null, remote: true });
    // The ids' words, read once: the encoder writes their bytes, formatTraceparent their hex.
    expect(parsed).toMatchObject({ spanHi: 0x00f067aa, spanLo: 0x0ba902b7 });
    expect([parsed!.trace.w0, parsed!.trace.w1, parsed!.trace.w2, parsed!.trace.w3]).toEqual([
      0x4bf92f35,
      0x77b34da6,
      0xa3ce929d | 0,
      0x0e0e4736,
    ]);
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.flags).toBe(0);
    // Surrounding whitespace is optional whitespace of the header, not part of the value.
    expect(parseTraceparent(` 00-${TRACE}-${SPAN}-01 `)?.traceId).toBe(TRACE);
  });

  test.each([
    ["absent", null],
    ["empty", ""],
    ["uppercase hex", `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ["all-zero trace id", `00-${"0".repeat(32)}-${SPAN}-01`],
    ["all-zero parent id", `00-${TRACE}-${"0".repeat(16)}-01`],
    ["short trace id", `00-${TRACE.slice(1)}-${SPAN}-01`],
    ["version ff", `ff-${TRACE}-${SPAN}-01`],
    ["version 00 with a suffix", `00-${TRACE}-${SPAN}-01-extra`],
    ["non-hex flags", `00-${TRACE}-${SPAN}-0x`],
    ["two headers joined by the Fetch API", `00-${TRACE}-${SPAN}-01, 00-${TRACE}-${SPAN}-01`],
    ["garbage", "not a traceparent"],
  ])("invalid (%s) is ignored", (_, header) => {
    expect(parseTraceparent(header)).toBeNull();
  });

  test("a later version is read as far as version 00 defines it", () => {
    expect(parseTraceparent(`cc-${TRACE}-${SPAN}-01-what-the-future-adds`)?.spanId).toBe(SPAN);
    expect(parseTraceparent(`cc-${TRACE}-${SPAN}-01`)?.traceId).toBe(TRACE);
    expect(parseTraceparent(`cc-${TRACE}-${SPAN}-01x`)).toBeNull();
  });

  test("tracestate rides along only with a valid traceparent", () => {
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01`, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")?.traceState).toBe(
      "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
    );
    expect(parseTraceparent(`00-${TRACE.toUpperCase()}-${SPAN}-01`, "rojo=1")).toBeNull();
  });

  test("formatted for an upstream: version 00, only the sampled flag", () => {
    const parsed = parseTraceparent(`00-${TRACE}-${SPAN}-01`)!;
    expect(formatTraceparent(parsed)).toBe(`00-${TRACE}-${SPAN}-01`);
    expect(formatTraceparent({ ...parsed, flags: 0x02 })).toBe(`00-${TRACE}-${SPAN}-00`);
    const high = parseTraceparent(`00-${"f".repeat(32)}-${"8".repeat(16)}-01`)!;
    expect(formatTraceparent(high)).toBe(`00-${"f".repeat(32)}-${"8".repeat(16)}-01`);
  });
});

describe("tracestate", () => {
  test("valid lists are kept in canonical form, empty members dropped", () => {
    expect(parseTracestate("rojo=00f067aa0ba902b7")).toBe("rojo=00f067aa0ba902b7");
    expect(parseTracestate(" rojo=1 ,, congo=2 ")).toBe("rojo=1,congo=2");
    expect(parseTracestate("tenant1@vendor=x,a_b-c*d/e=y")).toBe("tenant1@vendor=x,a_b-c*d/e=y");
    expect(parseTracestate("k=value with spaces")).toBe("k=value with spaces");
  });

  test.each([
    ["absent", null],
    ["only separators", " , ,"],
    ["uppercase key", "Rojo=1"],
    ["no value", "rojo="],
    ["no =", "rojo"],
    ["value with =", "rojo=a=b"],
    ["control character in a value", "rojo=a\u0001b"],
    ["duplicate key", "rojo=1,rojo=2"],
    ["non-ASCII value", "rojo=é"],
  ])("invalid (%s) is dropped whole", (_, header) => {
    expect(parseTracestate(header)).toBeNull();
  });

  test("at most 32 members", () => {
    const members = (n: number) => Array.from({ length: n }, (_, i) => `k${i}=v`).join(",");
    expect(parseTracestate(members(32))).toBe(members(32));
    expect(parseTracestate(members(33))).toBeNull();
  });
});
