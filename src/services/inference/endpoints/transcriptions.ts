/**
 * POST /v1/audio/transcriptions: a multipart upload (25 MiB at most, the cap OpenAI documents), the transcript
 * passed back in the format asked for, as the provider wrote it. Billed per second of audio when the model's price
 * is per `second` (docs/behaviour/storage.md#units), by the duration the provider reports: `duration` of
 * verbose_json, `usage.seconds` of json, the last cue's end in srt and vtt; a `text` answer reports none, and its
 * cost is then left unknown. Otherwise billed by the tokens the provider reports (gpt-4o-transcribe).
 */
import type { Transcription, TranscriptionRequest } from "../../../core/wire/index";
import { estimateTokens } from "../estimate";
import type { Endpoint } from "../pipeline/endpoint";
import { USER_REQUIRED } from "./chat";

/** The largest upload, in bytes. */
export const TRANSCRIPTION_UPLOAD_LIMIT = 25 * 1024 * 1024;

/** Bytes per second of audio assumed for the reservation: 128 kbit/s, a common mp3 rate (settlement uses the real). */
const ESTIMATE_BYTES_PER_SECOND = 16_000;

/** A cue's end time, in srt (`00:00:02,000`) or vtt (`00:00:02.000`), right after its arrow. */
const CUE_END = /--> (\d+):(\d{2}):(\d{2})[,.](\d{3})/y;

/** The seconds of audio a transcript in `format` reports, or none. */
export function transcribedSeconds(t: Transcription, format: string | null | undefined): number | undefined {
  if (t.json) return t.json.duration ?? (t.json.usage?.type === "duration" ? t.json.usage.seconds : undefined);
  if (format !== "srt" && format !== "vtt") return undefined;
  // The last arrow followed by a time, searched from the end (an arrow in a cue's words is skipped): linear.
  let end: RegExpExecArray | null = null;
  for (let at = t.text.lastIndexOf("-->"); at !== -1 && !end; at = at > 0 ? t.text.lastIndexOf("-->", at - 1) : -1) {
    CUE_END.lastIndex = at;
    end = CUE_END.exec(t.text);
  }
  if (!end) return undefined;
  const [, h, m, s, ms] = end.map(Number) as [number, number, number, number, number];
  return h * 3600 + m * 60 + s + ms / 1000;
}

export const transcriptions: Endpoint<TranscriptionRequest, TranscriptionRequest, Transcription> = {
  path: "/v1/audio/transcriptions",
  operation: "transcriptions",
  promptFields: ["prompt"],
  user: (body) => body.user,
  userRequired: USER_REQUIRED,
  estimate: (body, defaultOutputTokens) => ({
    ...estimateTokens([body.prompt], null, defaultOutputTokens),
    units: { second: Math.ceil(body.file.size / ESTIMATE_BYTES_PER_SECOND) },
  }),
  upstream: ({ user: _user, ...rest }) => rest,
  json: "transcribe",
  verbatim: (t) => ({ text: t.text, contentType: t.contentType }),
  billing: {
    usage: (reported) => reported,
    perRequest: false,
    units: (t, request) => {
      const second = transcribedSeconds(t, (request as TranscriptionRequest).response_format);
      return second === undefined ? {} : { second };
    },
  },
};
