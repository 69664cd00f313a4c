/**
 * The results chart as a PNG, drawn here without dependencies: an RGB canvas, lines and a 5x7 bitmap font, encoded
 * with node:zlib's deflate and a CRC32. A line per scenario in each panel: p50, p99 and p99.9 latency and throughput
 * against wrk's concurrency (log scales), and the distribution of stream time to first byte (its percentiles
 * against the time, log scale).
 */
import { deflateSync } from "node:zlib";

type Rgb = readonly [number, number, number];

/** The classic 5x7 font (descenders in an 8th row): 5 columns per glyph, bit 0 = top row. */
const FONT_HEX: Record<string, string> = {
  " ": "0000000000",
  "!": "00005f0000",
  "#": "147f147f14",
  "%": "2313086462",
  "'": "0005030000",
  "(": "001c224100",
  ")": "0041221c00",
  "*": "082a1c2a08",
  "+": "08083e0808",
  ",": "0050300000",
  "-": "0808080808",
  ".": "0060600000",
  "/": "2010080402",
  "0": "3e5149453e",
  "1": "00427f4000",
  "2": "4261514946",
  "3": "2141454b31",
  "4": "1814127f10",
  "5": "2745454539",
  "6": "3c4a494930",
  "7": "0171090503",
  "8": "3649494936",
  "9": "064949291e",
  ":": "0036360000",
  ";": "0056360000",
  "<": "0814224100",
  "=": "1414141414",
  ">": "0041221408",
  "?": "0201510906",
  "@": "324979413e",
  A: "7e1111117e",
  B: "7f49494936",
  C: "3e41414122",
  D: "7f4141221c",
  E: "7f49494941",
  F: "7f09090901",
  G: "3e4149497a",
  H: "7f0808087f",
  I: "00417f4100",
  J: "2040413f01",
  K: "7f08142241",
  L: "7f40404040",
  M: "7f020c027f",
  N: "7f0408107f",
  O: "3e4141413e",
  P: "7f09090906",
  Q: "3e4151215e",
  R: "7f09192946",
  S: "4649494931",
  T: "01017f0101",
  U: "3f4040403f",
  V: "1f2040201f",
  W: "3f4038403f",
  X: "6314081463",
  Y: "0708700807",
  Z: "6151494543",
  "[": "007f414100",
  "]": "0041417f00",
  _: "4040404040",
  a: "2054545478",
  b: "7f48444438",
  c: "3844444420",
  d: "384444487f",
  e: "3854545418",
  f: "087e090102",
  g: "98a4a4a47c",
  h: "7f08040478",
  i: "00447d4000",
  j: "4080847d00",
  k: "7f10284400",
  l: "00417f4000",
  m: "7c04180478",
  n: "7c08040478",
  o: "3844444438",
  p: "fc24242418",
  q: "18242424fc",
  r: "7c08040408",
  s: "4854545420",
  t: "043f444020",
  u: "3c4040207c",
  v: "1c2040201c",
  w: "3c4030403c",
  x: "4428102844",
  y: "9ca0a0a07c",
  z: "4464544c44",
  "|": "00007f0000",
};
const FONT = new Map(
  Object.entries(FONT_HEX).map(([ch, hex]) => [
    ch,
    Array.from({ length: 5 }, (_, i) => Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)),
  ]),
);

class Canvas {
  readonly px: Uint8Array;
  constructor(
    readonly w: number,
    readonly h: number,
  ) {
    this.px = new Uint8Array(w * h * 3).fill(255);
  }

  set(x: number, y: number, c: Rgb): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.w || y >= this.h) return;
    const i = (y * this.w + x) * 3;
    this.px[i] = c[0];
    this.px[i + 1] = c[1];
    this.px[i + 2] = c[2];
  }

  rect(x: number, y: number, w: number, h: number, c: Rgb): void {
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) this.set(x + i, y + j, c);
  }

  /** A line `thick` pixels wide. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thick = 1): void {
    const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) * 2));
    const r = (thick - 1) / 2;
    for (let s = 0; s <= steps; s++) {
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) this.set(x + dx, y + dy, c);
    }
  }

  static textWidth(text: string, scale: number): number {
    return text.length * 6 * scale - scale;
  }

  text(x: number, y: number, text: string, c: Rgb, scale = 2): void {
    for (const ch of text) {
      const cols = FONT.get(ch) ?? FONT.get("?")!;
      cols.forEach((bits, col) => {
        for (let row = 0; row < 8; row++)
          if (bits & (1 << row)) this.rect(x + col * scale, y + row * scale, scale, scale, c);
      });
      x += 6 * scale;
    }
  }

  png(): Uint8Array {
    const raw = new Uint8Array((this.w * 3 + 1) * this.h);
    for (let y = 0; y < this.h; y++)
      raw.set(this.px.subarray(y * this.w * 3, (y + 1) * this.w * 3), y * (this.w * 3 + 1) + 1);
    const ihdr = new Uint8Array(13);
    const dv = new DataView(ihdr.buffer);
    dv.setUint32(0, this.w);
    dv.setUint32(4, this.h);
    ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter per row (each row starts with filter byte 0), no interlace
    const parts = [
      Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10),
      chunk("IHDR", ihdr),
      chunk("IDAT", deflateSync(raw, { level: 9 })),
      chunk("IEND", new Uint8Array()),
    ];
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export interface ChartSeries {
  name: string;
  points: { c: number; p50_us: number; p99_us: number; p999_us: number; rps: number }[];
  /** Stream time to first byte, every sample sorted (ms); absent when not measured. */
  ttfb_ms?: number[];
}

