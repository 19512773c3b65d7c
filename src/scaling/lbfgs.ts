// L-BFGS minimiser for small smooth problems (the scaling-law fits): two-loop recursion with the
// last `memory` (s, y) pairs, initial Hessian γI with γ = sᵀy / yᵀy, and a strong-Wolfe line search
// (bracketing + zoom with safeguarded cubic interpolation; Nocedal & Wright, Algorithms 3.5/3.6).
// Stops on gradient inf-norm, relative f change, step size, or iteration/evaluation limits. Never throws
// for a bad objective value: a non-finite f in the line search counts as "too far" and the step shrinks.

/** Objective: returns f(x) and writes ∇f(x) into `grad` (same length as x). */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export interface LbfgsOptions {
  /** History pairs kept (default 10). */
  memory?: number;
  /** Iterations (line searches) at most (default 1000). */
  maxIterations?: number;
  /** Objective evaluations at most (default 20 × maxIterations). */
  maxEvaluations?: number;
  /** Stop when max |∂f/∂xᵢ| ≤ gradTol (default 1e-10). */
  gradTol?: number;
  /** Stop when f_prev − f ≤ fTol · max(|f_prev|, |f|) (default 1e-14; 0 disables). */
  fTol?: number;
  /** Stop when max |Δxᵢ| ≤ xTol · (1 + max |xᵢ|) (default 1e-14). */
  xTol?: number;
  /** Armijo (c1) and curvature (c2) constants of the strong-Wolfe conditions (default 1e-4, 0.9). */
  c1?: number;
  c2?: number;
}

export type StopReason = "gradient" | "f-change" | "step" | "max-iterations" | "max-evaluations" | "line-search";

export interface LbfgsResult {
  x: Float64Array;
  f: number;
  /** max |∂f/∂xᵢ| at x. */
  gradNorm: number;
  iterations: number;
  evaluations: number;
  /** True for the gradient, f-change and step criteria. */
  converged: boolean;
  reason: StopReason;
}

const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const infNorm = (a: Float64Array) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};

/** Minimiser of the cubic through (a, fa, da) and (b, fb, db), or NaN when it has none. */
function cubicMin(a: number, fa: number, da: number, b: number, fb: number, db: number): number {
  const d1 = da + db - (3 * (fa - fb)) / (a - b);
  const disc = d1 * d1 - da * db;
  if (!(disc >= 0)) return NaN;
  const d2 = Math.sign(b - a) * Math.sqrt(disc);
  const t = b - ((b - a) * (db + d2 - d1)) / (db - da + 2 * d2);
  return Number.isFinite(t) ? t : NaN;
}

interface Point {
  a: number;
  f: number;
  dg: number;
}

