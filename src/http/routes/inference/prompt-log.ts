/**
 * `log_prompts` (SPEC §0 config): a debugging aid that writes what a request asked for (its messages, system
 * prompt, input) at debug level, after authentication, on the inference routes. It is on only when
 * `log_prompts: true` AND `log_level: debug`; otherwise nothing is built or written. Never enable it where prompts
 * may hold personal data or secrets: the log then holds them too.
 */
import type { Config } from "../../../config/load";
import { logger } from "../../../platform/logger";

const log = logger("prompts");

/** The fields of a request body that carry prompt text, by endpoint. */
const PROMPT_FIELDS: Record<string, readonly string[]> = {
  "/v1/chat/completions": ["messages"],
  "/v1/messages": ["system", "messages"],
  "/v1/responses": ["instructions", "input"],
  "/v1/embeddings": ["input"],
  "/v1/moderations": ["input"],
};

export type PromptLogger = (endpoint: string, body: Record<string, unknown>) => void;

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
    const fields: Record<string, unknown> = { endpoint, model: body.model };
    for (const name of PROMPT_FIELDS[endpoint] ?? []) if (body[name] !== undefined) fields[name] = body[name];
    log.debug("prompt", fields);
  };
}
