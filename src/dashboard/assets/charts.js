// Chart panels drawn with uPlot (served from node_modules): several lines with their own x values
// are joined onto one x axis (uPlot.join; gaps spanned), log axes drop values ≤ 0, and a chart is
// updated in place with setData while its series stay the same, rebuilt when they change.
import uPlot from "/vendor/uPlot.esm.js";

export const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
export const DASHES = [[], [6, 4], [2, 3], [10, 3, 2, 3], [1, 2]];

/** "#rrggbb" with an alpha. */
export function withAlpha(hex, a) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

export function fmtNum(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  const a = Math.abs(v);
  if (Number.isInteger(v) && a < 1e7) return v.toLocaleString("en-US");
  if (a !== 0 && (a < 1e-3 || a >= 1e7)) return v.toExponential(3).replace(/\.?0+e/, "e");
  return String(Number(v.toPrecision(4)));
}

/** Axis tick labels: compact (250k, 1.5M, 3B) so long numbers do not collide. */
export function fmtAxis(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "";
  const a = Math.abs(v);
  if (a >= 1e15) return v.toExponential(1).replace(/\.0e/, "e").replace("e+", "e");
  for (const [d, suffix] of [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e4, "k"]]) if (a >= d) return `${Number((v / d).toPrecision(3))}${suffix}`;
  return fmtNum(v);
}

/** Align lines [{x, y}] onto one x array: uPlot data [[x…], [y1…], [y2…], …]. */
function align(lines, logx, logy) {
  const tables = lines.map((l) => {
    const xs = [], ys = [];
    let last = -Infinity;
    for (let i = 0; i < l.x.length; i++) {
      const x = l.x[i];
      let y = l.y[i];
      if (x === null || !Number.isFinite(x) || (logx && x <= 0) || x < last) continue;
      if (y === null || !Number.isFinite(y) || (logy && y <= 0)) y = null;
      if (x === last) { ys[ys.length - 1] = y; continue; }
      xs.push(x); ys.push(y); last = x;
    }
    return [xs, ys];
  });
  if (!tables.length) return [[]];
  if (tables.length === 1) return tables[0];
  return uPlot.join(tables);
}

/**
 * A chart panel: holds one uPlot instance in `el`, rebuilt when the series or scales change.
 * spec: { title, xLabel, yLabel, logx, logy, lines: [{label, color, dash, width, alpha, x, y, points, markers}] }
 * (points: markers only, no line; markers: a line with markers)
 */
export class ChartPanel {
  constructor(el) {
    this.el = el;
    this.u = null;
    this.key = "";
  }

  draw(spec) {
    const data = align(spec.lines, spec.logx, spec.logy);
    const key = JSON.stringify([spec.lines.map((l) => [l.label, l.color, l.dash, l.alpha, l.width, l.points, l.markers]), spec.logx, spec.logy, spec.xLabel, spec.yLabel]);
    this.el.dataset.series = String(spec.lines.length);
    this.el.dataset.points = String(Math.max(0, ...spec.lines.map((l) => l.x.length)));
    if (this.u && key === this.key) {
      this.u.setData(data);
      return;
    }
    if (this.u) this.u.destroy();
    this.key = key;
    const width = Math.max(300, this.el.clientWidth || 520);
    const opts = {
      width,
      height: spec.height ?? 280,
      scales: { x: { time: false, distr: spec.logx ? 3 : 1 }, y: { distr: spec.logy ? 3 : 1 } },
      axes: [
        { label: spec.xLabel, values: (u, vals) => vals.map(fmtAxis), size: 40 },
        { label: spec.yLabel, values: (u, vals) => vals.map(fmtAxis), size: 60 },
      ],
      legend: { show: spec.lines.length <= 24 },
      cursor: { drag: { x: true, y: false } },
      series: [
        { label: spec.xLabel, value: (u, v) => fmtNum(v) },
        ...spec.lines.map((l) => ({
          label: l.label,
          stroke: l.alpha !== undefined && l.alpha < 1 ? withAlpha(l.color, l.alpha) : l.color,
          width: l.width ?? 1.6,
          dash: l.dash && l.dash.length ? l.dash : undefined,
          spanGaps: !l.points,
          paths: l.points ? () => null : undefined,
          points: l.points ? { show: true, size: 7, stroke: l.color, fill: l.color } : l.markers ? { show: true, size: 5, stroke: l.color, fill: l.color } : { show: false },
          value: (u, v) => fmtNum(v),
        })),
      ],
    };
    this.u = new uPlot(opts, data, this.el);
  }

  resize() {
    if (this.u) this.u.setSize({ width: Math.max(300, this.el.clientWidth), height: this.u.height });
  }

  destroy() {
    if (this.u) this.u.destroy();
    this.u = null;
    this.key = "";
  }
}
