import { describe, expect, test } from "bun:test";
import { dueReset, windowOnAssign } from "./budget-period";

describe("budget periods", () => {
  const start = new Date("2026-01-01T00:00:00Z");
  test("no reset before the window ends", () => {
    expect(dueReset(new Date(start.getTime() + 60_000), 60, new Date(start.getTime() + 59_999))).toBeNull();
  });
  test("150 s idle on a 60 s budget moves the window by 120 s, anchored", () => {
    const next = new Date(start.getTime() + 60_000);
    const r = dueReset(next, 60, new Date(start.getTime() + 150_000));
    expect(r?.nextResetAt.getTime()).toBe(next.getTime() + 120_000);
    expect(r?.startedAt.getTime()).toBe(next.getTime() + 60_000);
  });
  test("exactly at the boundary resets once", () => {
    const next = new Date(start.getTime() + 60_000);
    expect(dueReset(next, 60, next)?.nextResetAt.getTime()).toBe(next.getTime() + 60_000);
  });
  test("budgets without a duration never reset", () => {
    expect(dueReset(null, null, new Date())).toBeNull();
    expect(windowOnAssign(null, start).nextResetAt).toBeNull();
    expect(windowOnAssign(3600, start).nextResetAt?.getTime()).toBe(start.getTime() + 3_600_000);
  });
});
