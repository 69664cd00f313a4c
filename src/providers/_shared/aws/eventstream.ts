import { crc32 } from "node:zlib";
import { oversizedError } from "../errors.ts";

/**
 * The binary `application/vnd.amazon.eventstream` framing of AWS streaming responses (Bedrock ConverseStream):
 * https://docs.aws.amazon.com/transcribe/latest/dg/event-stream.html. Each message is
 *   total length (u32 BE) | headers length (u32 BE) | prelude CRC32 (u32 BE) | headers | payload | message CRC32
 * with both CRCs checked; a header is name length (u8) | name | value type (u8) | value.
 */

export interface EventStreamMessage {
  headers: Record<string, string | number | boolean | Uint8Array | bigint>;
  payload: Uint8Array;
}

/** A frame that cannot be trusted (bad CRC, impossible lengths, truncated body). */
export class EventStreamError extends Error {
  override name = "EventStreamError";
}

const PRELUDE = 12;
const MIN_MESSAGE = 16;
/** Larger than any Bedrock event; a bigger length means a corrupt prelude. */
const MAX_MESSAGE = 16 * 1024 * 1024;

function readHeaders(view: DataView, bytes: Uint8Array, start: number, end: number): EventStreamMessage["headers"] {
  const out: EventStreamMessage["headers"] = {};
  const text = new TextDecoder();
  let at = start;
  const need = (n: number) => {
    if (at + n > end) throw new EventStreamError("header runs past the headers section");
  };
  while (at < end) {
    need(1);
    const nameLength = view.getUint8(at++);
    need(nameLength + 1);
    const name = text.decode(bytes.subarray(at, at + nameLength));
    at += nameLength;
    const type = view.getUint8(at++);
    switch (type) {
      case 0:
        out[name] = true;
        break;
      case 1:
        out[name] = false;
        break;
      case 2:
        need(1);
        out[name] = view.getInt8(at);
        at += 1;
        break;
      case 3:
        need(2);
        out[name] = view.getInt16(at);
        at += 2;
        break;
      case 4:
        need(4);
        out[name] = view.getInt32(at);
        at += 4;
        break;
      case 5:
        need(8);
        out[name] = view.getBigInt64(at);
        at += 8;
        break;
      case 8:
        need(8);
        out[name] = view.getBigInt64(at);
        at += 8;
        break; // timestamp, ms since epoch
      case 9:
        need(16);
        out[name] = bytes.slice(at, at + 16);
        at += 16;
        break; // uuid
      case 6:
      case 7: {
        need(2);
        const length = view.getUint16(at);
        at += 2;
        need(length);
        const value = bytes.subarray(at, at + length);
        out[name] = type === 7 ? text.decode(value) : value.slice();
        at += length;
        break;
      }
      default:
        throw new EventStreamError(`unknown header value type ${type}`);
    }
  }
  return out;
}

/** Decodes one complete message (CRCs verified). */
export function decodeMessage(bytes: Uint8Array): EventStreamMessage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const total = view.getUint32(0);
  const headersLength = view.getUint32(4);
  if (view.getUint32(8) !== crc32(bytes.subarray(0, 8))) throw new EventStreamError("prelude CRC mismatch");
  if (total !== bytes.byteLength) throw new EventStreamError("message length mismatch");
  if (view.getUint32(total - 4) !== crc32(bytes.subarray(0, total - 4)))
    throw new EventStreamError("message CRC mismatch");
  if (PRELUDE + headersLength > total - 4) throw new EventStreamError("headers longer than the message");
  return {
    headers: readHeaders(view, bytes, PRELUDE, PRELUDE + headersLength),
    payload: bytes.slice(PRELUDE + headersLength, total - 4),
  };
}

/**
 * Splits a response body into messages as their bytes arrive; a body ending mid-message throws. A message declaring
 * more than `maxMessageBytes` fails the stream with a 502 before it is held. Chunks are kept as they come and joined
 * once a whole prelude or message is there (one copy per message, however small the chunks).
 */
export async function* readEventStream(
  body: ReadableStream<Uint8Array>,
  maxMessageBytes = MAX_MESSAGE,
): AsyncGenerator<EventStreamMessage> {
  let parts: Uint8Array[] = [];
  let size = 0;
  let need = PRELUDE;
  for await (const chunk of body) {
    parts.push(chunk);
    size += chunk.byteLength;
    while (size >= need) {
      const buffer = parts.length === 1 ? parts[0]! : join(parts, size);
      parts = [buffer];
      const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      const total = view.getUint32(0);
      // the prelude CRC is checked before the length is trusted: a corrupt length must not stall the read
      if (view.getUint32(8) !== crc32(buffer.subarray(0, 8))) throw new EventStreamError("prelude CRC mismatch");
      if (total < MIN_MESSAGE || total > MAX_MESSAGE) throw new EventStreamError(`impossible message length ${total}`);
      if (total > maxMessageBytes) throw oversizedError("inference", "stream event", maxMessageBytes);
      if (size < total) {
        need = total;
        break;
      }
      yield decodeMessage(buffer.subarray(0, total));
      const rest = buffer.subarray(total);
      parts = rest.byteLength > 0 ? [rest] : [];
      size = rest.byteLength;
      need = PRELUDE;
    }
  }
  if (size > 0) throw new EventStreamError(`stream ended inside a message (${size} bytes left)`);
}

function join(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
