/** The time ranges pages offer, with the bucket each one charts by. */
import { Select } from "./ui";

export const RANGES = {
  "1h": { label: "Last hour", ms: 3_600_000, bucket: "minute" },
  "24h": { label: "Last 24 hours", ms: 86_400_000, bucket: "hour" },
  "7d": { label: "Last 7 days", ms: 7 * 86_400_000, bucket: "hour" },
  "30d": { label: "Last 30 days", ms: 30 * 86_400_000, bucket: "day" },
  "90d": { label: "Last 90 days", ms: 90 * 86_400_000, bucket: "day" },
} as const;
export type RangeKey = keyof typeof RANGES;

/** The range ending now, as ISO strings (the API's query format). */
export function rangeOf(key: RangeKey): { start: string; end: string; bucket: "minute" | "hour" | "day" } {
  const end = Date.now();
  return { start: new Date(end - RANGES[key].ms).toISOString(), end: new Date(end).toISOString(), bucket: RANGES[key].bucket };
}

export function RangePicker(props: { value: RangeKey; onChange: (k: RangeKey) => void }) {
  return <Select label="Range" value={props.value} onChange={(v) => props.onChange(v as RangeKey)} options={Object.entries(RANGES).map(([k, r]) => [k, r.label])} />;
}
