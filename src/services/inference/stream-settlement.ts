/** SPEC §6.3: how a stream's ending becomes its usage row and budget settlement. */
import type { Admission, SettledInfo } from "./admission";
import { failureDetail } from "../../providers/failures";
import type { PumpEnd } from "./sse-pump";

/** `extraCostMicros`: gateway tool calls made by a tool-loop stream (priced per call, SPEC §0). */
export function settleStream(admission: Admission, end: PumpEnd, extraCostMicros = 0): SettledInfo {
  const extra = { extraCostMicros };
  switch (end.kind) {
    case "completed":
      return end.usageSeen
        ? admission.finish({ usage: end.usage, statusCode: 200, ...extra }, "success")
        : admission.finish(
            { usage: admission.estimatedUsage(), estimated: true, statusCode: 200, ...extra },
            "success",
          );
    case "upstream_error": {
      const detail = failureDetail(end.error);
      if (end.usageSeen) return admission.finish({ usage: end.usage, ...detail, ...extra }, "error");
      if (end.contentSeen)
        return admission.finish({ usage: admission.estimatedUsage(), estimated: true, ...detail, ...extra }, "error");
      admission.fail(end.error, null, false, extraCostMicros);
      return { costMicros: null, headers: {} };
    }
    case "client_gone":
      if (end.cutAtShutdown) {
        const errorMessage = "stream cut at shutdown (grace period over)";
        return end.usageSeen
          ? admission.finish({ usage: end.usage, statusCode: 499, errorMessage, ...extra }, "error")
          : admission.finish(
              {
                usage: admission.estimatedUsage(),
                estimated: true,
                statusCode: 499,
                errorMessage: `${errorMessage}; billed reservation estimate`,
                ...extra,
              },
              "error",
            );
      }
      return end.usageSeen
        ? admission.finish(
            { usage: end.usage, statusCode: 200, errorMessage: "client disconnected before end of stream", ...extra },
            "success",
          )
        : admission.finish(
            {
              usage: admission.estimatedUsage(),
              estimated: true,
              statusCode: 499,
              errorMessage: "client disconnected; billed reservation estimate",
              ...extra,
            },
            "error",
          );
  }
}
