import { describe, expect, test } from "bun:test";
import { type SseEvent, readSse, sseData, sseEvent } from "./sse.ts";

function streamOf(parts: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const p of parts) c.enqueue(enc.encode(p));
      c.close();
    },
  });
}

async function collect(parts: string[]): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  for await (const e of readSse(streamOf(parts))) out.push(e);
  return out;
}

describe("readSse", () => {
  test("plain data events", async () => {
    expect(await collect(['data: {"a":1}\n\n', "data: [DONE]\n\n"])).toEqual([
      { event: null, data: '{"a":1}' },
      { event: null, data: "[DONE]" },
    ]);
  });

  test("events split at every byte boundary", async () => {
    const text = 'event: message_start\ndata: {"x":"é"}\n\n: ping comment\n\nevent: b\ndata: 2\n\n';
    const bytes = new TextEncoder().encode(text);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of bytes) c.enqueue(new Uint8Array([b]));
        c.close();
      },
    });
    const out: SseEvent[] = [];
    for await (const e of readSse(stream)) out.push(e);
    expect(out).toEqual([
      { event: "message_start", data: '{"x":"é"}' },
      { event: "b", data: "2" },
    ]);
  });

  test("CRLF and lone CR line ends, CRLF split across chunks", async () => {
    expect(await collect(["data: a\r", "\n\r", "\ndata: b\r\rdata: c\n\n"])).toEqual([
      { event: null, data: "a" },
      { event: null, data: "b" },
      { event: null, data: "c" },
    ]);
  });

  test("multi-line data, comments, fields without space, unknown fields", async () => {
    expect(await collect([": hello\nid: 1\nretry: 5\ndata:line1\ndata: line2\nfoo: bar\n\n"])).toEqual([
      { event: null, data: "line1\nline2" },
    ]);
  });

  test("a comment-only block yields nothing; a pending event at EOF is flushed", async () => {
    expect(await collect([": keepalive\n\n", "data: last"])).toEqual([{ event: null, data: "last" }]);
  });
});

describe("writers", () => {
  test("sseEvent and sseData keep null members (OpenAI and Anthropic mark many of them required)", () => {
    expect(sseEvent("message_delta", { a: null, b: 1 })).toBe('event: message_delta\ndata: {"a":null,"b":1}\n\n');
    expect(sseData({ a: null })).toBe('data: {"a":null}\n\n');
  });
});
