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

const BUCKET_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/**
 * The range ending now, starting on a whole bucket (so a chart's first bucket is complete and the server reads
 * whole hours from its rollups), as ISO strings (the API's query format).
 */
export function rangeOf(key: RangeKey): { start: string; end: string; bucket: "minute" | "hour" | "day" } {
  const end = Date.now();
  const step = BUCKET_MS[RANGES[key].bucket];
  return {
    start: new Date(Math.floor((end - RANGES[key].ms) / step) * step).toISOString(),
    end: new Date(end).toISOString(),
    bucket: RANGES[key].bucket,
  };
}

export function RangePicker(props: { value: RangeKey; onChange: (k: RangeKey) => void }) {
  return (
    <Select
      label="Range"
      value={props.value}
      onChange={(v) => props.onChange(v as RangeKey)}
      options={Object.entries(RANGES).map(([k, r]) => [k, r.label])}
    />
  );
}
