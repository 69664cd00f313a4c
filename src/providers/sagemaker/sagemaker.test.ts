import { afterAll, describe, expect, test } from "bun:test";
import { API_KEY, gatewayError, settingsFor } from "../_contract/index.ts";
import { startSageMakerMock } from "../_mocks/index.ts";
import { sagemakerHttpError } from "./api.ts";
import { sagemaker } from "./index.ts";

const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const mock = startSageMakerMock({ credentials: { accessKeyId: API_KEY, secretAccessKey: SECRET } });
afterAll(() => mock.stop());
const hi = { model: "my-endpoint", messages: [{ role: "user" as const, content: "Hi" }] };
const signed = (extra: Record<string, unknown> = {}) => ({
  ...settingsFor(mock),
  name: "sagemaker",
  apiKey: null,
  extra: { env: { AWS_ACCESS_KEY_ID: API_KEY, AWS_SECRET_ACCESS_KEY: SECRET }, ...extra },
});

describe("sagemaker specifics", () => {
  test("SigV4 from the env vars for service sagemaker; the inference component header when configured", async () => {
    const res = await sagemaker.chat(hi, signed({ inference_component: "ic-1" }));
    expect(res.status).toBe(200);
    const sent = mock.requests.at(-1)!;
    expect(sent.path).toBe("/endpoints/my-endpoint/invocations");
    expect(sent.headers["authorization"]).toContain("/us-east-1/sagemaker/aws4_request");
    expect(sent.headers["x-amzn-sagemaker-inference-component"]).toBe("ic-1");
  });

  test("an API key is not a credential here: no key pair -> 500 before any call", async () => {
    const before = mock.requests.length;
    const err = await gatewayError(sagemaker.chat(hi, { ...settingsFor(mock), apiKey: "sk-x" }));
    expect([err.status, err.message]).toEqual([500, "Unable to load AWS credentials for sagemaker"]);
    expect(mock.requests.length).toBe(before);
  });

  test("a wrong secret -> the provider rejected the gateway's credentials", async () => {
    const s = signed();
    const err = await gatewayError(
      sagemaker.chat(hi, { ...s, extra: { env: { AWS_ACCESS_KEY_ID: API_KEY, AWS_SECRET_ACCESS_KEY: "nope" } } }),
    );
    expect([err.status, err.message]).toEqual([502, "The provider rejected the gateway's credentials"]);
  });

  test("ModelError: the container's client error stays the client's; a container failure is a provider error", () => {
    const headers = new Headers({ "x-amzn-errortype": "ModelError" });
    const client = sagemakerHttpError({
      status: 424,
      bodyText: JSON.stringify({ message: "x", OriginalStatusCode: 400, OriginalMessage: "max_tokens too large" }),
      headers,
      route: "inference",
    });
    expect([client.status, client.message]).toEqual([400, "max_tokens too large"]);
    const server = sagemakerHttpError({
      status: 424,
      bodyText: JSON.stringify({ message: "x", OriginalStatusCode: 500, OriginalMessage: "CUDA OOM" }),
      headers,
      route: "inference",
    });
    expect(server.status).toBe(502);
  });
});
