import { describe, expect, test } from "bun:test";
import { gatewayError, settingsFor } from "../_contract/index.ts";
import { encodeFrame, startBedrockMock } from "../_mocks/index.ts";
import { decodeMessage, readEventStream } from "../_shared/aws/eventstream.ts";
import { signRequest } from "../_shared/aws/sigv4.ts";
import { toConverseRequest } from "./chat.ts";
import { bedrock } from "./index.ts";

const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

describe("SigV4 signer: AWS test-suite vectors", () => {
  const base = {
    region: "us-east-1",
    service: "service",
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: SECRET },
    now: new Date(Date.UTC(2015, 7, 30, 12, 36, 0)),
    body: "",
  };
  test("get-vanilla", () => {
    const r = signRequest({ ...base, method: "GET", url: "https://example.amazonaws.com/" });
    expect(r.stringToSign).toBe(
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
    );
    expect(r.headers["authorization"]).toBe(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    );
  });
  test("post-vanilla and get-vanilla-query-order-key-case", () => {
    expect(signRequest({ ...base, method: "POST", url: "https://example.amazonaws.com/" }).signature).toBe(
      "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
    );
    expect(
      signRequest({ ...base, method: "GET", url: "https://example.amazonaws.com/?Param2=value2&Param1=value1" })
        .signature,
    ).toBe("b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
  });
  test("model ids are double-encoded in the canonical path; the session token is signed", () => {
    const r = signRequest({
      ...base,
      method: "POST",
      url: "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-v2%3A1/converse",
      credentials: { ...base.credentials, sessionToken: "TOKEN" },
    });
    expect(r.canonicalRequest.split("\n")[1]).toBe("/model/anthropic.claude-v2%253A1/converse");
    expect(r.headers["x-amz-security-token"]).toBe("TOKEN");
    expect(r.headers["authorization"]).toContain("SignedHeaders=host;x-amz-date;x-amz-security-token,");
  });
});

describe("eventstream framing", () => {
  // the published example frame for payload {"foo": "bar"} with no headers, and with a content-type header
  const noHeaders = [
    0,
    0,
    0,
    30,
    0,
    0,
    0,
    0,
    186,
    242,
    246,
    138,
    ...new TextEncoder().encode('{"foo": "bar"}'),
    174,
    114,
    88,
    228,
  ];
  test("decodes the reference frames and checks both CRCs", () => {
    const msg = decodeMessage(new Uint8Array(noHeaders));
    expect(new TextDecoder().decode(msg.payload)).toBe('{"foo": "bar"}');
    const withHeader = encodeFrame({ "content-type": "application/json" }, '{"foo": "bar"}');
    expect([...withHeader.subarray(0, 12)]).toEqual([0, 0, 0, 62, 0, 0, 0, 32, 64, 93, 249, 70]);
    expect([...withHeader.subarray(-4)]).toEqual([111, 162, 191, 59]);
    expect(decodeMessage(withHeader).headers).toEqual({ "content-type": "application/json" });
    const corrupt = new Uint8Array(noHeaders);
    corrupt[15] = corrupt[15]! ^ 1;
    expect(() => decodeMessage(corrupt)).toThrow("message CRC mismatch");
    const badPrelude = new Uint8Array(noHeaders);
    badPrelude[3] = 31;
    expect(() => decodeMessage(badPrelude)).toThrow("prelude CRC mismatch");
  });

  test("frames split across network chunks are reassembled; a truncated body throws", async () => {
    const a = encodeFrame({ ":event-type": "x" }, "{}");
    const b = encodeFrame({ ":event-type": "y" }, '{"k":1}');
    const all = new Uint8Array([...a, ...b]);
    const body = (parts: Uint8Array[]) =>
      new ReadableStream<Uint8Array>({
        start(c) {
          for (const p of parts) c.enqueue(p);
          c.close();
        },
      });
    const seen: unknown[] = [];
    for await (const m of readEventStream(body([all.subarray(0, 5), all.subarray(5, 30), all.subarray(30)])))
      seen.push(m.headers[":event-type"]);
    expect(seen).toEqual(["x", "y"]);
    const read = async () => {
      for await (const _ of readEventStream(body([all.subarray(0, all.length - 3)])));
    };
    await expect(read()).rejects.toThrow("stream ended inside a message");
    // Byte by byte, too.
    const bytes: string[] = [];
    for await (const m of readEventStream(body([...all].map((x) => new Uint8Array([x])))))
      bytes.push(String(m.headers[":event-type"]));
    expect(bytes).toEqual(["x", "y"]);
  });

  test("a message declaring more than the limit fails with the 502 as soon as its prelude arrives", async () => {
    const big = encodeFrame({ ":event-type": "chunk" }, JSON.stringify({ text: "x".repeat(5000) }));
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        // Only the first 64 bytes, then the body would go on: the reader must not wait for the rest.
        if (pulled++ === 0) c.enqueue(big.subarray(0, 64));
      },
    });
    const err = await (async () => {
      try {
        for await (const _ of readEventStream(body, 4096));
      } catch (e) {
        return e as { status?: number; code?: string };
      }
    })();
    expect([err?.status, err?.code]).toEqual([502, "provider_response_too_large"]);
  });
});

