import { describe, expect, test } from "bun:test";
import { MOCK_USAGE, type MockServer, type RecordedRequest } from "../_mocks/index.ts";
import type { FailureRoute } from "../_shared/errors.ts";
import type { Capable } from "../capabilities.ts";
import type { ProviderSettings } from "../types.ts";
import {
  API_KEY,
  type ContractTarget,
  type UpstreamPath,
  VERSION,
  drain,
  expectMapped,
  gatewayError,
  pathFor,
} from "./harness.ts";

/**
 * The endpoints beside chat: embeddings, moderation, the Responses API and model listing. Each block runs when the
 * adapter has the capability (index.ts skips it otherwise): the happy path with what went upstream, then every
 * status the provider uses, mapped as the route maps it.
 */

type Settings = (m: MockServer, over?: Partial<ProviderSettings>) => ProviderSettings;

/** What every upstream call carries: the path, the credential, the gateway's user agent and the custom headers. */
function expectSent(t: ContractTarget, sent: RecordedRequest | undefined, path: string): void {
  expect(sent?.path).toBe(path);
  expect(t.credentialOf(sent!)).toContain(API_KEY);
  expect(sent?.headers["user-agent"]).toBe(`otari-gateway/${VERSION}`);
  expect(sent?.headers["x-custom-header"]).toBe("custom-value");
}

/**
 * One test per status the provider uses: each call with the mock's `error-<status>` model rejects as mapped. Calls
 * are thunks, made one at a time: a second promise made up front would reject unobserved while the first is awaited.
 */
function statusTests(t: ContractTarget, route: FailureRoute, calls: ((model: string) => Promise<unknown>)[]): void {
  for (const status of t.errorStatuses)
    test(`upstream ${status} is mapped (${route} route)`, async () => {
      for (const call of calls)
        expectMapped(await gatewayError(call(`error-${status}`)), status, route, t.retryHint ?? true);
    });
}

export function embeddingsContract(
  t: ContractTarget,
  e: { path: UpstreamPath; promptTokens: number },
  p: Capable<"embeddings">,
  mock: () => MockServer,
  settingsFor: Settings,
): void {
  describe("embeddings", () => {
    test("one vector per input in order, input tokens as usage, and what went upstream", async () => {
      const m = mock();
      const res = await p.embed({ model: "embed-a", input: ["first", "second"] }, settingsFor(m));
      expect(res.status).toBe(200);
      expect(res.body.data.map((d) => d.index)).toEqual([0, 1]);
      for (const d of res.body.data) {
        expect(Array.isArray(d.embedding)).toBe(true);
        expect((d.embedding as unknown[]).every((x) => typeof x === "number")).toBe(true);
      }
      expect(res.usage.promptTokens).toBe(e.promptTokens);
      expect(res.usage.completionTokens ?? 0).toBe(0);
      expectSent(t, m.requests.at(-1), pathFor(e.path, "embed-a"));
    });

    statusTests(t, "passthrough", [(model) => p.embed({ model, input: "x" }, settingsFor(mock()))]);
  });
}

export function moderationsContract(
  t: ContractTarget,
  e: { path: UpstreamPath },
  p: Capable<"moderations">,
  mock: () => MockServer,
  settingsFor: Settings,
): void {
  describe("moderations", () => {
    test("OpenAI-shaped results with `flagged` per input, and what went upstream", async () => {
      const m = mock();
      const res = await p.moderate({ model: "mod-a", input: ["fine", "flag me"] }, settingsFor(m));
      expect(res.status).toBe(200);
      expect(res.body.results.map((r) => r.flagged)).toEqual([false, true]);
      expect(res.body.results[1]?.categories).toMatchObject({ violence: true });
      expectSent(t, m.requests.at(-1), pathFor(e.path, "mod-a"));
    });

    statusTests(t, "passthrough", [(model) => p.moderate({ model, input: "x" }, settingsFor(mock()))]);
  });
}

