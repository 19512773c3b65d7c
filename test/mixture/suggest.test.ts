// `smol mixture suggest` on synthetic problems with a known optimum: per-source losses that respond
// to their weight by known curves L_i(r) = c_i + k_i·exp(−t_i·r_i); the target Σ λ_i L_i has its
// constrained minimum where λ_i k_i t_i exp(−t_i r_i) is equal across the free sources (KKT), found
// here independently by bisection on that common value. The suggestion must recover it (with and
// without noise), respect the epoch caps, and rank held-out runs correctly.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { rng } from "../helpers.js";
import { epochBounds, parseTarget, projectCapped, roundMixture, suggestMixture, type Observation } from "../../src/mixture/suggest.js";
import { fitLaw, fitLinear, spearman } from "../../src/mixture/regress.js";
import { ConfigError } from "../../src/errors.js";

const S = ["web", "code", "math"];
const C = [2.0, 2.5, 1.8];
const K = [1.5, 1.0, 2.0];
const T = [3, 5, 2];
const LAMBDA = [0.5, 0.3, 0.2];
const loss = (i: number, r: number[]) => C[i] + K[i] * Math.exp(-T[i] * r[i]);

/** The KKT optimum of Σ λ_i L_i on {Σ r = 1, 0 ≤ r ≤ hi}: bisection on μ = λ_i k_i t_i exp(−t_i r_i). */
function knownOptimum(hi: number[]): number[] {
  const at = (mu: number) => S.map((_, i) => Math.min(hi[i], Math.max(0, Math.log((LAMBDA[i] * K[i] * T[i]) / mu) / T[i])));
  let lo = 1e-12;
  let up = 1e6;
  for (let it = 0; it < 300; it++) {
    const mid = Math.sqrt(lo * up);
    if (at(mid).reduce((a, b) => a + b, 0) > 1) lo = mid;
    else up = mid;
  }
  return at(Math.sqrt(lo * up));
}

/** Dirichlet(1) mixtures (uniform on the simplex) and the synthetic losses, with optional noise. */
function observations(n: number, seed: number, noise = 0): Observation[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, j) => {
    const e = S.map(() => -Math.log(1 - r()));
    const sum = e.reduce((a, b) => a + b, 0);
    const mix = e.map((x) => x / sum);
    const metrics: Record<string, number> = {};
    S.forEach((s, i) => (metrics[`val/${s}/loss`] = loss(i, mix) + noise * (r() * 2 - 1)));
    return { name: `p${j}`, mixture: Object.fromEntries(S.map((s, i) => [s, mix[i]])), metrics };
  });
}

const TARGET = parseTarget("loss:web=0.5,code=0.3,math=0.2");
const vec = (m: Record<string, number>) => S.map((s) => m[s] ?? 0);

