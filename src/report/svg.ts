// A small dependency-free SVG chart library: line, scatter and line+marker series on linear or log
// axes with "nice" ticks, a legend, title, axis labels and reference lines; returns an SVG string.
// Plain numbers in, text out: callers (cli/, report/) decide where the file goes (write it atomically).
// Points that cannot be drawn (non-finite, or ≤ 0 on a log axis) are skipped and break a line.

export type Scale = "linear" | "log";
export type MarkerShape = "circle" | "square" | "triangle" | "diamond" | "cross";

export interface Series {
  /** Legend label; an empty name leaves the series out of the legend. */
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** "line" (default), "scatter" (markers only) or "line+markers". */
  mode?: "line" | "scatter" | "line+markers";
  /** CSS colour; default from the categorical palette by series index. */
  color?: string;
  /** Line width in px (default 2). */
  width?: number;
  /** SVG dash pattern, e.g. "6 4". */
  dash?: string;
  /** Marker shape for scatter / line+markers (default circle). */
  marker?: MarkerShape;
  /** Marker radius in px (default 3.5). */
  markerSize?: number;
  /** Opacity of the series, 0–1 (default 1; scatter default 0.85). */
  opacity?: number;
}

/** A vertical (axis "x") or horizontal (axis "y") reference line with an optional label. */
export interface RefLine {
  axis: "x" | "y";
  value: number;
  label?: string;
  color?: string;
  dash?: string;
}

export interface ChartOptions {
  title?: string;
  subtitle?: string;
  xLabel?: string;
  yLabel?: string;
  xScale?: Scale;
  yScale?: Scale;
  /** Fixed axis ranges; default: the data range, widened to nice tick values. */
  xDomain?: [number, number];
  yDomain?: [number, number];
  /** Canvas size in px (default 760 × 460). */
  width?: number;
  height?: number;
  /** Legend to the right of the plot (default when any series is named) or none. */
  legend?: "right" | "none";
  /** Optional heading above the legend entries. */
  legendTitle?: string;
  refLines?: RefLine[];
  /** Light grid lines at the major ticks (default true). */
  grid?: boolean;
  xTickFormat?: (v: number) => string;
  yTickFormat?: (v: number) => string;
  /** Prefix for element ids (default "chart"); set distinct ids to inline several charts in one page. */
  id?: string;
}

/** Tableau-10, a categorical palette that stays readable for most colour-vision deficiencies. */
export const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

/** Categorical colour i (cycles). */
export function paletteColor(i: number): string {
  return PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length];
}

