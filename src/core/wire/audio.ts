/** OpenAI audio shapes (otari's `POST /v1/audio/speech`). */
import { z } from "zod";
import { requestUserSchema } from "./chat.ts";
import { requestModelSchema } from "./model-name.ts";

/** https://platform.openai.com/docs/api-reference/audio/createSpeech (input at most 4096 characters there). */
export const speechRequestSchema = z
  .object({
    model: requestModelSchema,
    input: z.string().min(1),
    voice: z.string().min(1),
    instructions: z.string().nullish(),
    response_format: z.string().nullish(),
    speed: z.number().min(0.25).max(4).nullish(),
    user: requestUserSchema,
  })
  .loose();
export type SpeechRequest = z.infer<typeof speechRequestSchema>;

/** The transcript formats OpenAI answers in; text, srt and vtt come back as plain text. */
export const TRANSCRIPTION_FORMATS = ["json", "text", "srt", "verbose_json", "vtt"] as const;

/**
 * https://platform.openai.com/docs/api-reference/audio/createTranscription: a multipart form, so every field but
 * `file` arrives as text (`temperature` is read as a number from it). Other fields (`timestamp_granularities[]`,
 * `chunking_strategy`, ...) are passed on as they came.
 */
export const transcriptionRequestSchema = z
  .object({
    file: z.file().describe("The audio file (flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav or webm)"),
    model: requestModelSchema,
    language: z.string().min(1).nullish(),
    prompt: z.string().nullish(),
    response_format: z.enum(TRANSCRIPTION_FORMATS).nullish(),
    temperature: z.coerce.number().min(0).max(1).nullish(),
    user: requestUserSchema,
  })
  .loose();
export type TranscriptionRequest = z.infer<typeof transcriptionRequestSchema>;

/** What OpenAI reports of a transcription's size: tokens (gpt-4o-transcribe) or seconds of audio (whisper-1). */
const transcriptionUsageSchema = z.union([
  z
    .object({
      type: z.literal("tokens"),
      input_tokens: z.number().int().min(0),
      output_tokens: z.number().int().min(0),
      total_tokens: z.number().int().min(0).optional(),
    })
    .loose(),
  z.object({ type: z.literal("duration"), seconds: z.number().min(0) }).loose(),
]);

/** A transcript in `json` or `verbose_json` (`duration`: seconds of audio, verbose_json only). */
export const transcriptionResponseSchema = z
  .object({
    text: z.string(),
    duration: z.number().min(0).nullish(),
    usage: transcriptionUsageSchema.nullish(),
  })
  .loose();
export type TranscriptionResponse = z.infer<typeof transcriptionResponseSchema>;

/**
 * A transcription as the provider answered it: `text` is the upstream's body exactly (JSON or a plain transcript),
 * `json` that body parsed when the format was JSON, `contentType` the upstream's.
 */
export interface Transcription {
  text: string;
  contentType: string;
  json: TranscriptionResponse | null;
}
