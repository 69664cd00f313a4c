/** What the pipeline hands the HTTP layer: a JSON body or an SSE stream, with headers. */
export type Reply =
  /**
   * `raw`: the upstream's exact text of `body`, sent as it is (ProviderResult.raw); `contentType`: raw's own type
   * when it is not JSON (a transcript as text, srt or vtt).
   */
  | { kind: "json"; body: unknown; raw?: string; contentType?: string; headers: Record<string, string> }
  | { kind: "stream"; body: ReadableStream<Uint8Array>; headers: Record<string, string> };

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
} as const;
