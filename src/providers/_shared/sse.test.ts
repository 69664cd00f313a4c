import { describe, expect, test } from "bun:test";
import type { GatewayError } from "../../core/errors.ts";
import { type SseEvent, readSse } from "./sse.ts";

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

  test("two streams read in turns keep their own place (no matcher state shared between them)", async () => {
    const a = readSse(streamOf(["data: a1\n\ndata: a2\n\ndata: a3\n\n"]));
    const b = readSse(streamOf(["data: bbbbbbbbbbbbbbbbbbbb1\n\ndata: b2\n\n"]));
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      for (const it of [a, b]) {
        const next = await it.next();
        if (!next.done) seen.push(next.value.data);
      }
    }
    expect(seen).toEqual(["a1", "bbbbbbbbbbbbbbbbbbbb1", "a2", "b2", "a3"]);
  });

  test("a line or an event's data beyond the limit fails with the 502 before more of it is held", async () => {
    const tooLarge = async (parts: string[]) => {
      try {
        for await (const _ of readSse(streamOf(parts), 1000)) {
          // read on
        }
      } catch (err) {
        return err as GatewayError;
      }
      throw new Error("expected the read to fail");
    };
    // One line with no end, arriving in pieces: refused once the pending text passes the limit.
    const line = await tooLarge(["data: ", ...Array(50).fill("x".repeat(100))]);
    expect([line.status, line.code]).toEqual([502, "provider_response_too_large"]);
    // Many short data lines of one event.
    const event = await tooLarge([Array(200).fill("data: xxxxxxxx\n").join("")]);
    expect(event.code).toBe("provider_response_too_large");
    // Within the limit, the same shapes pass: a line in many pieces, a CR whose LF comes with the next piece.
    expect(await collect(["data: ", ...Array(9).fill("x".repeat(100)), "\n\n"])).toEqual([
      { event: null, data: "x".repeat(900) },
    ]);
    expect(await collect(["data: a", "b", "c\r", "\ndata: d\r", "e\n\n"])).toEqual([{ event: null, data: "abc\nd" }]);
  });
});
