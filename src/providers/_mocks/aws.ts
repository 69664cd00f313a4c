import { createHash, createHmac } from "node:crypto";
import { crc32 } from "node:zlib";

/**
 * What the AWS runtime mocks (Bedrock, SageMaker) share: eventstream frames with real prelude and message CRC32s
 * (https://docs.aws.amazon.com/transcribe/latest/dg/event-stream.html), and SigV4 verified as AWS does it,
 * independently of the adapters' signer, from the received method, path, host, signed headers and body bytes.
 */

export interface AwsMockAuth {
  /** Accepted SigV4 key pair (and session token, when set). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Region the signature scope must name (default us-east-1). */
  region?: string;
}

export function encodeFrame(headers: Record<string, string>, payload: Uint8Array | string): Uint8Array {
  const enc = new TextEncoder();
  const body = typeof payload === "string" ? enc.encode(payload) : payload;
  const headerBytes: number[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const n = enc.encode(name);
    const v = enc.encode(value);
    headerBytes.push(n.length, ...n, 7, (v.length >> 8) & 0xff, v.length & 0xff, ...v);
  }
  const total = 12 + headerBytes.length + body.length + 4;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, total);
  view.setUint32(4, headerBytes.length);
  view.setUint32(8, crc32(out.subarray(0, 8)));
  out.set(headerBytes, 12);
  out.set(body, 12 + headerBytes.length);
  view.setUint32(total - 4, crc32(out.subarray(0, total - 4)));
  return out;
}

/** An exception frame (`:message-type: exception`) with a JSON body. */
export const exceptionFrame = (type: string, body: Record<string, unknown>): Uint8Array =>
  encodeFrame(
    { ":exception-type": type, ":content-type": "application/json", ":message-type": "exception" },
    JSON.stringify(body),
  );

const hex = (d: string) => createHash("sha256").update(d).digest("hex");
const mac = (k: string | Buffer, d: string) => createHmac("sha256", k).update(d).digest();
const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());

/** Null when the request is signed for `service` with the mock's credentials, else AWS's message for the problem. */
export function verifySigV4(req: Request, rawBody: string, o: AwsMockAuth, expectedService: string): string | null {
  const auth = req.headers.get("authorization") ?? "";
  const m = auth.match(
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/,
  );
  if (!m || !o.credentials) return "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'.";
  const [, keyId, day, region, service, signedHeaders, signature] = m as unknown as string[];
  if (keyId !== o.credentials.accessKeyId) return "The security token included in the request is invalid.";
  if (region !== (o.region ?? "us-east-1") || service !== expectedService)
    return `Credential should be scoped to a valid region / service '${expectedService}'.`;
  const date = req.headers.get("x-amz-date") ?? "";
  const when = Date.parse(
    `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
  );
  if (!date.startsWith(day!) || !(Math.abs(Date.now() - when) < 5 * 60_000))
    return "Signature expired or not yet current.";
  if (o.credentials.sessionToken && req.headers.get("x-amz-security-token") !== o.credentials.sessionToken)
    return "The security token included in the request is invalid.";
  const names = signedHeaders!.split(";");
  if (!names.includes("host") || !names.includes("x-amz-date")) return "host and x-amz-date must be signed.";
  const url = new URL(req.url);
  const path = url.pathname.split("/").map(rfc3986).join("/");
  const canonical = [
    req.method,
    path,
    "",
    ...names.map((n) => `${n}:${(req.headers.get(n) ?? "").trim()}`),
    "",
    signedHeaders,
    hex(rawBody),
  ].join("\n");
  const toSign = `AWS4-HMAC-SHA256\n${date}\n${day}/${region}/${service}/aws4_request\n${hex(canonical)}`;
  const key = mac(mac(mac(mac("AWS4" + o.credentials.secretAccessKey, day!), region!), service!), "aws4_request");
  return mac(key, toSign).toString("hex") === signature
    ? null
    : "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
}
