/**
 * POST /v1/images/generations on the one pipeline, driven by the official openai client against the OpenAI mock:
 * billed per image (a price in `image` units) or by reported tokens, budgets reserved per image and settled, one usage
 * row, the upstream's bytes passed on, and bad input; on SQLite and Postgres.
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import OpenAI from "openai";
import { budgetUser, failure, openaiClient, post, price, waitFor, routeSuite, unitPrice } from "./_helpers";
import { DIALECTS } from "../helpers/db";

setDefaultTimeout(30_000);

type Json = Record<string, unknown>;

describe.each(DIALECTS)("POST /v1/images/generations ($dialect)", ({ create }) => {
  const s = routeSuite(create, "img-user");
  beforeAll(async () => {
    await unitPrice(s.gw, "openai:dall-e-3", 40_000, "image"); // 0.04 per image
    await price(s.gw, "openai:gpt-image-1", 5, 40);
  });

  test("openai SDK: n images, billed per image on one usage row", async () => {
    const openai = openaiClient(s.gw, s.key);
    const { data: out, response } = await openai.images
      .generate({ model: "openai:dall-e-3", prompt: "an otter with a stone", n: 2, size: "1024x1024" })
      .withResponse();
    expect(out.data).toHaveLength(2);
    expect(out.data?.[0]?.b64_json).toBeString();
    expect(Number(response.headers.get("x-gateway-cost-usd"))).toBeCloseTo(0.08, 9);
    const sent = s.gw.openai.requests.at(-1)!;
    expect(sent.path).toBe("/v1/images/generations");
    expect(sent.body).toEqual({ model: "dall-e-3", prompt: "an otter with a stone", n: 2, size: "1024x1024" });
    const rows = await s.newRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ endpoint: "/v1/images/generations", model: "dall-e-3", status: "success" });
    expect(Number(rows[0]!.cost)).toBeCloseTo(0.08, 9);
  });

  test("a token-priced model is billed by the reported tokens; the upstream's bytes reach the client", async () => {
    const res = await post(s.gw, "/v1/images/generations", s.key, {
      model: "openai:gpt-image-1",
      prompt: "x",
      response_format: "url",
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text).data).toEqual([{ url: "https://images.example/0.png" }]);
    // The mock's own serialisation, byte for byte (input_tokens_details is no field of the gateway's schema).
    expect(text).toContain('"input_tokens_details":{"text_tokens":10,"image_tokens":0}');
    const [row] = await s.newRows();
    expect(row).toMatchObject({ prompt_tokens: 10, completion_tokens: 20 });
    expect(Number(row!.cost)).toBeCloseTo((10 * 5 + 20 * 40) / 1e6, 9);
  });

  test("a provider without image generation is a 400; bad input is a 422; an unknown provider a 400", async () => {
    const refused = await post(s.gw, "/v1/images/generations", s.key, { model: "anthropic:claude", prompt: "x" });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as Json).detail).toBe("Provider 'anthropic' does not support image generation");
    for (const body of [
      { model: "openai:dall-e-3" },
      { model: "openai:dall-e-3", prompt: "" },
      { model: "openai:dall-e-3", prompt: 5 },
      { model: "openai:dall-e-3", prompt: "x", n: 0 },
      { model: "openai:dall-e-3", prompt: "x", n: "two" },
    ])
      expect((await post(s.gw, "/v1/images/generations", s.key, body)).status).toBe(422);
    expect((await post(s.gw, "/v1/images/generations", s.key, { model: "nosuch:m", prompt: "x" })).status).toBe(400);
    const err = await failure(
      openaiClient(s.gw, "gw-no-such-key").images.generate({ model: "openai:dall-e-3", prompt: "x" }),
    );
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  test("upstream failures map (500 -> 502, 429 kept), each with an error row", async () => {
    await s.newRows();
    expect((await post(s.gw, "/v1/images/generations", s.key, { model: "openai:error-500", prompt: "x" })).status).toBe(
      502,
    );
    expect((await post(s.gw, "/v1/images/generations", s.key, { model: "openai:error-429", prompt: "x" })).status).toBe(
      429,
    );
    expect((await s.newRows()).map((r) => r.status)).toEqual(["error", "error"]);
  });

  test("budgets: reserved per image, refused when exhausted, settled at the cost", async () => {
    const poor = await budgetUser(s.gw, `img-poor-${crypto.randomUUID().slice(0, 6)}`, 0);
    const refused = await post(s.gw, "/v1/images/generations", poor.key, { model: "openai:dall-e-3", prompt: "x" });
    expect(refused.status).toBe(403);
    // 0.10 USD covers two images (0.08) but not three (0.12): the reservation is refused up front.
    const userId = `img-rich-${crypto.randomUUID().slice(0, 6)}`;
    const rich = await budgetUser(s.gw, userId, 0.1);
    const three = await post(s.gw, "/v1/images/generations", rich.key, { model: "openai:dall-e-3", prompt: "x", n: 3 });
    expect(three.status).toBe(403);
    const two = await post(s.gw, "/v1/images/generations", rich.key, { model: "openai:dall-e-3", prompt: "x", n: 2 });
    expect(two.status).toBe(200);
    let user: Json = {};
    expect(
      await waitFor(async () => {
        user = await s.gw.admin<Json>("GET", `/v1/users/${userId}`);
        return user.reserved === 0;
      }),
    ).toBe(true);
    expect(Number(user.spend)).toBeCloseTo(0.08, 9);
  });
});