const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
/** A sequential colour for t ∈ [0, 1] (viridis-like, dark purple → yellow), for ordered groups. */
export function sequentialColor(t: number): string {
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(u));
  const f = u - i;
  const c = VIRIDIS[i].map((a, k) => Math.round(a + (VIRIDIS[i + 1][k] - a) * f));
  return `#${c.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}

/** Escape text for SVG element content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A 1/2/5 × 10^k step giving about `target` intervals over [min, max]. */
export function niceStep(min: number, max: number, target = 6): number {
  const span = max - min;
  if (!(span > 0)) return Math.abs(max) > 0 ? Math.pow(10, Math.floor(Math.log10(Math.abs(max)))) : 1;
  const raw = span / Math.max(1, target);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const r = raw / mag;
  return cleanFloat((r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag);
}

/** Ticks at multiples of a nice step covering [min, max] (endpoints included when on the grid). */
export function linearTicks(min: number, max: number, target = 6): number[] {
  const step = niceStep(min, max, target);
  const out: number[] = [];
  const start = Math.ceil(min / step - 1e-9);
  const end = Math.floor(max / step + 1e-9);
  for (let k = start; k <= end; k++) out.push(cleanFloat(k * step));
  return out;
}

function cleanFloat(v: number): number {
  return v === 0 ? 0 : Number(v.toPrecision(12));
}

/**
 * Ticks for a log axis over [min, max] (both > 0): powers of ten (every k-th one when there are
 * many decades); within a narrow range 1-2-5 × 10^k, or 1…9 × 10^k when even those are too few.
 */
export function logTicks(min: number, max: number): { major: number[]; minor: number[] } {
  const lo = Math.log10(min);
  const hi = Math.log10(max);
  const major: number[] = [];
  const minor: number[] = [];
  const d0 = Math.floor(lo + 1e-9);
  const d1 = Math.ceil(hi - 1e-9);
  const inRange = (v: number) => v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9);
  const decades = hi - lo;
  if (decades >= 1.5) {
    const every = Math.max(1, Math.ceil(decades / 8));
    for (let k = d0; k <= d1; k++) {
      const v = cleanFloat(Math.pow(10, k));
      if (!inRange(v)) continue;
      if (k % every === 0) major.push(v);
      else minor.push(v);
      if (every === 1 && decades < 6) {
        for (let m = 2; m <= 9; m++) if (inRange(cleanFloat(m * v))) minor.push(cleanFloat(m * v));
      }
    }
    if (every === 1 && decades < 6) for (let m = 2; m <= 9; m++) {
      const v = cleanFloat(m * Math.pow(10, d0 - 1));
      if (inRange(v)) minor.push(v);
    }
    return { major, minor: minor.sort((a, b) => a - b) };
  }
  for (const mults of [[1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    major.length = 0;
    minor.length = 0;
    for (let k = d0 - 1; k <= d1; k++) {
      for (let m = 1; m <= 9; m++) {
        const v = cleanFloat(m * Math.pow(10, k));
        if (!inRange(v)) continue;
        (mults.includes(m) ? major : minor).push(v);
      }
    }
    if (major.length >= 3) return { major, minor };
  }
  // Narrower than one 1…9 step: fall back to linear ticks inside the range.
  return { major: linearTicks(min, max, 4).filter((v) => v > 0), minor: [] };
}

const SUP: Record<string, string> = { "-": "⁻", "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹" };

/**
 * Format a tick value compactly: 0.25, 250, 1.5e-4, 2e9; decades on log axes as 10¹⁸. `exp` forces
 * exponent notation (used for a whole axis whose largest tick is ≥ 1e5 or < 0.01, so labels agree).
 */
export function formatTick(v: number, step?: number, log = false, exp?: boolean): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (log) {
    const k = Math.log10(a);
    if (Math.abs(k - Math.round(k)) < 1e-9 && (a >= 1e5 || a < 1e-3)) {
      return `${v < 0 ? "-" : ""}10${String(Math.round(k)).split("").map((c) => SUP[c] ?? c).join("")}`;
    }
  }
  if (exp ?? (a >= 1e5 || a < 1e-3)) {
    // Enough mantissa digits to tell neighbouring ticks apart.
    const e = Math.floor(Math.log10(a));
    const digits = step ? Math.max(0, Math.min(6, e - Math.floor(Math.log10(step) + 1e-9))) : 2;
    let s = v.toExponential(digits);
    s = s.replace(/\.?0+e/, "e").replace("e+", "e");
    return s;
  }
  if (step && step < 1) {
    const dec = Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9)));
    return v.toFixed(dec);
  }
  return String(cleanFloat(Number(v.toPrecision(6))));
}

interface Axis {
  scale: Scale;
  min: number;
  max: number;
  major: number[];
  minor: number[];
  step?: number;
  fmt: (v: number) => string;
}

function usable(v: number, scale: Scale): boolean {
  return Number.isFinite(v) && (scale === "linear" || v > 0);
}

function buildAxis(values: number[], refs: number[], scale: Scale, fixed: [number, number] | undefined, fmt: ((v: number) => string) | undefined): Axis {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of [...values, ...refs]) {
    if (!usable(v, scale)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (fixed) [lo, hi] = fixed;
  if (!(lo <= hi)) [lo, hi] = scale === "log" ? [1, 10] : [0, 1];
  if (scale === "log") {
    if (lo === hi) [lo, hi] = [lo / 2, hi * 2];
    if (!fixed) {
      const span = Math.log10(hi) - Math.log10(lo);
      if (span >= 2) [lo, hi] = [Math.pow(10, Math.floor(Math.log10(lo) + 1e-9)), Math.pow(10, Math.ceil(Math.log10(hi) - 1e-9))];
      else [lo, hi] = [lo / Math.pow(10, 0.04 * span + 0.01), hi * Math.pow(10, 0.04 * span + 0.01)];
    }
    const { major, minor } = logTicks(lo, hi);
    return { scale, min: lo, max: hi, major, minor, fmt: fmt ?? ((v) => formatTick(v, undefined, true)) };
  }
  if (lo === hi) [lo, hi] = lo === 0 ? [-1, 1] : [lo - Math.abs(lo) * 0.1, hi + Math.abs(hi) * 0.1];
  if (!fixed) {
    // 4% margins (as matplotlib), so that lines on the data extremes stay off the frame.
    const pad = 0.04 * (hi - lo);
    [lo, hi] = [lo - pad, hi + pad];
  }
  const major = linearTicks(lo, hi);
  const st = niceStep(lo, hi);
  const maxAbs = Math.max(...major.map(Math.abs));
  const exp = maxAbs >= 1e5 || (maxAbs > 0 && maxAbs < 1e-2);
  return { scale, min: lo, max: hi, major, minor: [], step: st, fmt: fmt ?? ((v) => formatTick(v, st, false, exp)) };
}

function project(axis: Axis, v: number, p0: number, p1: number): number {
  const t = axis.scale === "log"
    ? (Math.log10(v) - Math.log10(axis.min)) / (Math.log10(axis.max) - Math.log10(axis.min))
    : (v - axis.min) / (axis.max - axis.min);
  return p0 + t * (p1 - p0);
}

const r2 = (v: number) => String(Math.round(v * 100) / 100);
/** Rough text width in px for the sans-serif font at `size` px (layout only). */
const textWidth = (s: string, size: number) => s.length * size * 0.58;

function markerSvg(shape: MarkerShape, x: number, y: number, r: number, color: string): string {
  switch (shape) {
    case "circle": return `<circle cx="${r2(x)}" cy="${r2(y)}" r="${r2(r)}"/>`;
    case "square": return `<rect x="${r2(x - r)}" y="${r2(y - r)}" width="${r2(2 * r)}" height="${r2(2 * r)}"/>`;
    case "triangle": return `<path d="M${r2(x)},${r2(y - 1.2 * r)}L${r2(x + 1.1 * r)},${r2(y + 0.8 * r)}L${r2(x - 1.1 * r)},${r2(y + 0.8 * r)}Z"/>`;
    case "diamond": return `<path d="M${r2(x)},${r2(y - 1.3 * r)}L${r2(x + 1.3 * r)},${r2(y)}L${r2(x)},${r2(y + 1.3 * r)}L${r2(x - 1.3 * r)},${r2(y)}Z"/>`;
    case "cross": return `<path d="M${r2(x - r)},${r2(y - r)}L${r2(x + r)},${r2(y + r)}M${r2(x - r)},${r2(y + r)}L${r2(x + r)},${r2(y - r)}" stroke="${color}" stroke-width="1.5" fill="none"/>`;
  }
}

/** Render series as an SVG chart; returns the document as a string (with XML declaration). */
export function chart(series: Series[], opts: ChartOptions = {}): string {
  const W = opts.width ?? 760;
  const H = opts.height ?? 460;
  const xScale = opts.xScale ?? "linear";
  const yScale = opts.yScale ?? "linear";
  const refs = opts.refLines ?? [];
  const allX: number[] = [];
  const allY: number[] = [];
  for (const s of series) {
    const n = Math.min(s.x.length, s.y.length);
    for (let i = 0; i < n; i++) {
      if (usable(s.x[i], xScale) && usable(s.y[i], yScale)) {
        allX.push(s.x[i]);
        allY.push(s.y[i]);
      }
    }
  }
  const xa = buildAxis(allX, refs.filter((r) => r.axis === "x").map((r) => r.value), xScale, opts.xDomain, opts.xTickFormat);
  const ya = buildAxis(allY, refs.filter((r) => r.axis === "y").map((r) => r.value), yScale, opts.yDomain, opts.yTickFormat);

  const font = 12;
  const named = series.filter((s) => s.name !== "");
  const showLegend = (opts.legend ?? "right") === "right" && named.length > 0;
  const legendW = showLegend
    ? Math.min(260, 34 + Math.max(...named.map((s) => textWidth(s.name, font)), opts.legendTitle ? textWidth(opts.legendTitle, font) : 0)) + 12
    : 0;
  const yLabelW = Math.max(...ya.major.map((v) => textWidth(ya.fmt(v), 11)), 10);
  const xRefLabels = refs.some((r) => r.axis === "x" && r.label);
  const top = 20 + (opts.title ? 22 : 0) + (opts.subtitle ? 18 : 0) + (xRefLabels ? 12 : 0);
  const left = 16 + (opts.yLabel ? 20 : 0) + yLabelW + 8;
  const bottom = 36 + (opts.xLabel ? 20 : 0);
  const right = 20 + legendW;
  const px0 = left, px1 = W - right, py0 = H - bottom, py1 = top;
  const X = (v: number) => project(xa, v, px0, px1);
  const Y = (v: number) => project(ya, v, py0, py1);
  const clipId = `${(opts.id ?? "chart").replace(/[^A-Za-z0-9_-]/g, "_")}-plot-area`;

  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="${font}">`);
  if (opts.title) out.push(`<title>${escapeXml(opts.title)}</title>`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<defs><clipPath id="${clipId}"><rect x="${r2(px0)}" y="${r2(py1)}" width="${r2(px1 - px0)}" height="${r2(py0 - py1)}"/></clipPath></defs>`);
  if (opts.title) out.push(`<text x="${r2(px0)}" y="26" font-size="16" font-weight="600" fill="#222">${escapeXml(opts.title)}</text>`);
  if (opts.subtitle) out.push(`<text x="${r2(px0)}" y="${opts.title ? 46 : 26}" font-size="12" fill="#666">${escapeXml(opts.subtitle)}</text>`);

  // Grid and ticks.
  const grid = opts.grid ?? true;
  const g: string[] = [];
  const ticks: string[] = [];
  for (const v of xa.minor) {
    const x = r2(X(v));
    ticks.push(`<line x1="${x}" y1="${r2(py0)}" x2="${x}" y2="${r2(py0 + 3)}"/>`);
  }
  for (const v of ya.minor) {
    const y = r2(Y(v));
    ticks.push(`<line x1="${r2(px0 - 3)}" y1="${y}" x2="${r2(px0)}" y2="${y}"/>`);
  }
  const labels: string[] = [];
  for (const v of xa.major) {
    const x = r2(X(v));
    if (grid) g.push(`<line x1="${x}" y1="${r2(py1)}" x2="${x}" y2="${r2(py0)}"/>`);
    ticks.push(`<line x1="${x}" y1="${r2(py0)}" x2="${x}" y2="${r2(py0 + 5)}"/>`);
    labels.push(`<text x="${x}" y="${r2(py0 + 18)}" text-anchor="middle">${escapeXml(xa.fmt(v))}</text>`);
  }
  for (const v of ya.major) {
    const y = r2(Y(v));
    if (grid) g.push(`<line x1="${r2(px0)}" y1="${y}" x2="${r2(px1)}" y2="${y}"/>`);
    ticks.push(`<line x1="${r2(px0 - 5)}" y1="${y}" x2="${r2(px0)}" y2="${y}"/>`);
    labels.push(`<text x="${r2(px0 - 8)}" y="${y}" dy="0.32em" text-anchor="end">${escapeXml(ya.fmt(v))}</text>`);
  }
  if (g.length) out.push(`<g stroke="#e6e6e6" stroke-width="1">${g.join("")}</g>`);
  out.push(`<g stroke="#888" stroke-width="1">${ticks.join("")}</g>`);
  out.push(`<g fill="#444" font-size="11">${labels.join("")}</g>`);
  out.push(`<rect x="${r2(px0)}" y="${r2(py1)}" width="${r2(px1 - px0)}" height="${r2(py0 - py1)}" fill="none" stroke="#888" stroke-width="1"/>`);
  if (opts.xLabel) out.push(`<text x="${r2((px0 + px1) / 2)}" y="${r2(H - 12)}" text-anchor="middle" fill="#222">${escapeXml(opts.xLabel)}</text>`);
  if (opts.yLabel) {
    const cx = 18, cy = (py0 + py1) / 2;
    out.push(`<text x="${cx}" y="${r2(cy)}" text-anchor="middle" transform="rotate(-90 ${cx} ${r2(cy)})" fill="#222">${escapeXml(opts.yLabel)}</text>`);
  }

  // Reference lines (under the data).
  for (const ref of refs) {
    if (!usable(ref.value, ref.axis === "x" ? xScale : yScale)) continue;
    const color = ref.color ?? "#999";
    const dash = ref.dash ?? "4 3";
    if (ref.axis === "x") {
      const x = r2(X(ref.value));
      out.push(`<line x1="${x}" y1="${r2(py1)}" x2="${x}" y2="${r2(py0)}" stroke="${escapeXml(color)}" stroke-dasharray="${escapeXml(dash)}" stroke-width="1"/>`);
      if (ref.label) out.push(`<text x="${x}" y="${r2(py1 - 5)}" font-size="11" text-anchor="middle" fill="#555">${escapeXml(ref.label)}</text>`);
    } else {
      const y = r2(Y(ref.value));
      out.push(`<line x1="${r2(px0)}" y1="${y}" x2="${r2(px1)}" y2="${y}" stroke="${escapeXml(color)}" stroke-dasharray="${escapeXml(dash)}" stroke-width="1"/>`);
      if (ref.label) out.push(`<text x="${r2(px1 - 4)}" y="${r2(Y(ref.value) - 4)}" font-size="11" text-anchor="end" fill="#555">${escapeXml(ref.label)}</text>`);
    }
  }

  // Data.
  const data: string[] = [];
  series.forEach((s, si) => {
    const color = escapeXml(s.color ?? paletteColor(si));
    const mode = s.mode ?? "line";
    const n = Math.min(s.x.length, s.y.length);
    if (mode !== "scatter") {
      let d = "";
      let pen = false;
      for (let i = 0; i < n; i++) {
        if (!usable(s.x[i], xScale) || !usable(s.y[i], yScale)) {
          pen = false;
          continue;
        }
        d += `${pen ? "L" : "M"}${r2(X(s.x[i]))},${r2(Y(s.y[i]))}`;
        pen = true;
      }
      if (d) {
        const dash = s.dash ? ` stroke-dasharray="${escapeXml(s.dash)}"` : "";
        const op = s.opacity !== undefined ? ` stroke-opacity="${s.opacity}"` : "";
        data.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="${s.width ?? 2}" stroke-linejoin="round" stroke-linecap="round"${dash}${op}/>`);
      }
    }
    if (mode !== "line") {
      const shape = s.marker ?? "circle";
      const r = s.markerSize ?? 3.5;
      const ms: string[] = [];
      for (let i = 0; i < n; i++) {
        if (!usable(s.x[i], xScale) || !usable(s.y[i], yScale)) continue;
        ms.push(markerSvg(shape, X(s.x[i]), Y(s.y[i]), r, color));
      }
      const op = s.opacity ?? (mode === "scatter" ? 0.85 : 1);
      if (ms.length) data.push(`<g fill="${color}" fill-opacity="${op}" stroke="#fff" stroke-width="0.6">${ms.join("")}</g>`);
    }
  });
  out.push(`<g clip-path="url(#${clipId})">${data.join("")}</g>`);

  // Legend.
  if (showLegend) {
    const lx = px1 + 16;
    let ly = py1 + 6;
    const items: string[] = [];
    if (opts.legendTitle) {
      items.push(`<text x="${r2(lx)}" y="${r2(ly + 4)}" font-weight="600" fill="#222">${escapeXml(opts.legendTitle)}</text>`);
      ly += 20;
    }
    series.forEach((s, si) => {
      if (s.name === "") return;
      const color = escapeXml(s.color ?? paletteColor(si));
      const mode = s.mode ?? "line";
      if (mode !== "scatter") {
        const dash = s.dash ? ` stroke-dasharray="${escapeXml(s.dash)}"` : "";
        items.push(`<line x1="${r2(lx)}" y1="${r2(ly)}" x2="${r2(lx + 22)}" y2="${r2(ly)}" stroke="${color}" stroke-width="${s.width ?? 2}"${dash}/>`);
      }
      if (mode !== "line") items.push(`<g fill="${color}">${markerSvg(s.marker ?? "circle", lx + 11, ly, s.markerSize ?? 3.5, color)}</g>`);
      items.push(`<text x="${r2(lx + 30)}" y="${r2(ly)}" dy="0.32em" fill="#333">${escapeXml(s.name)}</text>`);
      ly += 18;
    });
    out.push(`<g>${items.join("")}</g>`);
  }
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
