/**
 * POST /v1/responses (docs/api.md#responses, docs/behaviour/tools.md): OpenAI Responses API, forwarded verbatim to
 * providers that speak it.
 */
import type { GatewayToolFields } from "../../../core/schemas/gateway-tools";
import type { ResponsesEvent, ResponsesObject, ResponsesRequest } from "../../../core/wire/index";
import { estimateTokens } from "../estimate";
import { withoutGatewayFields } from "../gateway-tools";
import type { Endpoint } from "../pipeline/endpoint";
import { failureCode, type SseFraming, STREAM_ERROR_MESSAGE } from "../pipeline/framing";
import { SSE_DONE, sseComment, sseEvent } from "../pipeline/sse-frames";
import { responsesLoop } from "../tool-loop/responses";
import { responsesRequestFacts } from "../../../telemetry/genai";
import { USER_REQUIRED } from "./chat";

const KEEPALIVE = sseComment("keepalive");

/**
 * Responses events as `event: <type>` frames, as the upstream sent them, ending with `[DONE]`. A failure is OpenAI's
 * ResponseErrorEvent, numbered after the last event sent (and no `[DONE]` after it).
 */
export function responsesFraming(): SseFraming<ResponsesEvent> {
  let lastSequence = -1;
  return {
    keepalive: KEEPALIVE,
    frame: (event) => {
      if (typeof event["sequence_number"] === "number") lastSequence = event["sequence_number"];
      return sseEvent(event.type, event);
    },
    closing: (end) => {
      if (end.kind !== "upstream_error") return [SSE_DONE];
      return [
        sseEvent("error", {
          type: "error",
          code: failureCode(end),
          message: STREAM_ERROR_MESSAGE,
          param: null,
          sequence_number: lastSequence + 1,
        }),
      ];
    },
  };
}

type ResponsesBody = ResponsesRequest & GatewayToolFields;

export const responses: Endpoint<ResponsesBody, ResponsesRequest, ResponsesObject, ResponsesEvent> = {
  path: "/v1/responses",
  operation: "chat",
  promptFields: ["instructions", "input"],
  user: (body) => (typeof body.user === "string" ? body.user : null),
  userRequired: USER_REQUIRED,
  estimate: (body, defaultOutput) =>
    estimateTokens(
      [body.input, body.instructions, body.tools],
      typeof body.max_output_tokens === "number" ? body.max_output_tokens : null,
      defaultOutput,
    ),
  upstream: (body) => {
    const { user: _user, ...upstream } = withoutGatewayFields(body);
    return upstream;
  },
  json: "responses",
  stream: { requested: (body) => body.stream === true, method: "responsesStream", framing: () => responsesFraming() },
  trace: {
    request: responsesRequestFacts,
    response: (body) => ({ id: body.id, model: typeof body.model === "string" ? body.model : null }),
  },
  loop: { protocol: responsesLoop, fields: (body) => body, firstAttemptOnly: true },
};
