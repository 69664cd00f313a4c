/**
 * `log_prompts` (docs/operations.md#prompt-logging): a debugging aid that writes what a request asked for (its
 * messages, system prompt, input) at debug level, after authentication, on the inference routes. It is on only when
 * `log_prompts: true` AND `log_level: debug`; otherwise nothing is built or written. Never enable it where prompts may
 * hold personal data or secrets: the log then holds them too.
 */
import type { Config } from "../../../config/load";
import { logger } from "../../../runtime/logger";
import type { EndpointInfo } from "../../../services/inference/pipeline/endpoint";

const log = logger("prompts");

export type PromptLogger = (endpoint: EndpointInfo, body: { model: string }) => void;

/** True when prompt logging is switched on by config (both settings). */
export const promptLoggingEnabled = (config: Pick<Config, "log_prompts" | "log_level">): boolean =>
  config.log_prompts && config.log_level === "debug";

let warned = false;

/** A no-op unless prompt logging is on; the request id comes from the request context. Warns once per process. */
export function createPromptLogger(config: Pick<Config, "log_prompts" | "log_level">): PromptLogger {
  if (config.log_prompts && !warned) {
    warned = true;
    if (promptLoggingEnabled(config))
      log.warn("log_prompts is on: request messages are written to the log (debugging only)");
    else log.warn("log_prompts has no effect unless log_level is debug");
  }
  if (!promptLoggingEnabled(config)) return () => undefined;
  return (endpoint, body) => {
    const fields: Record<string, unknown> = { endpoint: endpoint.path, model: body.model };
    const read = body as Record<string, unknown>;
    for (const name of endpoint.promptFields) if (read[name] !== undefined) fields[name] = read[name];
    log.debug("prompt", fields);
  };
}
