/** SPEC §6.3: how a stream's ending becomes its usage row and budget settlement. */
import type { Admission, SettledInfo } from "./admission";
import { failureDetail } from "./failures";
import type { PumpEnd } from "./sse-pump";

export function settleStream(admission: Admission, end: PumpEnd): SettledInfo {
  switch (end.kind) {
    case "completed":
      return end.usageSeen
        ? admission.finish({ usage: end.usage, statusCode: 200 }, "success")
        : admission.finish({ usage: admission.estimatedUsage(), estimated: true, statusCode: 200 }, "success");
    case "upstream_error": {
      const detail = failureDetail(end.error);
      if (end.usageSeen) return admission.finish({ usage: end.usage, ...detail }, "error");
      if (end.contentSeen) return admission.finish({ usage: admission.estimatedUsage(), estimated: true, ...detail }, "error");
      admission.fail(end.error);
      return { costMicros: null, headers: {} };
    }
    case "client_gone":
      if (end.cutAtShutdown) {
        const errorMessage = "stream cut at shutdown (grace period over)";
        return end.usageSeen
          ? admission.finish({ usage: end.usage, statusCode: 499, errorMessage }, "error")
          : admission.finish({ usage: admission.estimatedUsage(), estimated: true, statusCode: 499, errorMessage: `${errorMessage}; billed reservation estimate` }, "error");
      }
      return end.usageSeen
        ? admission.finish({ usage: end.usage, statusCode: 200, errorMessage: "client disconnected before end of stream" }, "success")
        : admission.finish(
            { usage: admission.estimatedUsage(), estimated: true, statusCode: 499, errorMessage: "client disconnected; billed reservation estimate" },
            "error",
          );
  }
}
