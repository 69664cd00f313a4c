import { type AwsMockAuth, encodeFrame, exceptionFrame, verifySigV4 } from "./aws.ts";
import { openAIChatCompletions } from "./openai-mock.ts";
import type { MockScenario } from "./scenario.ts";
import { type MockHandler, type MockOptions, type MockServer, json, startMockServer } from "./server.ts";

/**
 * An Amazon SageMaker runtime upstream whose endpoint container speaks the OpenAI chat wire (LMI / TGI / vLLM
 * Messages API): POST /endpoints/{EndpointName}/invocations (the container's JSON) and
 * /invocations-response-stream (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpointWithResponseStream.html):
 * application/vnd.amazon.eventstream `PayloadPart` frames whose payload is the container's SSE bytes, each network
 * chunk split over two parts (parts end anywhere, mid-line included); `X-Amzn-SageMaker-Content-Type` names the
 * container's type. Stream failures are `ModelStreamError` exception frames. Errors: `x-amzn-ErrorType` and
 * `{"message"}`; a container failure is 424 ModelError with OriginalStatusCode. Requests must be SigV4-signed for
 * service `sagemaker` (checked as AWS does, aws.ts).
 */

const ERRORS: Record<number, [string, Record<string, unknown>]> = {
  400: [
    "ValidationError",
    {
      message: "Endpoint missing of account 123456789012 not found. (sk-proj-abcdef1234567890XYZ, Bearer abc.def.ghi)",
    },
  ],
  403: ["AccessDeniedException", { message: "User is not authorized to perform: sagemaker:InvokeEndpoint" }],
  424: [
    "ModelError",
    {
      message: 'Received server error (500) from primary with message "CUDA out of memory".',
      OriginalStatusCode: 500,
      OriginalMessage: "CUDA out of memory",
      LogStreamArn: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/mock",
    },
  ],
  429: ["ModelNotReadyException", { message: "Model is not ready to serve requests." }],
  500: ["InternalFailure", { message: "An internal error occurred." }],
  503: ["ServiceUnavailable", { message: "The service is unavailable. Try your call again." }],
};

export function sagemakerError(status: number, type?: string, body?: Record<string, unknown>): Response {
  const [t, b] = ERRORS[status] ?? ["InternalFailure", { message: "An internal error occurred." }];
  return json(body ?? b, status, {
    "x-amzn-errortype": `${type ?? t}:http://internal.amazon.com/coral/com.amazon.sagemaker/`,
    "x-amzn-requestid": "req-mock-error",
  });
}

const part = (bytes: Uint8Array) =>
  encodeFrame(
    { ":event-type": "PayloadPart", ":content-type": "application/octet-stream", ":message-type": "event" },
    bytes,
  );
const streamFailure = () =>
  exceptionFrame("ModelStreamError", { Message: "Model stream failed mid-response.", ErrorCode: "ModelError" });

/** The container's SSE body, re-framed as PayloadPart frames as they arrive; `stream-error` cuts in after the first content. */
function payloadParts(sse: Response, s: MockScenario): Response {
  const reader = sse.body!.getReader();
  let chunks = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      try {
        const { done, value } = await reader.read();
        if (done) return c.close();
        const half = Math.ceil(value.byteLength / 2);
        c.enqueue(part(value.subarray(0, half)));
        if (half < value.byteLength) c.enqueue(part(value.subarray(half)));
        if (s.streamError && ++chunks === 2) {
          c.enqueue(streamFailure());
          c.close();
          await reader.cancel();
        }
      } catch (err) {
        c.error(err);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(body, {
    headers: {
      "content-type": "application/vnd.amazon.eventstream",
      "x-amzn-sagemaker-content-type": "text/event-stream",
    },
  });
}

export const endpointOfSageMakerPath = (path: string): string =>
  decodeURIComponent(path.match(/^\/endpoints\/([^/]+)\/invocations(?:-response-stream)?$/)?.[1] ?? "");

export function startSageMakerMock(options: MockOptions & AwsMockAuth = {}): MockServer {
  const handler: MockHandler = ({ req, path, body, rawBody, model, scenario: s }) => {
    const problem = verifySigV4(req, rawBody, options, "sagemaker");
    if (problem)
      return sagemakerError(
        403,
        problem.includes("signature") ? "InvalidSignatureException" : "UnrecognizedClientException",
        { message: problem },
      );
    const m = path.match(/^\/endpoints\/[^/]+\/(invocations|invocations-response-stream)$/);
    if (!m) return sagemakerError(404, "UnknownOperationException", { message: `Unknown operation ${path}` });
    if (s.errorStatus !== null) return sagemakerError(s.errorStatus);
    if (m[1] === "invocations" || s.jsonStream)
      return openAIChatCompletions(model, s, { ...body, stream: false }, req.signal);
    if (s.errorFirst)
      return new Response(streamFailure(), { headers: { "content-type": "application/vnd.amazon.eventstream" } });
    const container = { ...s, streamError: false };
    return payloadParts(openAIChatCompletions(model, container, { ...body, stream: true }, req.signal), s);
  };
  return startMockServer(options, "", handler, endpointOfSageMakerPath);
}
