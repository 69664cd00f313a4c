import { describe, expect, test } from "bun:test";
import { MAX_TOOL_NAME_LENGTH, offeredNames } from "./names";

/** The names every supported provider accepts. */
const PORTABLE = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

describe("offeredNames", () => {
  test("`<server>__<tool>`, kept as written when already portable", () => {
    expect(
      offeredNames([
        { server: "github", tool: "search_issues" },
        { server: "docs", tool: "search" },
      ]),
    ).toEqual(["github__search_issues", "docs__search"]);
  });

  test("the same tool name on two servers gives two names", () => {
    const names = offeredNames([
      { server: "a", tool: "search" },
      { server: "b", tool: "search" },
    ]);
    expect(names).toEqual(["a__search", "b__search"]);
  });

  test("characters outside [A-Za-z0-9_-] become `_`; a leading digit or dash gets a leading `_`", () => {
    expect(offeredNames([{ server: "my server.v2", tool: "files/read" }])).toEqual(["my_server_v2__files_read"]);
    expect(offeredNames([{ server: "1password", tool: "get" }])).toEqual(["_1password__get"]);
    expect(offeredNames([{ server: "-x", tool: "ü" }])).toEqual(["_-x___"]);
  });

  test("names that sanitize alike, reserved names and long names get a hashed suffix, all portable", () => {
    const long = "x".repeat(100);
    const names = offeredNames(
      [
        { server: "a.b", tool: "t" },
        { server: "a_b", tool: "t" },
        { server: "web", tool: "search" },
        { server: long, tool: "tool" },
        { server: long, tool: "tool2" },
      ],
      new Set(["web__search"]),
    );
    expect(names[0]).toBe("a_b__t");
    expect(names[1]).toMatch(/^a_b__t_[0-9a-f]{8}$/);
    expect(names[2]).toMatch(/^web__search_[0-9a-f]{8}$/);
    expect(names[3]).toHaveLength(MAX_TOOL_NAME_LENGTH);
    expect(names[3]).not.toBe(names[4]);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(PORTABLE);
  });

  test("deterministic: the same request gives the same names in every round", () => {
    const pairs = [
      { server: "s".repeat(70), tool: "a" },
      { server: "x y", tool: "b" },
      { server: "x_y", tool: "b" },
    ];
    expect(offeredNames(pairs)).toEqual(offeredNames(pairs));
  });
});
