// Chinchilla approach 2 (IsoFLOP profiles): group runs by training compute C (the flops column, or
// 6·N·D), fit a parabola of loss against log10 N within each group, take its minimum as N_opt(C)
// (D_opt = C / (6·N_opt)), and fit power laws N_opt ∝ C^a and D_opt ∝ C^b by least squares in log space.
// Groups are bins of fixed width in log10 C (default 0.1 decade, centred on multiples of the width);
// a group needs ≥ 4 points over ≥ 3 model sizes, an upward parabola and its minimum inside the sizes.
import { ConfigError, DataError } from "../errors.js";
import type { ScalingPoint } from "./csv.js";

export interface IsoflopOptions {
  /** Bin width in decades of C (default 0.1). */
  binWidth?: number;
  /** Fewest points in a group (default 4). */
  minPoints?: number;
}

export interface IsoflopGroup {
  /** Geometric mean of the group's budgets C. */
  flops: number;
  points: number;
  /** loss ≈ c0 + c1·x + c2·x² with x = log10 N. */
  parabola: [number, number, number];
  /** Fitted optimum, or null with `skipped` saying why. */
  n_opt: number | null;
  d_opt: number | null;
  loss_opt: number | null;
  skipped?: string;
}

export interface PowerLaw {
  /** y = k · C^exponent. */
  exponent: number;
  k: number;
}

export interface IsoflopResult {
  groups: IsoflopGroup[];
  /** Power laws through the usable groups' optima (null with fewer than 2 usable groups). */
  n_opt: PowerLaw | null;
  d_opt: PowerLaw | null;
  used_groups: number;
}

/** Training compute of a point: its flops column, else 6·N·D. */
export function pointFlops(p: ScalingPoint): number {
  return p.flops ?? 6 * p.params * p.tokens;
}

/** Least-squares polynomial of degree 2 through (x, y); null when the normal equations are singular. */
export function fitParabola(x: readonly number[], y: readonly number[]): [number, number, number] | null {
  // Centre x for conditioning, solve the 3×3 normal equations, then expand back.
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const S = new Array<number>(5).fill(0);
  const T = new Array<number>(3).fill(0);
  for (let i = 0; i < n; i++) {
    const u = x[i] - mx;
    let p = 1;
    for (let k = 0; k < 5; k++) {
      S[k] += p;
      if (k < 3) T[k] += p * y[i];
      p *= u;
    }
  }
  const M = [[S[0], S[1], S[2]], [S[1], S[2], S[3]], [S[2], S[3], S[4]]];
  const c = solve3(M, T);
  if (!c) return null;
  // c0 + c1·u + c2·u², u = x − mx.
  return [c[0] - c[1] * mx + c[2] * mx * mx, c[1] - 2 * c[2] * mx, c[2]];
}

function solve3(M: number[][], b: number[]): number[] | null {
  const A = M.map((r, i) => [...r, b[i]]);
  for (let col = 0; col < 3; col++) {
    let piv = col;
    for (let r = col + 1; r < 3; r++) if (Math.abs(A[r][col]) > Math.abs(A[piv][col])) piv = r;
    if (Math.abs(A[piv][col]) < 1e-12 * Math.max(1, Math.abs(A[0][0]))) return null;
    [A[col], A[piv]] = [A[piv], A[col]];
    for (let r = 0; r < 3; r++) {
      if (r === col) continue;
      const f = A[r][col] / A[col][col];
      for (let k = col; k < 4; k++) A[r][k] -= f * A[col][k];
    }
  }
  return [A[0][3] / A[0][0], A[1][3] / A[1][1], A[2][3] / A[2][2]];
}

/** Least-squares line log10 y = exponent·log10 C + log10 k. */
export function fitPowerLaw(C: readonly number[], y: readonly number[]): PowerLaw | null {
  const n = C.length;
  if (n < 2) return null;
  const X = C.map(Math.log10);
  const Y = y.map(Math.log10);
  const mx = X.reduce((a, b) => a + b, 0) / n;
  const my = Y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (X[i] - mx) * (Y[i] - my);
    sxx += (X[i] - mx) ** 2;
  }
  if (!(sxx > 0)) return null;
  const exponent = sxy / sxx;
  return { exponent, k: Math.pow(10, my - exponent * mx) };
}

/** IsoFLOP analysis of the points (approach 2). */
export function isoflopAnalysis(points: readonly ScalingPoint[], opts: IsoflopOptions = {}): IsoflopResult {
  const w = opts.binWidth ?? 0.1;
  const minPoints = opts.minPoints ?? 4;
  if (!(w > 0)) throw new ConfigError(`isoflop: bin width must be > 0 decades, got ${w}`);
  if (!Number.isInteger(minPoints) || minPoints < 3) throw new ConfigError(`isoflop: min points must be an integer >= 3, got ${minPoints}`);
  const bins = new Map<number, ScalingPoint[]>();
  for (const p of points) {
    const c = pointFlops(p);
    if (!(c > 0) || !Number.isFinite(c)) throw new DataError(`isoflop: a point has no usable compute: ${JSON.stringify(p)}`);
    const key = Math.round(Math.log10(c) / w);
    const list = bins.get(key);
    if (list) list.push(p);
    else bins.set(key, [p]);
  }
  const groups: IsoflopGroup[] = [];
  for (const key of [...bins.keys()].sort((a, b) => a - b)) {
    const pts = bins.get(key) as ScalingPoint[];
    const flops = Math.pow(10, pts.reduce((s, p) => s + Math.log10(pointFlops(p)), 0) / pts.length);
    const x = pts.map((p) => Math.log10(p.params));
    const y = pts.map((p) => p.loss);
    const sizes = new Set(x.map((v) => v.toFixed(6))).size;
    const base = { flops, points: pts.length };
    if (pts.length < minPoints || sizes < 3) {
      groups.push({ ...base, parabola: [NaN, NaN, NaN], n_opt: null, d_opt: null, loss_opt: null, skipped: `${pts.length} point${pts.length === 1 ? "" : "s"} over ${sizes} model size${sizes === 1 ? "" : "s"} (need ${minPoints} over 3)` });
      continue;
    }
    const par = fitParabola(x, y);
    if (!par) {
      groups.push({ ...base, parabola: [NaN, NaN, NaN], n_opt: null, d_opt: null, loss_opt: null, skipped: "singular parabola fit" });
      continue;
    }
    const [c0, c1, c2] = par;
    if (!(c2 > 0)) {
      groups.push({ ...base, parabola: par, n_opt: null, d_opt: null, loss_opt: null, skipped: "parabola opens downward (no minimum)" });
      continue;
    }
    const xs = -c1 / (2 * c2);
    if (xs < Math.min(...x) || xs > Math.max(...x)) {
      groups.push({ ...base, parabola: par, n_opt: null, d_opt: null, loss_opt: null, skipped: "minimum outside the sampled model sizes" });
      continue;
    }
    const nOpt = Math.pow(10, xs);
    groups.push({ ...base, parabola: par, n_opt: nOpt, d_opt: flops / (6 * nOpt), loss_opt: c0 + c1 * xs + c2 * xs * xs });
  }
  const used = groups.filter((g) => g.n_opt !== null);
  return {
    groups,
    n_opt: fitPowerLaw(used.map((g) => g.flops), used.map((g) => g.n_opt as number)),
    d_opt: fitPowerLaw(used.map((g) => g.flops), used.map((g) => g.d_opt as number)),
    used_groups: used.length,
  };
}
