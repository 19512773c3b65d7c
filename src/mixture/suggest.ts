// Mixture refinement between stages (`smol mixture suggest`): from runs with different mixtures
// (ablation branches, or RegMix proxy runs on random mixtures), fit a regression from the weights to
// a target — one metric, or Σ λ_i · (loss on source i), each term fitted on its own — check it by
// leave-one-out rank correlation (RegMix's criterion: the ranking of mixtures is what must hold), and
// propose the weights that optimise the prediction on the capped simplex: Σ r = 1 and
// lo_i ≤ r_i ≤ u_i, where u_i keeps source i under `maxEpochs` passes over its available tokens
// given what earlier stages already used (SmolLM2 kept every source under ~4–5 epochs).
// Assumptions (docs/mixture.md): the target depends on the mixture smoothly in the form fitted, the
// proxy runs share everything but the mixture, and their ranking transfers to the next stage.
import { ConfigError } from "../errors.js";
import { fitRegression, spearman, type Fit, type RegressionKind } from "./regress.js";

export interface Observation {
  name: string;
  /** Source → weight (missing = 0). */
  mixture: Record<string, number>;
  /** Metric key → value (e.g. "val/math/loss", "arc_easy/acc"). */
  metrics: Record<string, number>;
}

/** The quantity optimised: Σ terms[k] · metric k, minimised or maximised. */
export interface Target {
  terms: Record<string, number>;
  maximize: boolean;
  label: string;
}

/**
 * Parse a target: a metric key ("arc_easy/acc", "val/math/loss"), or "loss:web=0.5,code=0.3,math=0.2"
 * for a weighted sum of per-source validation losses. Losses and perplexities are minimised, other
 * metrics maximised (override with `maximize`).
 */
export function parseTarget(s: string, maximize?: boolean): Target {
  const m = /^loss:(.+)$/.exec(s);
  let terms: Record<string, number>;
  if (m) {
    terms = {};
    for (const part of m[1].split(",")) {
      const [k, v] = part.split("=");
      const w = Number(v ?? "1");
      if (!k || !Number.isFinite(w)) throw new ConfigError(`target "${s}": each term is SOURCE=WEIGHT, got "${part}"`);
      terms[`val/${k.trim()}/loss`] = w;
    }
  } else terms = { [s]: 1 };
  const minimized = Object.keys(terms).every((k) => /\/(loss|ppl|bpb)$/.test(k));
  return { terms, maximize: maximize ?? !minimized, label: s };
}

export interface Bounds {
  lo: number[];
  hi: number[];
}

/**
 * Per-source bounds for a stage of `stageTokens`: r_i ≤ (maxEpochs·available_i − used_i)/stageTokens
 * (and ≤ 1), r_i ≥ minShare. Throws when the caps cannot add up to 1.
 */
export function epochBounds(sources: readonly string[], stageTokens: number, available: Record<string, number>, used: Record<string, number>, maxEpochs: number, minShare = 0): Bounds {
  const hi = sources.map((s) => {
    if (available[s] === undefined) throw new ConfigError(`source "${s}": its available tokens are unknown`, [], "give the shard directory the runs were trained on (--data DIR)");
    return Math.max(0, Math.min(1, (maxEpochs * available[s] - (used[s] ?? 0)) / stageTokens));
  });
  const lo = sources.map((_, i) => Math.min(minShare, hi[i]));
  const cap = hi.reduce((a, b) => a + b, 0);
  if (cap < 1 - 1e-9) {
    throw new ConfigError(`no mixture of ${stageTokens} tokens keeps every source under ${maxEpochs} epochs`, sources.map((s, i) => `${s}: at most ${(hi[i] * stageTokens).toFixed(0)} more tokens (${available[s]} available, ${used[s] ?? 0} used)`), "lower --tokens, raise --max-epochs, or add data");
  }
  return { lo, hi };
}

/** Euclidean projection onto {Σ x = 1, lo ≤ x ≤ hi} (bisection on the shift τ). */
export function projectCapped(v: readonly number[], b: Bounds): number[] {
  const at = (tau: number) => v.map((x, i) => Math.min(b.hi[i], Math.max(b.lo[i], x - tau)));
  const sum = (tau: number) => at(tau).reduce((a, x) => a + x, 0);
  let lo = Math.min(...v.map((x, i) => x - b.hi[i])) - 1;
  let hi = Math.max(...v.map((x, i) => x - b.lo[i])) + 1;
  for (let it = 0; it < 200; it++) {
    const mid = (lo + hi) / 2;
    if (sum(mid) > 1) lo = mid;
    else hi = mid;
  }
  return at((lo + hi) / 2);
}

