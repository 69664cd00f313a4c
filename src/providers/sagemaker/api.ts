import { z } from "zod";
import type { GatewayError } from "../../core/errors.ts";
import { awsAuthHeaders, awsBase } from "../_shared/aws/auth.ts";
import { awsHttpError } from "../_shared/aws/errors.ts";
import type { UpstreamErrorInput } from "../_shared/errors.ts";
import { type UpstreamRequest, joinUrl, modelSegment } from "../_shared/http.ts";
import type { ProviderSettings } from "../types.ts";

/**
 * SageMaker runtime addressing and auth (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html,
 * .../API_runtime_InvokeEndpointWithResponseStream.html): `POST {base}/endpoints/{EndpointName}/invocations` and
 * `/invocations-response-stream`, SigV4 for service `sagemaker` (region and key pair: _shared/aws/auth.ts). The
 * model a client names is the endpoint; its container speaks the OpenAI chat wire (LMI, TGI and vLLM containers'
 * Messages API). `extra.inference_component` targets one inference component of a shared endpoint.
 */

export const SIGNING_SERVICE = "sagemaker";

export type SageMakerOperation = "invocations" | "invocations-response-stream";

export function sagemakerRequest(
  s: ProviderSettings,
  endpoint: string,
  op: SageMakerOperation,
  body: unknown,
): UpstreamRequest {
  const url = joinUrl(awsBase(s), `/endpoints/${modelSegment(endpoint, s.name)}/${op}`);
  const rawBody = JSON.stringify(body);
  const headers = awsAuthHeaders(s, { url, rawBody, service: SIGNING_SERVICE, bearer: false });
  // InvokeEndpointWithResponseStream names the container's accepted type in its own header
  if (op === "invocations-response-stream") {
    headers["accept"] = "application/vnd.amazon.eventstream";
    headers["x-amzn-sagemaker-accept"] = "text/event-stream";
  }
  const component = s.extra["inference_component"];
  if (typeof component === "string" && component) headers["x-amzn-sagemaker-inference-component"] = component;
  return { url, rawBody, headers, mapError: sagemakerHttpError };
}

const modelErrorSchema = z
  .object({ OriginalStatusCode: z.number().int(), OriginalMessage: z.string().optional() })
  .loose();

/**
 * A `ModelError` (424) is the container's own refusal: one it gave as a client error (400, 404, 413, 422, 429) is
 * mapped as that status with the container's message, so a bad request stays the client's 400 instead of a 502.
 */
export function sagemakerHttpError(input: UpstreamErrorInput): GatewayError {
  if (input.status === 424) {
    let parsed: ReturnType<typeof modelErrorSchema.safeParse> | null = null;
    try {
      parsed = modelErrorSchema.safeParse(JSON.parse(input.bodyText));
    } catch {
      parsed = null;
    }
    const original = parsed?.success ? parsed.data : null;
    if (original && [400, 404, 413, 422, 429].includes(original.OriginalStatusCode))
      return awsHttpError({
        ...input,
        status: original.OriginalStatusCode,
        bodyText: JSON.stringify({ message: original.OriginalMessage ?? "" }),
      });
  }
  return awsHttpError(input);
}