/** Minimise `fg` from `x0`. */
export function lbfgs(fg: Objective, x0: ArrayLike<number>, opts: LbfgsOptions = {}): LbfgsResult {
  const n = x0.length;
  const m = opts.memory ?? 10;
  const maxIter = opts.maxIterations ?? 1000;
  const maxEval = opts.maxEvaluations ?? 20 * maxIter;
  const gradTol = opts.gradTol ?? 1e-10;
  const fTol = opts.fTol ?? 1e-14;
  const xTol = opts.xTol ?? 1e-14;
  const c1 = opts.c1 ?? 1e-4;
  const c2 = opts.c2 ?? 0.9;

  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  let evals = 1;
  let f = fg(x, g);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const d = new Float64Array(n);
  const alphaBuf = new Float64Array(m);
  const xt = new Float64Array(n);
  const gt = new Float64Array(n);
  const xBest = new Float64Array(n);
  const gBest = new Float64Array(n);
  const done = (reason: StopReason, iterations: number): LbfgsResult => ({
    x, f, gradNorm: infNorm(g), iterations, evaluations: evals,
    converged: reason === "gradient" || reason === "f-change" || reason === "step", reason,
  });
  if (!Number.isFinite(f)) return done("line-search", 0);

  // Evaluate at x + a·d into xt/gt; returns the point (f and directional derivative).
  const probe = (a: number): Point => {
    for (let i = 0; i < n; i++) xt[i] = x[i] + a * d[i];
    evals++;
    const ft = fg(xt, gt);
    return { a, f: ft, dg: Number.isFinite(ft) ? dot(gt, d) : NaN };
  };
  const keep = (p: Point, best: { p: Point | null }) => {
    best.p = p;
    xBest.set(xt);
    gBest.set(gt);
  };

  /** Strong-Wolfe line search along d; returns the accepted point (xBest/gBest hold x, g) or null. */
  const lineSearch = (a1: number, f0: number, dg0: number): Point | null => {
    const best: { p: Point | null } = { p: null };
    let prev: Point = { a: 0, f: f0, dg: dg0 };
    let a = a1;
    const zoom = (lo: Point, hi: Point): Point | null => {
      for (let j = 0; j < 40 && evals < maxEval; j++) {
        const width = Math.abs(hi.a - lo.a);
        if (width <= 1e-16 * Math.max(1, Math.abs(lo.a))) break;
        let t = Number.isFinite(hi.f) ? cubicMin(lo.a, lo.f, lo.dg, hi.a, hi.f, hi.dg) : NaN;
        const lo2 = Math.min(lo.a, hi.a) + 0.1 * width;
        const hi2 = Math.max(lo.a, hi.a) - 0.1 * width;
        if (!(t >= lo2 && t <= hi2)) t = (lo.a + hi.a) / 2;
        const p = probe(t);
        if (!Number.isFinite(p.f) || p.f > f0 + c1 * t * dg0 || p.f >= lo.f) {
          hi = p;
        } else {
          if (Math.abs(p.dg) <= -c2 * dg0) {
            keep(p, best);
            return p;
          }
          if (p.dg * (hi.a - lo.a) >= 0) hi = lo;
          lo = p;
          keep(p, best); // the best sufficient-decrease point so far
        }
      }
      // Could not meet the curvature condition: accept the best Armijo point if any.
      return best.p && best.p.f < f0 ? best.p : null;
    };
    for (let i = 0; i < 40 && evals < maxEval; i++) {
      const p = probe(a);
      if (!Number.isFinite(p.f) || p.f > f0 + c1 * a * dg0 || (i > 0 && p.f >= prev.f)) return zoom(prev, p);
      if (Math.abs(p.dg) <= -c2 * dg0) {
        keep(p, best);
        return p;
      }
      keep(p, best);
      if (p.dg >= 0) return zoom(p, prev);
      prev = p;
      a *= 4;
    }
    return best.p && best.p.f < f0 ? best.p : null;
  };

  let iter = 0;
  if (infNorm(g) <= gradTol) return done("gradient", 0);
  while (iter < maxIter) {
    if (evals >= maxEval) return done("max-evaluations", iter);
    // Two-loop recursion: d = −H g.
    for (let i = 0; i < n; i++) d[i] = -g[i];
    const k = S.length;
    for (let j = k - 1; j >= 0; j--) {
      alphaBuf[j] = rho[j] * dot(S[j], d);
      for (let i = 0; i < n; i++) d[i] -= alphaBuf[j] * Y[j][i];
    }
    if (k > 0) {
      const gamma = dot(S[k - 1], Y[k - 1]) / dot(Y[k - 1], Y[k - 1]);
      for (let i = 0; i < n; i++) d[i] *= gamma;
    }
    for (let j = 0; j < k; j++) {
      const beta = rho[j] * dot(Y[j], d);
      for (let i = 0; i < n; i++) d[i] += (alphaBuf[j] - beta) * S[j][i];
    }
    let dg0 = dot(g, d);
    if (!(dg0 < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      S.length = Y.length = rho.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i];
      dg0 = dot(g, d);
    }
    const a1 = S.length === 0 ? Math.min(1, 1 / Math.max(infNorm(g), 1e-300)) : 1;
    let p = lineSearch(a1, f, dg0);
    if (!p && S.length > 0) {
      S.length = Y.length = rho.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i];
      dg0 = dot(g, d);
      p = lineSearch(Math.min(1, 1 / Math.max(infNorm(g), 1e-300)), f, dg0);
    }
    if (!p) return done(evals >= maxEval ? "max-evaluations" : "line-search", iter);
    iter++;
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    let stepMax = 0;
    for (let i = 0; i < n; i++) {
      s[i] = xBest[i] - x[i];
      y[i] = gBest[i] - g[i];
      stepMax = Math.max(stepMax, Math.abs(s[i]));
    }
    const fPrev = f;
    x.set(xBest);
    g.set(gBest);
    f = p.f;
    const sy = dot(s, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (S.length === m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }
    if (infNorm(g) <= gradTol) return done("gradient", iter);
    if (fTol > 0 && fPrev - f <= fTol * Math.max(Math.abs(fPrev), Math.abs(f))) return done("f-change", iter);
    if (stepMax <= xTol * (1 + infNorm(x))) return done("step", iter);
  }
  return done("max-iterations", iter);
}
