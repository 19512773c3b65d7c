// Regressions from mixture weights r (a point of the simplex) to a target, for `smol mixture
// suggest`. Two published forms:
// - "law": the data-mixing law of Ye et al. (2024), y = c + k·exp(Σ_j t_j r_j), fitted per target
//   (per source loss, or one metric). c and k enter linearly, so for given t they are solved in
//   closed form (variable projection) and only t is searched, by L-BFGS (scaling/lbfgs.ts) with a
//   tiny ridge (t is defined up to a constant shift, which k absorbs, because Σ r = 1).
// - "linear": RegMix's linear regression (Liu et al. 2024), y = Σ_j w_j r_j (the intercept is
//   absorbed by Σ r = 1), least squares with a tiny ridge.
// A composite target Σ λ_i y_i (e.g. weighted per-source losses) sums one fit per y_i, as Ye et al.
// predict each domain's loss separately. Plain numbers; no tensors.
import { lbfgs } from "../scaling/lbfgs.js";

export type RegressionKind = "law" | "linear";

export interface Fit {
  kind: RegressionKind;
  predict(r: ArrayLike<number>): number;
  /** Parameters for the record: law {c, k, t[]}, linear {w[]}. */
  params: Record<string, number | number[]>;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Solve the small symmetric system A x = b (Gaussian elimination with partial pivoting). */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    const d = M[c][c] || 1e-300;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r][c] / d;
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  return M.map((row, i) => row[n] / (row[i] || 1e-300));
}

export function fitLinear(X: readonly number[][], y: readonly number[], ridge = 1e-8): Fit {
  const m = X[0].length;
  const A = Array.from({ length: m }, (_, i) => Array.from({ length: m }, (_, j) => X.reduce((s, x) => s + x[i] * x[j], 0) + (i === j ? ridge : 0)));
  const b = Array.from({ length: m }, (_, i) => X.reduce((s, x, n) => s + x[i] * y[n], 0));
  const w = solve(A, b);
  return { kind: "linear", predict: (r) => dot(w, r), params: { w } };
}

/** c, k minimising Σ (c + k·e_n − y_n)² for fixed e (closed form), and that sum. */
function linearCK(e: readonly number[], y: readonly number[]): { c: number; k: number; sse: number } {
  const n = y.length;
  const me = e.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let see = 0;
  let sey = 0;
  for (let i = 0; i < n; i++) {
    see += (e[i] - me) ** 2;
    sey += (e[i] - me) * (y[i] - my);
  }
  const k = see > 1e-300 ? sey / see : 0;
  const c = my - k * me;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (c + k * e[i] - y[i]) ** 2;
  return { c, k, sse };
}

export function fitLaw(X: readonly number[][], y: readonly number[], opts: { ridge?: number; starts?: number } = {}): Fit {
  const m = X[0].length;
  const ridge = opts.ridge ?? 1e-9;
  const scale = Math.max(1e-12, y.reduce((a, b) => a + b * b, 0) / y.length);
  const objective = (t: Float64Array): number => {
    const e = X.map((x) => Math.exp(dot(t, x)));
    return linearCK(e, y).sse / scale + ridge * dot(t, t);
  };
  const fg = (t: Float64Array, g: Float64Array): number => {
    const f = objective(t);
    for (let j = 0; j < m; j++) {
      const h = 1e-6 * Math.max(1, Math.abs(t[j]));
      const keep = t[j];
      t[j] = keep + h;
      const fp = objective(t);
      t[j] = keep - h;
      const fm = objective(t);
      t[j] = keep;
      g[j] = (fp - fm) / (2 * h);
    }
    return f;
  };
  let best: { t: Float64Array; f: number } | undefined;
  const starts = opts.starts ?? 6;
  for (let s = 0; s < starts; s++) {
    // Deterministic starts: 0, then ±a on alternating coordinates at growing scales.
    const t0 = new Float64Array(m);
    if (s > 0) for (let j = 0; j < m; j++) t0[j] = (j % 2 === s % 2 ? 1 : -1) * (0.5 * s) * (1 + j / m);
    const r = lbfgs(fg, t0, { maxIterations: 300, gradTol: 1e-10, fTol: 1e-13 });
    if (Number.isFinite(r.f) && (!best || r.f < best.f)) best = { t: r.x, f: r.f };
  }
  const t = best!.t;
  const { c, k } = linearCK(X.map((x) => Math.exp(dot(t, x))), y);
  return { kind: "law", predict: (r) => c + k * Math.exp(dot(t, r)), params: { c, k, t: [...t] } };
}

export function fitRegression(kind: RegressionKind, X: readonly number[][], y: readonly number[]): Fit {
  return kind === "law" ? fitLaw(X, y) : fitLinear(X, y);
}

/** Ranks (1-based, ties get their mean rank). */
export function ranks(xs: readonly number[]): number[] {
  const idx = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
  const out = new Array<number>(xs.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && xs[idx[j + 1]] === xs[idx[i]]) j++;
    for (let k = i; k <= j; k++) out[idx[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

/** Spearman's rank correlation (Pearson correlation of the ranks); NaN when either side is constant. */
export function spearman(a: readonly number[], b: readonly number[]): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const n = a.length;
  const ma = ra.reduce((s, x) => s + x, 0) / n;
  const mb = rb.reduce((s, x) => s + x, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) ** 2;
    sbb += (rb[i] - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}