/** Fixed colours per scenario, so a chart reads the same when a scenario is missing. */
const COLORS: Record<string, Rgb> = {
  direct: [120, 120, 120],
  "bare-proxy": [31, 119, 180],
  portkey: [148, 103, 189],
  "gateway-sqlite": [44, 160, 44],
  "gateway-postgres": [255, 127, 14],
  "gateway-sqlite-all-levels": [23, 190, 207],
  "gateway-postgres-all-levels": [188, 189, 34],
  traced: [227, 119, 194],
};
const FALLBACK: Rgb = [214, 39, 40];
const colorOf = (name: string): Rgb => COLORS[name] ?? FALLBACK;
const INK: Rgb = [30, 30, 30];
const GRID: Rgb = [225, 225, 225];
const AXIS: Rgb = [150, 150, 150];

const fmtMs = (ms: number): string => (ms >= 1 ? String(Number(ms.toPrecision(3))) : String(Number(ms.toPrecision(2))));
const fmtRps = (v: number): string => (v >= 1000 ? `${Number((v / 1000).toPrecision(3))}k` : String(Math.round(v)));

/** A "nice" linear step (1, 2, 2.5 or 5 times a power of ten) giving about five intervals up to `hi`. */
function linearStep(hi: number): number {
  const raw = hi / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
}

/** Gridline values: 1-2-5 steps on a log axis, linearStep() steps from 0 on a linear one. */
function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++)
      for (const m of [1, 2, 5]) out.push(m * 10 ** e);
    return out.filter((v) => v >= lo * 0.999 && v <= hi * 1.001);
  }
  const step = linearStep(hi);
  return Array.from({ length: Math.floor(hi / step + 1e-9) + 1 }, (_, i) => i * step);
}

interface PanelSpec {
  title: string;
  value: (p: ChartSeries["points"][number]) => number;
  label: (v: number) => string;
  log: boolean;
}

