/**
 * A hand-written SVG line chart (no chart library: a few hundred bytes instead of tens of kilobytes). Each series
 * is a line over the buckets; a single series also gets a filled area. The numbers behind it are one click away in
 * a table, for screen readers and for anyone who wants the exact values.
 */
import { useState } from "preact/hooks";
import { ScrollBox } from "./ui";

export interface ChartSeries {
  name: string;
  values: (number | null)[];
}

const W = 640;
const H = 220;
const M = { left: 58, right: 12, top: 12, bottom: 26 };

/** A round step for about five gridlines. */
function niceMax(max: number): { top: number; step: number } {
  if (max <= 0) return { top: 1, step: 0.25 };
  const raw = max / 4;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? raw;
  return { top: Math.ceil(max / step) * step, step };
}

function label(iso: string, spanMs: number): string {
  const d = new Date(iso);
  if (spanMs <= 2 * 86_400_000) return d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  return d.toLocaleDateString("en-GB", { month: "short", day: "2-digit" });
}

export function LineChart(props: {
  title: string;
  timestamps: string[];
  series: ChartSeries[];
  format: (n: number) => string;
  testId?: string;
}) {
  const [showData, setShowData] = useState(false);
  const n = props.timestamps.length;
  const all = props.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const { top, step } = niceMax(Math.max(0, ...all));
  const x = (i: number) => M.left + (n <= 1 ? 0 : (i / (n - 1)) * (W - M.left - M.right));
  const y = (v: number) => H - M.bottom - (v / top) * (H - M.top - M.bottom);
  const span = n > 1 ? Date.parse(props.timestamps[n - 1]!) - Date.parse(props.timestamps[0]!) : 0;
  const ticks = Array.from({ length: Math.round(top / step) + 1 }, (_, i) => i * step);
  const xLabels =
    n <= 1 ? [0] : Array.from({ length: Math.min(6, n) }, (_, i) => Math.round((i * (n - 1)) / (Math.min(6, n) - 1)));
  const path = (values: (number | null)[]) => {
    let d = "";
    let pen = false;
    values.forEach((v, i) => {
      if (v === null) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    return d;
  };
  const totals = props.series.map((s) => s.values.reduce<number>((a, v) => a + (v ?? 0), 0));
  const single = props.series.length === 1 ? props.series[0] : null;
  return (
    <figure class="chart" data-testid={props.testId}>
      <figcaption>{props.title}</figcaption>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`${props.title}. ${props.series.map((s, i) => `${s.name}: ${props.format(totals[i]!)} in total`).join("; ")}`}
      >
        {ticks.map((t) => (
          <g key={t}>
            <line class="grid" x1={M.left} x2={W - M.right} y1={y(t)} y2={y(t)} />
            <text class="tick" x={M.left - 6} y={y(t) + 4} text-anchor="end">
              {props.format(t)}
            </text>
          </g>
        ))}
        {xLabels.map((i) => (
          <text
            key={i}
            class="tick"
            x={x(i)}
            y={H - 6}
            text-anchor={i === 0 ? "start" : i === n - 1 ? "end" : "middle"}
          >
            {props.timestamps[i] ? label(props.timestamps[i]!, span) : ""}
          </text>
        ))}
        {single && n > 1 && (
          <path class="area s0" d={`${path(single.values.map((v) => v ?? 0))}L${x(n - 1)},${y(0)}L${x(0)},${y(0)}Z`} />
        )}
        {props.series.map((s, i) => (
          <path key={s.name} class={`line s${i % 7}`} d={path(s.values)} />
        ))}
      </svg>
      {props.series.length > 1 && (
        <ul class="legend">
          {props.series.map((s, i) => (
            <li key={s.name}>
              <span class={`swatch s${i % 7}`} aria-hidden="true" />
              {s.name}: {props.format(totals[i]!)}
            </li>
          ))}
        </ul>
      )}
      <button type="button" class="link" aria-expanded={showData} onClick={() => setShowData(!showData)}>
        {showData ? "Hide data" : "Show data"}
      </button>
      {showData && (
        <ScrollBox label={`${props.title} data`}>
          <table>
            <thead>
              <tr>
                <th scope="col">Time</th>
                {props.series.map((s) => (
                  <th scope="col" class="num" key={s.name}>
                    {s.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {props.timestamps.map((t, i) => (
                <tr key={t}>
                  <td>{new Date(t).toLocaleString("en-GB")}</td>
                  {props.series.map((s) => (
                    <td class="num" key={s.name}>
                      {s.values[i] === null ? "—" : props.format(s.values[i]!)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollBox>
      )}
    </figure>
  );
}

/** Horizontal bars for a ranking (top models, keys...). */
export function BarList(props: {
  title: string;
  items: { name: string; value: number; hint?: string }[];
  format: (n: number) => string;
  testId?: string;
}) {
  const max = Math.max(0, ...props.items.map((i) => i.value));
  return (
    <section class="panel" data-testid={props.testId} aria-label={props.title}>
      <h3>{props.title}</h3>
      {props.items.length === 0 ? (
        <p class="muted">No usage in this range.</p>
      ) : (
        <ol class="bars">
          {props.items.map((item) => (
            <li key={item.name}>
              <div class="bar-label">
                <span class="bar-name">{item.name}</span>
                <span class="num">{props.format(item.value)}</span>
              </div>
              <div class="bar-track" aria-hidden="true">
                <div class="bar-fill" style={{ width: `${max ? (item.value / max) * 100 : 0}%` }} />
              </div>
              {item.hint && <small class="muted">{item.hint}</small>}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
