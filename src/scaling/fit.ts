// The Chinchilla parametric fit L(N, D) = E + A/N^α + B/D^β (docs/references.md §7, Hoffmann et al.
// approach 3 as replicated by Besiroglu et al.): minimise Σᵢ Huber_δ(LSE(a − α ln Nᵢ, b − β ln Dᵢ, e)
// − ln Lᵢ), δ = 1e-3, with L-BFGS (analytic gradient) from every start of a grid, keep the best.
// Also: percentile bootstrap CIs (seeded resampling of points) and the compute-optimal allocation.
// The Huber loss is summed over points (not averaged); `huber_loss` reports that sum.
import { ConfigError, DataError } from "../errors.js";
import { Rng } from "../util/rng.js";
import { lbfgs, type LbfgsOptions } from "./lbfgs.js";
import type { ScalingPoint } from "./csv.js";

/** Initial values tried for each parameter; the fit starts from their Cartesian product. */
export interface InitGrid {
  alpha: number[];
  beta: number[];
  e: number[];
  a: number[];
  b: number[];
}

const range = (lo: number, hi: number, step: number) => Array.from({ length: Math.round((hi - lo) / step) + 1 }, (_, i) => lo + i * step);

/** docs/references.md §7: α, β ∈ {0, 0.5, …, 2}, e ∈ {−1, −0.5, …, 1}, a, b ∈ {0, 5, …, 25} — 4,500 starts. */
export const FULL_GRID: InitGrid = { alpha: range(0, 2, 0.5), beta: range(0, 2, 0.5), e: range(-1, 1, 0.5), a: range(0, 25, 5), b: range(0, 25, 5) };
/** A 3⁵ = 243-start subset of the full grid's span, for tests and bootstrap refits. */
export const COARSE_GRID: InitGrid = { alpha: [0, 1, 2], beta: [0, 1, 2], e: [-1, 0, 1], a: [0, 10, 20], b: [0, 10, 20] };

export interface FitOptions {
  /** "full" (default), "coarse", explicit values, or "none" (only extraStarts). */
  grid?: "full" | "coarse" | "none" | InitGrid;
  /** Extra starting points [a, b, e, α, β] tried besides the grid (e.g. a previous optimum). */
  extraStarts?: number[][];
  /** Huber δ (default 1e-3). */
  delta?: number;
  /** L-BFGS settings per start (defaults: gradTol 1e-10, fTol 1e-13, maxIterations 500). */
  lbfgs?: LbfgsOptions;
  /** Called after each start with (done, total), e.g. for a progress line. */
  progress?: (done: number, total: number) => void;
}

export interface ChinchillaFit {
  E: number;
  A: number;
  B: number;
  alpha: number;
  beta: number;
  /** ln A, ln B, ln E: the parameters L-BFGS works on. */
  a: number;
  b: number;
  e: number;
  /** Σ Huber_δ of the log residuals at the optimum. */
  huber_loss: number;
  n_points: number;
  /** Root-mean-square of ln L̂ − ln L at the optimum. */
  rmse_log: number;
  starts: number;
  /** Starts whose L-BFGS run met a convergence criterion. */
  converged_starts: number;
  delta: number;
}

/** L(N, D) under a fit. */
export function predictLoss(fit: Pick<ChinchillaFit, "E" | "A" | "B" | "alpha" | "beta">, N: number, D: number): number {
  return fit.E + fit.A / Math.pow(N, fit.alpha) + fit.B / Math.pow(D, fit.beta);
}

interface Prepared {
  lnN: Float64Array;
  lnD: Float64Array;
  lnL: Float64Array;
  w: Float64Array;
}

