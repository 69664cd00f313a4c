/** The seconds of audio a transcript reports, per format (what a price per `second` bills). */
import { describe, expect, test } from "bun:test";
import type { Transcription } from "../../../core/wire/index";
import { transcribedSeconds } from "./transcriptions";

const plain = (text: string): Transcription => ({ text, contentType: "text/plain", json: null });

describe("transcribedSeconds", () => {
  test("verbose_json's duration, json's usage seconds; none from token usage", () => {
    const json = (body: Transcription["json"]): Transcription => ({
      text: "",
      contentType: "application/json",
      json: body,
    });
    expect(transcribedSeconds(json({ text: "x", duration: 8.47 }), "verbose_json")).toBe(8.47);
    expect(transcribedSeconds(json({ text: "x", usage: { type: "duration", seconds: 9 } }), "json")).toBe(9);
    const tokens = { type: "tokens" as const, input_tokens: 1, output_tokens: 2 };
    expect(transcribedSeconds(json({ text: "x", usage: tokens }), "json")).toBeUndefined();
  });

  test("srt and vtt: the end of the last cue", () => {
    const srt = "1\n00:00:00,000 --> 00:00:02,500\nhello\n\n2\n00:00:02,500 --> 01:02:03,040\nworld\n\n";
    expect(transcribedSeconds(plain(srt), "srt")).toBeCloseTo(3723.04, 9);
    const vtt = "WEBVTT\n\n00:00:00.000 --> 00:00:04.000\nhi --> there\n\n";
    // An arrow in a cue's words is not a cue's: the last arrow followed by a time counts.
    expect(transcribedSeconds(plain(vtt), "vtt")).toBe(4);
    expect(transcribedSeconds(plain("WEBVTT\n\n00:00:00.000 --> 00:00:04.000\nhi\n"), "vtt")).toBe(4);
  });

  test("text reports none, even with an arrow in it", () => {
    expect(transcribedSeconds(plain("a --> 00:00:04.000\n"), "text")).toBeUndefined();
    expect(transcribedSeconds(plain("no cues"), "srt")).toBeUndefined();
  });
});
