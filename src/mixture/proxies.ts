// RegMix's proxy runs (Liu et al. 2024): many small runs from scratch on random mixtures, the data
// for the regression. Mixtures are Dirichlet(α) draws (α = 1: uniform on the simplex; RegMix
// varies the concentration), deterministic from a seed; a minimum share drops near-zero sources.
import { Rng } from "../util/rng.js";

/** A Gamma(α, 1) draw (Marsaglia–Tsang; α < 1 by the boost Gamma(α+1)·U^{1/α}). */
function gamma(rng: Rng, a: number): number {
  if (a < 1) return gamma(rng, a + 1) * Math.pow(rng.next(), 1 / a);
  const d = a - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.normal();
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    const u = rng.next();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** `count` Dirichlet(α) mixtures over `sources`, rounded to 4 decimals and summing to 1. */
export function randomMixtures(sources: readonly string[], count: number, seed: number, alpha = 1): Record<string, number>[] {
  const rng = new Rng(seed);
  const out: Record<string, number>[] = [];
  for (let i = 0; i < count; i++) {
    const g = sources.map(() => gamma(rng, alpha));
    const sum = g.reduce((a, b) => a + b, 0);
    const w = g.map((x) => Math.round((x / sum) * 1e4));
    w[w.indexOf(Math.max(...w))] += 1e4 - w.reduce((a, b) => a + b, 0);
    out.push(Object.fromEntries(sources.map((s, j) => [s, w[j] / 1e4]).filter(([, x]) => (x as number) > 0)));
  }
  return out;
}