/** Minimise f over the capped simplex: projected gradient (numerical gradient, backtracking), several starts. */
export function minimizeOnSimplex(f: (r: number[]) => number, b: Bounds, starts: number[][]): { r: number[]; f: number } {
  const n = b.lo.length;
  let best: { r: number[]; f: number } | undefined;
  for (const s0 of starts) {
    let r = projectCapped(s0, b);
    let fr = f(r);
    let step = 0.1;
    for (let it = 0; it < 3000 && step > 1e-12; it++) {
      const g = new Array<number>(n);
      for (let j = 0; j < n; j++) {
        const h = 1e-7;
        const p = [...r];
        const q = [...r];
        p[j] += h;
        q[j] -= h;
        g[j] = (f(p) - f(q)) / (2 * h);
      }
      const gn = Math.sqrt(g.reduce((a, x) => a + x * x, 0)) || 1;
      let moved = false;
      while (step > 1e-12) {
        const cand = projectCapped(r.map((x, j) => x - (step * g[j]) / gn), b);
        const fc = f(cand);
        if (fc < fr - 1e-15) {
          const dx = Math.max(...cand.map((x, j) => Math.abs(x - r[j])));
          r = cand;
          fr = fc;
          moved = dx > 1e-12;
          step *= 1.5;
          break;
        }
        step /= 2;
      }
      if (!moved) break;
    }
    if (!best || fr < best.f) best = { r, f: fr };
  }
  return best!;
}

export interface Suggestion {
  sources: string[];
  target: Target;
  kind: RegressionKind;
  /** One fit per target term. */
  fits: Record<string, Fit["params"]>;
  /** Leave-one-out predictions vs observed targets and their Spearman correlation. */
  heldOut: { name: string; observed: number; predicted: number }[];
  rankCorrelation: number;
  bounds: Bounds;
  proposed: { mixture: Record<string, number>; predicted: number };
  current?: { mixture: Record<string, number>; predicted: number };
  /** The best observed run, for comparison. */
  bestObserved: { name: string; value: number };
}

function targetValue(o: Observation, t: Target): number {
  let s = 0;
  for (const [k, w] of Object.entries(t.terms)) {
    const v = o.metrics[k];
    if (typeof v !== "number" || !Number.isFinite(v)) throw new ConfigError(`run "${o.name}" has no metric ${k}`, [], `available: ${Object.keys(o.metrics).join(", ")}`);
    s += w * v;
  }
  return s;
}

function fitTarget(obs: readonly Observation[], sources: readonly string[], t: Target, kind: RegressionKind): { predict: (r: ArrayLike<number>) => number; params: Record<string, Fit["params"]> } {
  const X = obs.map((o) => sources.map((s) => o.mixture[s] ?? 0));
  const fits = Object.entries(t.terms).map(([k, w]) => ({ k, w, fit: fitRegression(kind, X, obs.map((o) => o.metrics[k])) }));
  return { predict: (r) => fits.reduce((a, f) => a + f.w * f.fit.predict(r), 0), params: Object.fromEntries(fits.map((f) => [f.k, f.fit.params])) };
}

export function suggestMixture(obs: readonly Observation[], opts: { target: Target; kind?: RegressionKind; bounds: Bounds; sources: string[]; current?: Record<string, number> }): Suggestion {
  const { target, sources } = opts;
  const kind = opts.kind ?? "law";
  if (obs.length < 3) throw new ConfigError(`mixture suggest needs at least 3 runs with different mixtures, got ${obs.length}`, [], "run more ablation branches or proxy runs (smol mixture suggest --help)");
  const y = obs.map((o) => targetValue(o, target));
  const heldOut = obs.map((o, i) => {
    const rest = obs.filter((_, j) => j !== i);
    const fit = fitTarget(rest, sources, target, kind);
    return { name: o.name, observed: y[i], predicted: fit.predict(sources.map((s) => o.mixture[s] ?? 0)) };
  });
  const full = fitTarget(obs, sources, target, kind);
  const sign = target.maximize ? -1 : 1;
  const n = sources.length;
  const starts = [new Array(n).fill(1 / n), ...sources.map((_, i) => sources.map((__, j) => (i === j ? 1 : 0))), ...obs.map((o) => sources.map((s) => o.mixture[s] ?? 0))];
  if (opts.current) starts.push(sources.map((s) => opts.current![s] ?? 0));
  const best = minimizeOnSimplex((r) => sign * full.predict(r), opts.bounds, starts);
  const asMix = (r: number[]) => Object.fromEntries(sources.map((s, i) => [s, r[i]]));
  const bi = y.reduce((b, v, i) => ((target.maximize ? v > y[b] : v < y[b]) ? i : b), 0);
  return {
    sources, target, kind, fits: full.params, heldOut, rankCorrelation: spearman(heldOut.map((h) => h.observed), heldOut.map((h) => h.predicted)), bounds: opts.bounds,
    proposed: { mixture: asMix(best.r), predicted: full.predict(best.r) },
    ...(opts.current ? { current: { mixture: opts.current, predicted: full.predict(sources.map((s) => opts.current![s] ?? 0)) } } : {}),
    bestObserved: { name: obs[bi].name, value: y[bi] },
  };
}

/** Round a mixture to `digits` decimals keeping Σ = 1 exactly at that precision (largest remainders). */
export function roundMixture(m: Record<string, number>, digits = 4): Record<string, number> {
  const scale = 10 ** digits;
  const keys = Object.keys(m);
  const raw = keys.map((k) => m[k] * scale);
  const fl = raw.map(Math.floor);
  let left = scale - fl.reduce((a, b) => a + b, 0);
  const order = keys.map((_, i) => i).sort((a, b) => raw[b] - fl[b] - (raw[a] - fl[a]));
  for (const i of order) {
    if (left <= 0) break;
    fl[i]++;
    left--;
  }
  const out: Record<string, number> = {};
  keys.forEach((k, i) => {
    if (fl[i] > 0) out[k] = fl[i] / scale;
  });
  return out;
}