function prepare(points: readonly ScalingPoint[], weights?: Float64Array): Prepared {
  const n = points.length;
  const p: Prepared = { lnN: new Float64Array(n), lnD: new Float64Array(n), lnL: new Float64Array(n), w: weights ?? new Float64Array(n).fill(1) };
  points.forEach((pt, i) => {
    if (!(pt.params > 0 && pt.tokens > 0 && pt.loss > 0) || ![pt.params, pt.tokens, pt.loss].every(Number.isFinite)) {
      throw new DataError(`fit: point ${i} must have finite params, tokens, loss > 0, got ${JSON.stringify(pt)}`);
    }
    p.lnN[i] = Math.log(pt.params);
    p.lnD[i] = Math.log(pt.tokens);
    p.lnL[i] = Math.log(pt.loss);
  });
  return p;
}

/** The objective over θ = [a, b, e, α, β] with its analytic gradient. Weights count resampled duplicates. */
function objective(d: Prepared, delta: number) {
  const { lnN, lnD, lnL, w } = d;
  const n = lnN.length;
  return (th: Float64Array, g: Float64Array): number => {
    const a = th[0], b = th[1], e = th[2], al = th[3], be = th[4];
    let f = 0, ga = 0, gb = 0, ge = 0, gal = 0, gbe = 0;
    for (let i = 0; i < n; i++) {
      const wi = w[i];
      if (wi === 0) continue;
      const p1 = a - al * lnN[i];
      const p2 = b - be * lnD[i];
      const m = Math.max(p1, p2, e);
      // One of the three terms is the max and its exponential is 1: skip that exp.
      const x1 = p1 === m ? 1 : Math.exp(p1 - m);
      const x2 = p2 === m ? 1 : Math.exp(p2 - m);
      const x3 = e === m ? 1 : Math.exp(e - m);
      const s = x1 + x2 + x3;
      const r = m + Math.log(s) - lnL[i];
      let h: number, dh: number;
      if (Math.abs(r) <= delta) {
        h = 0.5 * r * r;
        dh = r;
      } else {
        h = delta * (Math.abs(r) - 0.5 * delta);
        dh = r > 0 ? delta : -delta;
      }
      f += wi * h;
      const c = (wi * dh) / s;
      ga += c * x1;
      gb += c * x2;
      ge += c * x3;
      gal -= c * x1 * lnN[i];
      gbe -= c * x2 * lnD[i];
    }
    g[0] = ga; g[1] = gb; g[2] = ge; g[3] = gal; g[4] = gbe;
    return f;
  };
}

/** The fit's objective over θ = [a, b, e, α, β] (Σ Huber_δ of log residuals) with its analytic gradient. */
export function chinchillaObjective(points: readonly ScalingPoint[], delta = 1e-3): (theta: Float64Array, grad: Float64Array) => number {
  return objective(prepare(points), delta);
}

function gridStarts(grid: InitGrid): number[][] {
  const out: number[][] = [];
  for (const a of grid.a) for (const b of grid.b) for (const e of grid.e) for (const al of grid.alpha) for (const be of grid.beta) out.push([a, b, e, al, be]);
  return out;
}

function resolveGrid(g: FitOptions["grid"]): InitGrid {
  if (g === undefined || g === "full") return FULL_GRID;
  if (g === "coarse") return COARSE_GRID;
  if (g === "none") return { alpha: [], beta: [], e: [], a: [], b: [] };
  for (const k of ["alpha", "beta", "e", "a", "b"] as const) {
    if (!Array.isArray(g[k]) || g[k].length === 0 || !g[k].every(Number.isFinite)) {
      throw new ConfigError(`fit: grid.${k} must be a non-empty list of finite numbers`);
    }
  }
  return g;
}

