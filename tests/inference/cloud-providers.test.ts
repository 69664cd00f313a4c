/**
 * watsonx and SageMaker through the gateway with the official openai client (docs/behaviour/providers.md): their
 * config entries' own keys reach the adapters (IAM URL and project; AWS region and key pair), JSON and streams are
 * served, and each call writes its usage row with the upstream's tokens.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type MockServer, startSageMakerMock, startWatsonxMock } from "../../src/providers/_mocks";
import { createSqliteDatabase, type TestDatabase } from "../helpers/db";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { budgetUser, openaiClient, price, rowsOf } from "./_helpers";

const WATSONX_KEY = "watsonx-test-api-key-0123456789";
const AWS = { id: "AKIDGATEWAYTEST0001", secret: "gateway/test/secret/key/0123456789abcdef" };

describe("cloud providers through the gateway", () => {
  let db: TestDatabase;
  let gw: TestGateway;
  let watsonx: MockServer;
  let sagemaker: MockServer;

  beforeAll(async () => {
    db = await createSqliteDatabase();
    watsonx = startWatsonxMock({ apiKey: WATSONX_KEY });
    sagemaker = startSageMakerMock({
      credentials: { accessKeyId: AWS.id, secretAccessKey: AWS.secret },
      region: "eu-west-1",
    });
    gw = await startTestGateway(db, {
      providers: {
        watsonx: { api_key: WATSONX_KEY, api_base: watsonx.url, iam_url: watsonx.url, project_id: "proj-gw" },
        sagemaker: {
          api_base: sagemaker.url,
          region: "eu-west-1",
          aws_access_key_id: AWS.id,
          aws_secret_access_key: AWS.secret,
        },
      },
    });
    await price(gw, "watsonx:ibm/granite-3-8b-instruct", 1000, 1000);
    await price(gw, "sagemaker:my-endpoint", 1000, 1000);
  });
  afterAll(async () => {
    await gw.close();
    await watsonx.stop();
    await sagemaker.stop();
    await db.drop();
  });

  for (const model of ["watsonx:ibm/granite-3-8b-instruct", "sagemaker:my-endpoint"])
    test(`${model}: JSON and stream with the openai client, usage rows with cost`, async () => {
      const userId = `cloud-${model.split(":")[0]}`;
      const { key } = await budgetUser(gw, userId, 10);
      const client = openaiClient(gw, key);
      const res = await client.chat.completions.create({ model, messages: [{ role: "user", content: "Hi" }] });
      expect(res.choices[0]?.message.content).toBe("Hello from the mock.");
      expect(res.usage?.total_tokens).toBe(17);
      const stream = await client.chat.completions.create({
        model,
        messages: [{ role: "user", content: "Hi" }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      let completion = 0;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? "";
        if (chunk.usage) completion = chunk.usage.completion_tokens;
      }
      expect(text).toBe("tok0 tok1 tok2 ");
      expect(completion).toBe(3);
      const rows = await rowsOf(gw, userId);
      expect(rows.map((r) => [r["status"], r["prompt_tokens"], r["completion_tokens"]]).sort()).toEqual([
        ["success", 12, 3],
        ["success", 12, 5],
      ]);
      expect(rows.every((r) => Number(r["cost"]) > 0)).toBe(true);
    });

  test("the upstreams got what their wires require", () => {
    const chat = watsonx.requests.find((r) => r.path.startsWith("/ml/v1/text/chat"))!;
    expect(chat.path).toBe("/ml/v1/text/chat?version=2024-10-08");
    expect(chat.body).toMatchObject({ model_id: "ibm/granite-3-8b-instruct", project_id: "proj-gw" });
    const invoke = sagemaker.requests.find((r) => r.path.endsWith("/invocations"))!;
    expect(invoke.path).toBe("/endpoints/my-endpoint/invocations");
    expect(invoke.headers["authorization"]).toContain(`Credential=${AWS.id}/`);
    expect(invoke.headers["authorization"]).toContain("/eu-west-1/sagemaker/aws4_request");
  });
});
