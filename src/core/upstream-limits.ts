/**
 * How much of an upstream's answer the gateway holds at once (config `upstream_max_body_bytes` and
 * `upstream_max_event_bytes`). Generous: far above any real completion, embedding batch or streamed event, small
 * enough that a broken or hostile upstream cannot take the process's memory.
 */

/** A body read whole (a JSON answer, an error body): 128 MiB. */
export const DEFAULT_UPSTREAM_MAX_BODY_BYTES = 128 * 1024 * 1024;

/** One event of a stream (an SSE line or event, an AWS eventstream message): 16 MiB. */
export const DEFAULT_UPSTREAM_MAX_EVENT_BYTES = 16 * 1024 * 1024;