function fitPrepared(d: Prepared, nPoints: number, opts: FitOptions): ChinchillaFit {
  const delta = opts.delta ?? 1e-3;
  if (!(delta > 0)) throw new ConfigError(`fit: delta must be > 0, got ${delta}`);
  const starts = [...gridStarts(resolveGrid(opts.grid)), ...(opts.extraStarts ?? [])];
  if (starts.length === 0) throw new ConfigError("fit: no starting points (grid \"none\" needs extraStarts)");
  for (const st of starts) {
    if (st.length !== 5 || !st.every(Number.isFinite)) throw new ConfigError(`fit: a start must be 5 finite numbers [a, b, e, α, β], got ${JSON.stringify(st)}`);
  }
  const fg = objective(d, delta);
  const lopts: LbfgsOptions = { gradTol: 1e-10, fTol: 1e-13, maxIterations: 500, ...opts.lbfgs };
  let best: { x: Float64Array; f: number } | null = null;
  let converged = 0;
  for (let k = 0; k < starts.length; k++) {
    const r = lbfgs(fg, starts[k], lopts);
    if (r.converged) converged++;
    if (Number.isFinite(r.f) && (best === null || r.f < best.f)) best = { x: r.x, f: r.f };
    opts.progress?.(k + 1, starts.length);
  }
  if (!best) throw new DataError("fit: every start diverged (non-finite loss); check the data for extreme values");
  const [a, b, e, alpha, beta] = Array.from(best.x);
  let sq = 0, wsum = 0;
  for (let i = 0; i < d.lnN.length; i++) {
    if (d.w[i] === 0) continue;
    const p1 = a - alpha * d.lnN[i], p2 = b - beta * d.lnD[i];
    const m = Math.max(p1, p2, e);
    const r = m + Math.log(Math.exp(p1 - m) + Math.exp(p2 - m) + Math.exp(e - m)) - d.lnL[i];
    sq += d.w[i] * r * r;
    wsum += d.w[i];
  }
  return {
    E: Math.exp(e), A: Math.exp(a), B: Math.exp(b), alpha, beta, a, b, e,
    huber_loss: best.f, n_points: nPoints, rmse_log: Math.sqrt(sq / wsum),
    starts: starts.length, converged_starts: converged, delta,
  };
}

/** Fit the Chinchilla law to the points (at least 5) from every start; the best optimum wins. */
export function fitChinchilla(points: readonly ScalingPoint[], opts: FitOptions = {}): ChinchillaFit {
  if (points.length < 5) throw new DataError(`fit: ${points.length} points, need at least 5 to fit 5 parameters`);
  return fitPrepared(prepare(points), points.length, opts);
}

/**
 * The points without the `k` highest-loss ones (Besiroglu et al. drop the 5 highest-loss points of
 * the Chinchilla extraction as outliers). Returns [kept, dropped], each in the input order.
 */
export function dropHighestLoss(points: readonly ScalingPoint[], k: number): [ScalingPoint[], ScalingPoint[]] {
  if (!Number.isInteger(k) || k < 0) throw new ConfigError(`fit: points to drop must be an integer >= 0, got ${k}`);
  const order = points.map((p, i) => i).sort((i, j) => points[j].loss - points[i].loss || i - j);
  const drop = new Set(order.slice(0, k));
  return [points.filter((_, i) => !drop.has(i)), points.filter((_, i) => drop.has(i))];
}

/** Linear-interpolated quantile (type 7) of sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export const CI_KEYS = ["E", "A", "B", "alpha", "beta", "n_exponent", "d_exponent"] as const;
export type CiKey = (typeof CI_KEYS)[number];

export interface BootstrapOptions {
  /** Resamples (default 100). */
  samples?: number;
  /** Seed of the resampling RNG (default 0). */
  seed?: number;
  /** Central interval level (default 0.95 → 2.5th and 97.5th percentiles). */
  level?: number;
  /**
   * Starts of each refit: "warm" (default) starts only from the full-data optimum, which is
   * fast and follows the optimum as the sample moves; "coarse" adds the 243-start coarse grid;
   * "full" refits from the whole 4,500-start grid (slow).
   */
  starts?: "warm" | "coarse" | "full";
  delta?: number;
  /** Called after each resample with (done, total). */
  progress?: (done: number, total: number) => void;
}

export interface BootstrapResult {
  samples: number;
  seed: number;
  level: number;
  starts: "warm" | "coarse" | "full";
  /** [low, high] percentile interval per quantity; n_exponent = β/(α+β), d_exponent = α/(α+β). */
  ci: Record<CiKey, [number, number]>;
}