function panel(
  cv: Canvas,
  box: { x: number; y: number; w: number; h: number },
  series: ChartSeries[],
  spec: PanelSpec,
): void {
  const { title, value, log } = spec;
  const left = box.x + 70;
  const right = box.x + box.w - 15;
  const top = box.y + 30;
  const bottom = box.y + box.h - 45;
  cv.text(box.x + (box.w - Canvas.textWidth(title, 2)) / 2, box.y, title, INK, 2);
  const all = series.flatMap((s) => s.points);
  const cs = [...new Set(all.map((p) => p.c))].sort((a, b) => a - b);
  const vs = all.map(value).filter((v) => v > 0 && Number.isFinite(v));
  if (cs.length === 0 || vs.length === 0) return;
  let lo = log ? Math.min(...vs) / 1.3 : 0;
  let hi = Math.max(...vs) * (log ? 1.3 : 1.1);
  if (log) {
    // Snap to 1-2-5 values so the axis starts and ends on a labelled gridline.
    lo =
      ticks(lo / 2.5, lo, true)
        .filter((v) => v <= lo)
        .at(-1) ?? lo;
    hi = ticks(hi, hi * 2.5, true)[0] ?? hi;
  } else hi = Math.ceil(hi / linearStep(hi)) * linearStep(hi);
  const cMin = cs[0]!;
  const cMax = cs.at(-1)!;
  const xOf = (c: number) =>
    cMax === cMin
      ? (left + right) / 2
      : left + ((Math.log(c) - Math.log(cMin)) / (Math.log(cMax) - Math.log(cMin))) * (right - left);
  const yOf = (v: number) =>
    log
      ? bottom - ((Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * (bottom - top)
      : bottom - (v / hi) * (bottom - top);
  for (const t of ticks(lo, hi, log)) {
    const y = yOf(t);
    cv.line(left, y, right, y, GRID);
    const label = spec.label(t);
    cv.text(left - 8 - Canvas.textWidth(label, 2), y - 7, label, INK, 2);
  }
  for (const c of cs) {
    const x = xOf(c);
    cv.line(x, top, x, bottom, GRID);
    cv.text(x - Canvas.textWidth(String(c), 2) / 2, bottom + 8, String(c), INK, 2);
  }
  cv.line(left, top, left, bottom, AXIS);
  cv.line(left, bottom, right, bottom, AXIS);
  const xLabel = "concurrency (connections)";
  cv.text((left + right - Canvas.textWidth(xLabel, 2)) / 2, bottom + 28, xLabel, AXIS, 2);
  for (const s of series) {
    const color = colorOf(s.name);
    const pts = s.points
      .filter((p) => value(p) > 0 && Number.isFinite(value(p)))
      .sort((a, b) => a.c - b.c)
      .map((p) => [xOf(p.c), yOf(value(p))] as const);
    for (let k = 1; k < pts.length; k++) cv.line(pts[k - 1]![0], pts[k - 1]![1], pts[k]![0], pts[k]![1], color, 3);
    for (const [x, y] of pts) cv.rect(x - 4, y - 4, 9, 9, color);
  }
}

/**
 * The distribution of stream time to first byte: for each scenario, its sorted samples as percentile (linear, 0-100)
 * against the time (log), so a curve further left is faster and a long flat top is the tail.
 */
function cdfPanel(cv: Canvas, box: { x: number; y: number; w: number; h: number }, series: ChartSeries[]): void {
  const left = box.x + 70;
  const right = box.x + box.w - 15;
  const top = box.y + 30;
  const bottom = box.y + box.h - 45;
  const title = "stream time to first byte: percentile vs ms (log)";
  cv.text(box.x + (box.w - Canvas.textWidth(title, 2)) / 2, box.y, title, INK, 2);
  const all = series.flatMap((s) => s.ttfb_ms ?? []).filter((v) => v > 0 && Number.isFinite(v));
  if (all.length === 0) return;
  const lo =
    ticks(Math.min(...all) / 2.5, Math.min(...all), true)
      .filter((v) => v <= Math.min(...all))
      .at(-1) ?? Math.min(...all);
  const hi = ticks(Math.max(...all), Math.max(...all) * 2.5, true)[0] ?? Math.max(...all);
  const xOf = (v: number) => left + ((Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * (right - left);
  const yOf = (q: number) => bottom - (q / 100) * (bottom - top);
  for (const q of [0, 25, 50, 75, 90, 99]) {
    cv.line(left, yOf(q), right, yOf(q), GRID);
    cv.text(left - 8 - Canvas.textWidth(String(q), 2), yOf(q) - 7, String(q), INK, 2);
  }
  for (const t of ticks(lo, hi, true)) {
    cv.line(xOf(t), top, xOf(t), bottom, GRID);
    cv.text(xOf(t) - Canvas.textWidth(fmtMs(t), 2) / 2, bottom + 8, fmtMs(t), INK, 2);
  }
  cv.line(left, top, left, bottom, AXIS);
  cv.line(left, bottom, right, bottom, AXIS);
  const xLabel = "time to first byte, ms";
  cv.text((left + right - Canvas.textWidth(xLabel, 2)) / 2, bottom + 28, xLabel, AXIS, 2);
  for (const s of series) {
    const xs = (s.ttfb_ms ?? []).filter((v) => v > 0 && Number.isFinite(v));
    const pts = xs.map((v, i) => [xOf(v), yOf((100 * (i + 1)) / xs.length)] as const);
    for (let k = 1; k < pts.length; k++)
      cv.line(pts[k - 1]![0], pts[k - 1]![1], pts[k]![0], pts[k]![1], colorOf(s.name), 3);
  }
}

/** The chart: a title, a legend, latency percentiles and throughput against concurrency, and the TTFB distribution. */
export function renderChart(series: ChartSeries[], title: string, subtitle: string): Uint8Array {
  const W = 1560;
  const rowH = 510;
  // The legend wraps onto as many lines as it needs; the panels start below it.
  const legend: { name: string; x: number; line: number }[] = [];
  let x = 20;
  let line = 0;
  for (const s of series) {
    const w = 24 + Canvas.textWidth(s.name, 2);
    if (x + w > W - 20 && x > 20) {
      x = 20;
      line++;
    }
    legend.push({ name: s.name, x, line });
    x += w + 36;
  }
  const top = 120 + 26 * line;
  const cv = new Canvas(W, top + 2 * rowH + 10);
  cv.text(20, 16, title, INK, 3);
  cv.text(20, 50, subtitle, AXIS, 2);
  for (const l of legend) {
    cv.rect(l.x, 82 + 26 * l.line, 16, 16, colorOf(l.name));
    cv.text(l.x + 24, 83 + 26 * l.line, l.name, INK, 2);
  }
  const panelW = Math.floor((W - 20) / 3);
  const box = (col: number, row: number, span = 1) => ({
    x: 10 + col * panelW,
    y: top + row * rowH,
    w: panelW * span,
    h: rowH - 10,
  });
  const latency = (t: number) => fmtMs(t / 1000);
  panel(cv, box(0, 0), series, { title: "p50 latency, ms (log)", value: (p) => p.p50_us, label: latency, log: true });
  panel(cv, box(1, 0), series, { title: "p99 latency, ms (log)", value: (p) => p.p99_us, label: latency, log: true });
  panel(cv, box(2, 0), series, {
    title: "p99.9 latency, ms (log)",
    value: (p) => p.p999_us,
    label: latency,
    log: true,
  });
  panel(cv, box(0, 1), series, {
    title: "throughput, requests/s (log)",
    value: (p) => p.rps,
    label: fmtRps,
    log: true,
  });
  cdfPanel(cv, box(1, 1, 2), series);
  return cv.png();
}