describe("mixture suggest: synthetic known optimum", () => {
  it("recovers the optimum of the weighted per-source losses", () => {
    const opt = knownOptimum([1, 1, 1]);
    assert.ok(opt.every((x) => x > 0.05 && x < 0.9), `an interior optimum: ${opt}`);
    const bounds = { lo: [0, 0, 0], hi: [1, 1, 1] };
    const s = suggestMixture(observations(24, 1), { target: TARGET, bounds, sources: S, current: { web: 0.6, code: 0.2, math: 0.2 } });
    const got = vec(s.proposed.mixture);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(got[i] - opt[i]) < 5e-3, `${S[i]}: ${got[i]} vs known ${opt[i]}`);
    const trueAt = (r: number[]) => LAMBDA.reduce((a, l, i) => a + l * loss(i, r), 0);
    assert.ok(Math.abs(s.proposed.predicted - trueAt(opt)) < 1e-4, "predicted target at the optimum");
    assert.ok(s.proposed.predicted < s.current!.predicted);
    assert.ok(s.rankCorrelation > 0.99, `held-out rank correlation ${s.rankCorrelation}`);
    assert.equal(s.heldOut.length, 24);
  });

  it("respects the epoch caps: the capped source sits at its cap, the others re-balance", () => {
    const stage = 1_000_000;
    // web: 40k tokens available, 4 epochs, 0 used → at most 0.16 of the stage; code already used 100k of 4×200k.
    const b = epochBounds(S, stage, { web: 40_000, code: 200_000, math: 1_000_000 }, { code: 100_000 }, 4);
    assert.deepEqual(b.hi.map((x) => +x.toFixed(6)), [0.16, 0.7, 1]);
    const opt = knownOptimum(b.hi);
    const s = suggestMixture(observations(24, 2), { target: TARGET, bounds: b, sources: S });
    const got = vec(s.proposed.mixture);
    assert.ok(got[0] <= 0.16 + 1e-12, `web ${got[0]} over its cap`);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(got[i] - opt[i]) < 5e-3, `${S[i]}: ${got[i]} vs known capped ${opt[i]}`);
    assert.ok(Math.abs(got[0] - 0.16) < 1e-9, "the cap binds");
    assert.ok(Math.abs(got.reduce((a, x) => a + x, 0) - 1) < 1e-9);
  });

  it("with noisy observations stays within tolerance", () => {
    const opt = knownOptimum([1, 1, 1]);
    const s = suggestMixture(observations(40, 3, 0.003), { target: TARGET, bounds: { lo: [0, 0, 0], hi: [1, 1, 1] }, sources: S });
    const got = vec(s.proposed.mixture);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(got[i] - opt[i]) < 0.03, `${S[i]}: ${got[i]} vs known ${opt[i]}`);
    assert.ok(s.rankCorrelation > 0.9);
  });

  it("maximises a metric with the linear (RegMix) regression: the best source up to its cap", () => {
    const obs = observations(12, 4).map((o) => ({ ...o, metrics: { "arc_easy/acc": 0.2 + 0.1 * (o.mixture.web ?? 0) + 0.3 * (o.mixture.math ?? 0) } }));
    const t = parseTarget("arc_easy/acc");
    assert.equal(t.maximize, true);
    const s = suggestMixture(obs, { target: t, kind: "linear", bounds: { lo: [0, 0, 0], hi: [1, 1, 0.7] }, sources: S });
    const got = vec(s.proposed.mixture);
    assert.ok(Math.abs(got[2] - 0.7) < 1e-6 && Math.abs(got[0] - 0.3) < 1e-6, `got ${got}`);
    assert.ok(Math.abs(s.proposed.predicted - (0.2 + 0.03 + 0.21)) < 1e-6);
  });

  it("fits and helpers: exact law and linear recoveries, projection, rounding, errors", () => {
    const obs = observations(10, 5);
    const X = obs.map((o) => vec(o.mixture));
    const law = fitLaw(X, obs.map((o) => o.metrics["val/code/loss"]));
    for (const x of X) assert.ok(Math.abs(law.predict(x) - loss(1, x)) < 1e-6);
    const lin = fitLinear(X, X.map((x) => 1 + 2 * x[0] - x[2]));
    assert.ok(Math.abs(lin.predict([0.2, 0.3, 0.5]) - (1 + 0.4 - 0.5)) < 1e-6);
    assert.deepEqual(projectCapped([0.5, 0.5, 0.5], { lo: [0, 0, 0], hi: [1, 1, 0.1] }).map((x) => +x.toFixed(9)), [0.45, 0.45, 0.1]);
    assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 25]), 0.8);
    const r = roundMixture({ a: 1 / 3, b: 1 / 3, c: 1 / 3 });
    assert.equal(Object.values(r).reduce((a, b) => a + b, 0).toFixed(10), "1.0000000000");
    assert.throws(() => epochBounds(S, 1e6, { web: 1000, code: 1000, math: 1000 }, {}, 4), (e: unknown) => e instanceof ConfigError && /no mixture of 1000000 tokens keeps every source under 4 epochs/.test(e.message));
    assert.throws(() => suggestMixture(obs.slice(0, 2), { target: TARGET, bounds: { lo: [0, 0, 0], hi: [1, 1, 1] }, sources: S }), /at least 3 runs/);
    assert.throws(() => parseTarget("loss:web=x"), /SOURCE=WEIGHT/);
  });
});
