import { describe, expect, test } from "bun:test";
import { closeSync, openSync } from "node:fs";
import { openDescriptors } from "./connection-guard";

describe("openDescriptors", () => {
  test("counts the descriptors the process opens and closes", () => {
    const before = openDescriptors();
    if (before === null) return; // not Linux: the guard is off there
    const fds = Array.from({ length: 300 }, () => openSync("/dev/null", "r"));
    try {
      expect(openDescriptors()).toBe(before + 300);
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    expect(openDescriptors()).toBe(before);
  });
});
