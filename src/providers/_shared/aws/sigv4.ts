import { createHash, createHmac } from "node:crypto";

/**
 * AWS Signature Version 4 for a request with a JSON body (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).
 * Written on node:crypto rather than pulling @aws-sdk/signature-v4 and its smithy dependency tree for ~60 lines;
 * checked against the published SigV4 test-suite vectors (get-vanilla, post-vanilla, query ordering).
 * Signed headers: host, x-amz-date and x-amz-security-token (when a session token is used); any other header
 * may be added after signing (AWS only checks the headers named in SignedHeaders).
 */

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | null;
}

export interface SignInput {
  method: string;
  url: string;
  body: string;
  region: string;
  service: string;
  credentials: AwsCredentials;
  /** Signing time (default now). */
  now?: Date;
}

export interface Signed {
  /** Headers to send: authorization, x-amz-date, x-amz-security-token when set. */
  headers: Record<string, string>;
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
}

const sha256 = (data: string): string => createHash("sha256").update(data, "utf8").digest("hex");
const hmac = (key: Buffer | string, data: string): Buffer => createHmac("sha256", key).update(data, "utf8").digest();

/** RFC 3986 encoding: encodeURIComponent plus the sub-delims it leaves alone. */
export const uriEncode = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Every service but S3 encodes each path segment once more on top of the URL's own encoding, so a model id's
 * `%3A` is signed as `%253A` (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html#create-canonical-request).
 */
export function canonicalUri(pathname: string): string {
  if (pathname === "" || pathname === "/") return "/";
  return pathname.split("/").map(uriEncode).join("/");
}

export function canonicalQuery(search: string): string {
  const pairs = [...new URLSearchParams(search)].map(([k, v]) => [uriEncode(k), uriEncode(v)] as const);
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

/** `20150830T123600Z` */
export const amzDate = (d: Date): string =>
  d
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");

export function signRequest(input: SignInput): Signed {
  const url = new URL(input.url);
  const date = amzDate(input.now ?? new Date());
  const day = date.slice(0, 8);
  const headers: Record<string, string> = { host: url.host, "x-amz-date": date };
  if (input.credentials.sessionToken) headers["x-amz-security-token"] = input.credentials.sessionToken;
  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(";");
  const canonicalRequest = [
    input.method.toUpperCase(),
    canonicalUri(url.pathname),
    canonicalQuery(url.search),
    names.map((n) => `${n}:${headers[n]!.trim()}\n`).join(""),
    signedHeaders,
    sha256(input.body),
  ].join("\n");
  const scope = `${day}/${input.region}/${input.service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", date, scope, sha256(canonicalRequest)].join("\n");
  const kDate = hmac(`AWS4${input.credentials.secretAccessKey}`, day);
  const kSigning = hmac(hmac(hmac(kDate, input.region), input.service), "aws4_request");
  const signature = hmac(kSigning, stringToSign).toString("hex");
  const out: Record<string, string> = {
    authorization: `AWS4-HMAC-SHA256 Credential=${input.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    "x-amz-date": date,
  };
  if (input.credentials.sessionToken) out["x-amz-security-token"] = input.credentials.sessionToken;
  return { headers: out, canonicalRequest, stringToSign, signature };
}