describe("bedrock specifics", () => {
  test("Converse request: system, merged turns, toolUse/toolResult, toolConfig, inferenceConfig, images", () => {
    const { body } = toConverseRequest({
      model: "anthropic.claude-3-5-sonnet-20240620-v1:0",
      messages: [
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
          ],
        },
        {
          role: "assistant",
          content: "Checking.",
          tool_calls: [{ id: "t1", type: "function", function: { name: "w", arguments: '{"c":"P"}' } }],
        },
        { role: "tool", tool_call_id: "t1", content: '{"t":20}' },
        { role: "tool", tool_call_id: "t2", content: "plain" },
      ],
      tools: [{ type: "function", function: { name: "w", description: "weather", parameters: { type: "object" } } }],
      tool_choice: { type: "function", function: { name: "w" } },
      max_tokens: 100,
      temperature: 0.3,
      stop: ["END"],
    });
    expect(body).toEqual({
      system: [{ text: "Be brief." }],
      messages: [
        { role: "user", content: [{ text: "What is this?" }, { image: { format: "png", source: { bytes: "AAAA" } } }] },
        {
          role: "assistant",
          content: [{ text: "Checking." }, { toolUse: { toolUseId: "t1", name: "w", input: { c: "P" } } }],
        },
        {
          role: "user",
          content: [
            { toolResult: { toolUseId: "t1", content: [{ json: { t: 20 } }] } },
            { toolResult: { toolUseId: "t2", content: [{ text: "plain" }] } },
          ],
        },
      ],
      toolConfig: {
        tools: [{ toolSpec: { name: "w", description: "weather", inputSchema: { json: { type: "object" } } } }],
        toolChoice: { tool: { name: "w" } },
      },
      inferenceConfig: { maxTokens: 100, temperature: 0.3, stopSequences: ["END"] },
    });
  });

  test("an http image URL is refused with 400 before any call", async () => {
    const err = await gatewayError(
      bedrock.chat(
        {
          model: "m",
          messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://x/y.png" } }] }],
        },
        { ...settingsFor(startBedrockMockStub()), apiBase: "http://127.0.0.1:9" },
      ),
    );
    expect(err.status).toBe(400);
  });

  test("SigV4 from env vars with a session token and the region in the URL template; a wrong secret is 502", async () => {
    const creds = { accessKeyId: "AKIAMOCK", secretAccessKey: "s3cr3t", sessionToken: "FwoGZXIvYXdzEXAMPLE" };
    const mock = startBedrockMock({ credentials: creds, region: "ap-south-1" });
    try {
      const env = {
        AWS_ACCESS_KEY_ID: creds.accessKeyId,
        AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
        AWS_SESSION_TOKEN: creds.sessionToken,
        AWS_REGION: "ap-south-1",
      };
      const s = { ...settingsFor(mock), apiKey: null, extra: { env } };
      const res = await bedrock.chat(
        { model: "anthropic.claude-v2:1", messages: [{ role: "user", content: "hi" }] },
        s,
      );
      expect(res.body.choices[0]!.message.content).toBe("Hello from the mock.");
      expect(mock.requests.at(-1)!.path).toBe("/model/anthropic.claude-v2%3A1/converse");
      const stream = await bedrock.chatStream({ model: "safety", messages: [{ role: "user", content: "hi" }] }, s);
      const finishes: string[] = [];
      for await (const c of stream) for (const ch of c.choices) if (ch.finish_reason) finishes.push(ch.finish_reason);
      expect(finishes).toEqual(["content_filter"]);
      const err = await gatewayError(
        bedrock.chat(
          { model: "m", messages: [{ role: "user", content: "hi" }] },
          { ...s, extra: { env: { ...env, AWS_SECRET_ACCESS_KEY: "wrong" } } },
        ),
      );
      expect([err.status, err.message]).toEqual([502, "The provider rejected the gateway's credentials"]);
      expect(mock.requests.at(-1)!.headers["authorization"] ?? "").toContain("/ap-south-1/bedrock/aws4_request");
    } finally {
      await mock.stop();
    }
  });

  test("no API key and no AWS key pair -> 500 before any call", async () => {
    const err = await gatewayError(
      bedrock.chat(
        { model: "m", messages: [{ role: "user", content: "hi" }] },
        { ...settingsFor(startBedrockMockStub()), apiKey: null },
      ),
    );
    expect([err.status, err.message]).toEqual([500, "Unable to load AWS credentials for bedrock"]);
  });

  test("a frame with a bad CRC mid-stream -> 502", async () => {
    const good = encodeFrame({ ":event-type": "messageStart", ":message-type": "event" }, '{"role":"assistant"}');
    const bad = encodeFrame(
      { ":event-type": "contentBlockDelta", ":message-type": "event" },
      '{"contentBlockIndex":0,"delta":{"text":"x"}}',
    );
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 0xff;
    const server = Bun.serve({
      port: 0,
      fetch: () =>
        new Response(new Blob([good, bad]), { headers: { "content-type": "application/vnd.amazon.eventstream" } }),
    });
    try {
      const stream = await bedrock.chatStream(
        { model: "m", messages: [{ role: "user", content: "hi" }] },
        { ...settingsFor(startBedrockMockStub()), apiBase: `http://127.0.0.1:${server.port}` },
      );
      const err = await gatewayError(
        (async () => {
          for await (const _ of stream);
        })(),
      );
      expect([err.status, err.message]).toEqual([502, "LLM provider error"]);
    } finally {
      await server.stop(true);
    }
  });
});

/** settingsFor needs a MockServer only for its apiBase, which these tests replace or never reach. */
function startBedrockMockStub() {
  return { url: "", apiBase: "http://127.0.0.1:9", requests: [], setScenario() {}, reset() {}, stop: async () => {} };
}
