/**
 * Prometheus text parsing for tests. The exposition is validated by the `parse-prometheus-text-format` library
 * (it throws on malformed input and must find every family); samples are then read line by line as
 * `name{labels}` -> value, because that library drops histogram labels.
 */
// @ts-expect-error the package ships no type declarations
import parse from "parse-prometheus-text-format";

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?\s+(\S+)(?:\s+\d+)?$/;

export function parsePrometheus(text: string): Map<string, number> {
  const families = parse(text) as { name: string }[];
  if (!Array.isArray(families) || families.length === 0) throw new Error("no metric families in the exposition");
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`malformed sample line: ${line}`);
    out.set(`${m[1]}${m[2] ?? "{}"}`, Number(m[3]));
  }
  return out;
}