/** Percentile bootstrap: resample points with replacement, refit, take percentiles. */
export function bootstrapFit(points: readonly ScalingPoint[], fit: ChinchillaFit, opts: BootstrapOptions = {}): BootstrapResult {
  const samples = opts.samples ?? 100;
  const seed = opts.seed ?? 0;
  const level = opts.level ?? 0.95;
  const startsMode = opts.starts ?? "warm";
  if (!Number.isInteger(samples) || samples < 2) throw new ConfigError(`bootstrap: samples must be an integer >= 2, got ${samples}`);
  if (!(level > 0 && level < 1)) throw new ConfigError(`bootstrap: level must be in (0, 1), got ${level}`);
  const rand = new Rng(seed); // the project's one RNG (util/rng.ts)
  const n = points.length;
  const base = prepare(points);
  const draws: Record<CiKey, number[]> = { E: [], A: [], B: [], alpha: [], beta: [], n_exponent: [], d_exponent: [] };
  const warm = [[fit.a, fit.b, fit.e, fit.alpha, fit.beta]];
  for (let k = 0; k < samples; k++) {
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) w[rand.int(n)]++;
    const d: Prepared = { ...base, w };
    const r = startsMode === "warm"
      ? fitPrepared(d, n, { grid: "none", extraStarts: warm, delta: opts.delta ?? fit.delta })
      : fitPrepared(d, n, { grid: startsMode, extraStarts: warm, delta: opts.delta ?? fit.delta });
    draws.E.push(r.E);
    draws.A.push(r.A);
    draws.B.push(r.B);
    draws.alpha.push(r.alpha);
    draws.beta.push(r.beta);
    draws.n_exponent.push(r.beta / (r.alpha + r.beta));
    draws.d_exponent.push(r.alpha / (r.alpha + r.beta));
    opts.progress?.(k + 1, samples);
  }
  const lo = (1 - level) / 2;
  const ci = {} as Record<CiKey, [number, number]>;
  for (const key of CI_KEYS) {
    const s = draws[key].filter(Number.isFinite).sort((x, y) => x - y);
    ci[key] = [quantile(s, lo), quantile(s, 1 - lo)];
  }
  return { samples, seed, level, starts: startsMode, ci };
}

export interface ComputeOptimal {
  /** Budget C in FLOPs (C ≈ 6ND). */
  flops: number;
  /** N*(C) = G·(C/6)^(β/(α+β)). */
  params: number;
  /** D*(C) = G⁻¹·(C/6)^(α/(α+β)). */
  tokens: number;
  tokens_per_param: number;
  /** Predicted loss L(N*, D*). */
  loss: number;
}

/** G = (αA / (βB))^(1/(α+β)). */
export function allocationG(fit: Pick<ChinchillaFit, "A" | "B" | "alpha" | "beta">): number {
  return Math.pow((fit.alpha * fit.A) / (fit.beta * fit.B), 1 / (fit.alpha + fit.beta));
}

/** The compute-optimal model size and token count for budget C under the fit (docs/references.md §7). */
export function computeOptimal(fit: Pick<ChinchillaFit, "E" | "A" | "B" | "alpha" | "beta">, C: number): ComputeOptimal {
  if (!(C > 0) || !Number.isFinite(C)) throw new ConfigError(`compute-optimal: budget must be a finite number > 0, got ${C}`);
  if (!(fit.alpha > 0 && fit.beta > 0)) {
    throw new ConfigError(`compute-optimal: needs α > 0 and β > 0, got α=${fit.alpha}, β=${fit.beta}`, [], "the fit is degenerate; check the data spans several model sizes and token counts");
  }
  const G = allocationG(fit);
  const s = fit.alpha + fit.beta;
  const N = G * Math.pow(C / 6, fit.beta / s);
  const D = Math.pow(C / 6, fit.alpha / s) / G;
  return { flops: C, params: N, tokens: D, tokens_per_param: D / N, loss: predictLoss(fit, N, D) };
}
