import { describe, expect, test } from "bun:test";
import { MAX_RESULT_CHARS, renderToolResult } from "./render";

describe("renderToolResult", () => {
  test("text blocks joined by newlines; other content summarised in one line each", () => {
    const text = renderToolResult({
      content: [
        { type: "text", text: "first" },
        { type: "image", data: "iVBORw0KGgo=", mimeType: "image/png" },
        { type: "audio", data: "AAAA", mimeType: "audio/wav" },
        { type: "resource_link", uri: "file:///report.pdf", name: "report" },
        { type: "resource", resource: { uri: "mem://notes", text: "a text resource" } },
        { type: "resource", resource: { uri: "mem://blob", mimeType: "application/zip", blob: "UEsDBA==" } },
        { type: "text", text: "last" },
      ],
    });
    expect(text).toBe(
      [
        "first",
        "[image image/png, 8 bytes]",
        "[audio audio/wav, 3 bytes]",
        "[resource link file:///report.pdf (report)]",
        "a text resource",
        "[resource mem://blob application/zip, 4 bytes]",
        "last",
      ].join("\n"),
    );
  });

  test("isError results are tool errors", () => {
    expect(renderToolResult({ isError: true, content: [{ type: "text", text: "no such file" }] })).toBe(
      "[tool error] no such file",
    );
  });

  test("structured content stands in when there is no other content; nothing at all is `(no output)`", () => {
    expect(renderToolResult({ content: [], structuredContent: { n: 3 } })).toBe('{"n":3}');
    expect(renderToolResult({ content: [] })).toBe("(no output)");
    expect(renderToolResult({ content: [], isError: true })).toBe("[tool error] (no output)");
  });

  test("a huge result is cut, saying how much", () => {
    const text = renderToolResult({ content: [{ type: "text", text: "x".repeat(MAX_RESULT_CHARS + 10) }] });
    expect(text).toEndWith("\n… [10 more characters cut]");
    expect(text.length).toBeLessThan(MAX_RESULT_CHARS + 40);
  });
});