export function responsesContract(
  t: ContractTarget,
  e: { path: UpstreamPath },
  p: Capable<"responses">,
  mock: () => MockServer,
  settingsFor: Settings,
): void {
  describe("Responses API", () => {
    test("JSON: usage, and the body forwarded without the gateway's fields", async () => {
      const m = mock();
      const res = await p.responses(
        { model: "resp-a", input: "hi", user: "u", max_tool_iterations: 3, truncation: "auto" },
        settingsFor(m),
      );
      expect(res.status).toBe(200);
      expect(res.usage).toMatchObject({ promptTokens: MOCK_USAGE.prompt, completionTokens: MOCK_USAGE.completion });
      expectSent(t, m.requests.at(-1), pathFor(e.path, "resp-a"));
      expect(m.requests.at(-1)?.body).toEqual({ model: "resp-a", input: "hi", truncation: "auto", stream: false });
    });

    test("stream: created first, completed last, merged usage with cache reads", async () => {
      const stream = await p.responsesStream({ model: "cache", input: "hi" }, settingsFor(mock()));
      const types = (await drain(stream)).map((e) => e.type);
      expect(types[0]).toBe("response.created");
      expect(types.at(-1)).toBe("response.completed");
      expect(stream.usage).toMatchObject({ promptTokens: MOCK_USAGE.prompt, cacheReadTokens: MOCK_USAGE.cacheRead });
      expect(stream.contentSeen).toBe(true);
    });

    statusTests(t, "inference", [
      (model) => p.responses({ model, input: "x" }, settingsFor(mock())),
      (model) => p.responsesStream({ model, input: "x" }, settingsFor(mock())),
    ]);
  });
}

export function modelsContract(
  t: ContractTarget,
  e: { path: string; ids: string[] },
  p: Capable<"models">,
  mock: () => MockServer,
  settingsFor: Settings,
): void {
  describe("model listing", () => {
    test("every page read, ids as listed, and what went upstream", async () => {
      const m = mock();
      const before = m.requests.length;
      const models = await p.listModels(settingsFor(m));
      expect(models.map((x) => x.id)).toEqual(e.ids);
      const sent = m.requests.slice(before);
      expect(sent.length).toBeGreaterThan(0);
      for (const r of sent) {
        expect(r.method).toBe("GET");
        expectSent(t, { ...r, path: r.path.split("?")[0]! }, e.path);
      }
    });

    // A listing names no model, so the mock's default scenario carries the status.
    for (const status of t.errorStatuses)
      test(`upstream ${status} is mapped (passthrough route)`, async () => {
        const m = mock();
        m.setScenario(`error-${status}`);
        try {
          expectMapped(await gatewayError(p.listModels(settingsFor(m))), status, "passthrough", t.retryHint ?? true);
        } finally {
          m.setScenario(null);
        }
      });
  });
}

export function rerankContract(
  t: ContractTarget,
  e: { path: UpstreamPath; searchUnits: number | null; tokens: number | null },
  p: Capable<"rerank">,
  mock: () => MockServer,
  settingsFor: Settings,
): void {
  describe("rerank", () => {
    test("results by relevance naming their documents, top_n honoured, what it bills, and what went upstream", async () => {
      const m = mock();
      const documents = ["otters eat fish", "sea otters use stones to crack shells", "stock prices"];
      const res = await p.rerank(
        { model: "rerank-a", query: "sea otters stones", documents, top_n: 2, user: "u" },
        settingsFor(m),
      );
      expect(res.status).toBe(200);
      expect(res.body.results.map((r) => r.index)).toEqual([1, 0]);
      expect(res.body.results[0]!.relevance_score).toBeGreaterThan(res.body.results[1]!.relevance_score);
      expect(res.body.id).toBeString();
      expect(res.body.meta?.billed_units?.search_units ?? null).toBe(e.searchUnits);
      expect(res.body.usage?.total_tokens ?? null).toBe(e.tokens);
      expect(res.usage.promptTokens).toBe(e.tokens);
      expect(res.usage.completionTokens ?? 0).toBe(0);
      const sent = m.requests.at(-1);
      expectSent(t, sent, pathFor(e.path, "rerank-a"));
      expect(sent?.body).toMatchObject({ model: "rerank-a", query: "sea otters stones", documents });
      expect(sent?.body).not.toHaveProperty("user");
    });

    statusTests(t, "passthrough", [(model) => p.rerank({ model, query: "q", documents: ["d"] }, settingsFor(mock()))]);
  });
}

