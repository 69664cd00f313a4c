/**
 * Adding an endpoint is one descriptor plus its request schema: this file defines a test-only `/v1/echo` over the
 * providers' chat methods and registers it on an app built from a running gateway's runtime. Nothing else
 * changes, and the endpoint gets authentication, rate limits, budgets, usage rows, streaming and settlement (one
 * row per request, however it ends) from the pipeline.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { z } from "zod";
import type { ChatChunk, ChatCompletion, ChatRequest } from "../../src/core/wire/index";
import { createApp } from "../../src/http/app";
import { bodySchema } from "../../src/http/fast-schema";
import { INFERENCE_ROUTES, inferenceRoute } from "../../src/http/routes/inference";
import { estimateTokens } from "../../src/services/inference/estimate";
import type { Endpoint } from "../../src/services/inference/pipeline/endpoint";
import { createSqliteDatabase, type TestDatabase } from "../helpers/db";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { budgetUser, parseSse, price, type Row, rowTracker, usd } from "./_helpers";
import { MOCK_TEXT, MOCK_USAGE } from "../../src/providers/_mocks";

// ---- the endpoint: a descriptor and its schema ----

interface EchoBody {
  model: string;
  text: string;
  stream?: boolean;
  user?: string;
}

const echoBody = bodySchema(
  z.object({ model: z.string(), text: z.string(), stream: z.boolean().optional(), user: z.string().optional() }),
);

const echo: Endpoint<EchoBody, ChatRequest, ChatCompletion, ChatChunk> = {
  path: "/v1/echo",
  operation: "echo",
  promptFields: ["text"],
  user: (body) => body.user,
  userRequired: "'user' is required with the master key",
  estimate: (body, defaultOutput) => estimateTokens([body.text], null, defaultOutput),
  upstream: (body) => ({ model: body.model, messages: [{ role: "user", content: body.text }] }),
  json: "chat",
  stream: {
    requested: (body) => body.stream === true,
    method: "chatStream",
    framing: () => ({
      keepalive: ": keepalive\n\n",
      frame: (chunk) => {
        const text = chunk.choices[0]?.delta.content;
        return text ? `data: ${JSON.stringify({ echo: text })}\n\n` : null;
      },
      closing: (end, costMicros) => [`data: ${JSON.stringify({ end: end.kind, cost_micros: costMicros })}\n\n`],
    }),
  },
  reply: (result) => ({ echo: result.body.choices[0]?.message.content }),
};

const echoRoute = inferenceRoute({ endpoint: echo, body: echoBody, summary: "Echo (test only)" });

// ---- the gateway serving it ----

describe("a test-only endpoint registered as one descriptor", () => {
  let db: TestDatabase;
  let gw: TestGateway;
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    db = await createSqliteDatabase();
    gw = await startTestGateway(db);
    const g = gw.gateway;
    app = createApp(
      {
        mode: "standalone",
        services: g.services,
        inference: () => g.inference,
        providers: () => g.providers,
        config: g.config,
        draining: () => false,
      },
      { inferenceRoutes: [...INFERENCE_ROUTES, echoRoute] },
    );
    await price(gw, "openai:gpt-4o-mini", 1, 2);
  });
  afterAll(async () => {
    await gw.close();
    await db.drop();
  });

  const send = (token: string | null, body: unknown) =>
    app.handle(
      new Request("http://localhost/v1/echo", {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      }),
    );
  const ask = { model: "openai:gpt-4o-mini", text: "hello" };

  test("authentication: no credential and a wrong key are 401 before the body is validated", async () => {
    expect((await send(null, { nonsense: true })).status).toBe(401);
    expect((await send("gw-" + "x".repeat(60), ask)).status).toBe(401);
  });

  test("a JSON answer: the endpoint's body, the cost header, one usage row with the endpoint's path", async () => {
    const { key } = await gw.createKey({ user_id: "echo-json" });
    const rows = rowTracker(gw, "echo-json");
    const res = await send(key, ask);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ echo: MOCK_TEXT });
    const cost = usd(MOCK_USAGE.prompt, MOCK_USAGE.completion, 1, 2);
    expect(Number(res.headers.get("x-gateway-cost-usd"))).toBeCloseTo(cost, 6);
    const [row, ...more] = await rows();
    expect(more).toEqual([]);
    expect(row).toMatchObject({
      endpoint: "/v1/echo",
      provider: "openai",
      model: "gpt-4o-mini",
      status: "success",
      status_code: 200,
      prompt_tokens: MOCK_USAGE.prompt,
      completion_tokens: MOCK_USAGE.completion,
      attempts: 1,
    });
    expect(row?.["cost"] as number).toBeCloseTo(cost, 9);
  });

  test("a stream: the endpoint's framing, settled once when it ends, its cost in the closing frame", async () => {
    const { key } = await gw.createKey({ user_id: "echo-stream" });
    const rows = rowTracker(gw, "echo-stream");
    const res = await send(key, { ...ask, stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const { events } = parseSse(await res.text());
    const closing = events.at(-1)?.json as Row;
    expect(events.slice(0, -1).every((e) => typeof e.json?.["echo"] === "string")).toBe(true);
    expect(closing["end"]).toBe("completed");
    const [row, ...more] = await rows();
    expect(more).toEqual([]);
    expect(row).toMatchObject({ endpoint: "/v1/echo", status: "success", status_code: 200 });
    expect(closing["cost_micros"]).toBe(Math.round((row?.["cost"] as number) * 1e6));
  });

  test("limits: a key's rpm_limit refuses the second request with 429 and an error row", async () => {
    const { key } = await gw.createKey({ user_id: "echo-rpm", rpm_limit: 1 });
    const rows = rowTracker(gw, "echo-rpm");
    expect((await send(key, ask)).status).toBe(200);
    expect((await send(key, ask)).status).toBe(429);
    expect((await rows()).map((r) => [r["endpoint"], r["status_code"]]).sort()).toEqual([
      ["/v1/echo", 200],
      ["/v1/echo", 429],
    ]);
  });

  test("budgets: a user over budget is refused with 403 before any upstream call", async () => {
    const { key } = await budgetUser(gw, "echo-broke", 0);
    const before = gw.openai.requests.length;
    const res = await send(key, ask);
    expect(res.status).toBe(403);
    expect(gw.openai.requests.length).toBe(before);
  });

  test("an upstream failure settles once as a failure row, and the reservation is released", async () => {
    const { key } = await budgetUser(gw, "echo-fail", 1);
    const rows = rowTracker(gw, "echo-fail");
    const res = await send(key, { ...ask, model: "openai:error-500" });
    expect(res.status).toBe(502);
    const [row, ...more] = await rows();
    expect(more).toEqual([]);
    expect(row).toMatchObject({ endpoint: "/v1/echo", status: "error", status_code: 500 });
    const user = await gw.admin<{ spend: number }>("GET", "/v1/users/echo-fail");
    expect(user.spend).toBe(0);
    expect((await send(key, ask)).status).toBe(200);
  });
});