export function imagesContract(
  t: ContractTarget,
  e: { path: UpstreamPath },
  p: Capable<"images">,
  mock: () => MockServer,
  settingsFor: Settings,
): void {
  describe("image generation", () => {
    test("`n` images, token usage when reported, the upstream's bytes kept, and what went upstream", async () => {
      const m = mock();
      const res = await p.generateImages(
        { model: "img-a", prompt: "an otter", n: 2, size: "256x256", user: "u", max_tool_iterations: 2 },
        settingsFor(m),
      );
      expect(res.status).toBe(200);
      expect(res.body.data).toHaveLength(2);
      expect(res.raw && JSON.parse(res.raw)).toEqual(res.body);
      expect(res.usage).toMatchObject({ promptTokens: 10, completionTokens: 40 });
      const sent = m.requests.at(-1);
      expectSent(t, sent, pathFor(e.path, "img-a"));
      expect(sent?.body).toEqual({ model: "img-a", prompt: "an otter", n: 2, size: "256x256" });
    });

    statusTests(t, "passthrough", [(model) => p.generateImages({ model, prompt: "x" }, settingsFor(mock()))]);
  });
}

export function speechContract(
  t: ContractTarget,
  e: { path: UpstreamPath },
  p: Capable<"speech">,
  mock: () => MockServer,
  settingsFor: Settings,
): void {
  describe("speech", () => {
    test("the audio bytes as sent, the upstream's content type, and what went upstream", async () => {
      const m = mock();
      const input = "x".repeat(40);
      const res = await p.speech(
        { model: "tts-a", input, voice: "alloy", response_format: "wav", user: "u" },
        settingsFor(m),
      );
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("audio/wav");
      const bytes = new Uint8Array(await new Response(res.body).arrayBuffer());
      expect(bytes.length).toBe(3 * 1024);
      expect(bytes[1025]).toBe(1);
      const sent = m.requests.at(-1);
      expectSent(t, sent, pathFor(e.path, "tts-a"));
      expect(sent?.body).toEqual({ model: "tts-a", input, voice: "alloy", response_format: "wav" });
    });

    statusTests(t, "passthrough", [(model) => p.speech({ model, input: "x", voice: "v" }, settingsFor(mock()))]);
  });
}

export function transcriptionContract(
  t: ContractTarget,
  e: { path: UpstreamPath },
  p: Capable<"transcription">,
  mock: () => MockServer,
  settingsFor: Settings,
): void {
  describe("transcription", () => {
    const file = () => new File([new Uint8Array(32_000).fill(7)], "talk.wav", { type: "audio/wav" });

    test("the file and fields go up as a multipart form; a JSON transcript comes back parsed, as sent", async () => {
      const m = mock();
      const res = await p.transcribe(
        {
          model: "whisper-a",
          file: file(),
          language: "en",
          temperature: 0.2,
          response_format: "verbose_json",
          user: "u",
        },
        settingsFor(m),
      );
      expect(res.status).toBe(200);
      expect(res.body.json).toMatchObject({ text: "transcript of talk.wav", duration: 2 });
      expect(JSON.parse(res.body.text)).toEqual(res.body.json as object);
      const sent = m.requests.at(-1);
      expectSent(t, sent, pathFor(e.path, "whisper-a"));
      expect(sent?.headers["content-type"]).toStartWith("multipart/form-data; boundary=");
      const fields = sent?.body as Record<string, unknown>;
      expect(Object.keys(fields).sort()).toEqual(["file", "language", "model", "response_format", "temperature"]);
      expect(fields).toMatchObject({ model: "whisper-a", language: "en", temperature: "0.2" });
      const upload = fields["file"] as File;
      expect({ name: upload.name, size: upload.size }).toEqual({ name: "talk.wav", size: 32_000 });
      expect(new Uint8Array(await upload.arrayBuffer())[31_999]).toBe(7);
    });

    test("tokens reported (gpt-4o-transcribe) are the usage; a text format is the upstream's text", async () => {
      const m = mock();
      const tokens = await p.transcribe({ model: "gpt-4o-transcribe", file: file() }, settingsFor(m));
      expect(tokens.usage).toMatchObject({ promptTokens: 32, completionTokens: 3 });
      const text = await p.transcribe({ model: "whisper-a", file: file(), response_format: "srt" }, settingsFor(m));
      expect(text.body).toEqual({
        text: "1\n00:00:00,000 --> 00:00:02,000\ntranscript of talk.wav\n\n",
        contentType: "text/plain; charset=utf-8",
        json: null,
      });
      expect(text.usage.promptTokens).toBeNull();
    });

    statusTests(t, "passthrough", [(model) => p.transcribe({ model, file: file() }, settingsFor(mock()))]);
  });
}
