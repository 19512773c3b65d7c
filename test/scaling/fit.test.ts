// The Chinchilla parametric fit: analytic gradient against finite differences, recovery of known
// parameters from synthetic data (exact and noisy), the bundled Chinchilla extraction against
// Besiroglu et al.'s replication, bootstrap determinism, and the compute-optimal allocation against
// an independent 1-D search. Tests use the 243-start coarse grid to stay fast (the CLI default is
// the full 4,500-start grid; on the Chinchilla data both find the same optimum).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { packageRoot } from "../../src/util/paths.js";
import { readScalingCsv, type ScalingPoint } from "../../src/scaling/csv.js";
import {
  allocationG, bootstrapFit, chinchillaObjective, computeOptimal, dropHighestLoss, fitChinchilla, predictLoss, quantile,
} from "../../src/scaling/fit.js";
import { rng } from "../helpers.js";

const TRUE = { E: 1.69, A: 406.4, B: 410.7, alpha: 0.34, beta: 0.28 };
const relErr = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);

function synthetic(n: number, seed: number, sigma: number): ScalingPoint[] {
  const r = rng(seed);
  const pts: ScalingPoint[] = [];
  for (let i = 0; i < n; i++) {
    const N = 10 ** (7 + 3 * r());
    const D = 10 ** (8 + 4 * r());
    const z = Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r()); // standard normal
    pts.push({ params: N, tokens: D, loss: predictLoss(TRUE, N, D) * Math.exp(sigma * z) });
  }
  return pts;
}

const chinchilla = () => readScalingCsv(join(packageRoot(), "data", "scaling", "chinchilla_svg_extracted.csv"));

describe("fit: objective", () => {
  it("analytic gradient matches central differences (rel 1e-6)", () => {
    const pts = synthetic(40, 3, 0.01);
    // Large δ keeps every residual in the smooth quadratic part, and δ = 1e-3 (the default) away from kinks.
    for (const delta of [10, 1e-3]) {
      const fg = chinchillaObjective(pts, delta);
      const th = Float64Array.from([6.1, 6.0, 0.5, 0.33, 0.29]);
      const g = new Float64Array(5);
      fg(th, g);
      const h = 1e-6;
      for (let k = 0; k < 5; k++) {
        const tp = Float64Array.from(th), tm = Float64Array.from(th);
        tp[k] += h;
        tm[k] -= h;
        const fd = (fg(tp, new Float64Array(5)) - fg(tm, new Float64Array(5))) / (2 * h);
        assert.ok(Math.abs(fd - g[k]) <= 1e-6 * Math.max(1e-3, Math.abs(g[k])), `δ=${delta} ∂θ${k}: analytic ${g[k]} vs fd ${fd}`);
      }
    }
  });
});

describe("fit: recovers known parameters", () => {
  it("noise-free data on a 8×8 grid of N, D: every parameter to 1e-3 relative", () => {
    const pts: ScalingPoint[] = [];
    for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) {
      const N = 10 ** (7 + (3 * i) / 7), D = 10 ** (8 + (4 * j) / 7);
      pts.push({ params: N, tokens: D, loss: predictLoss(TRUE, N, D) });
    }
    const f = fitChinchilla(pts, { grid: "coarse" });
    for (const k of ["E", "A", "B", "alpha", "beta"] as const) {
      assert.ok(relErr(f[k], TRUE[k]) < 1e-3, `${k}: got ${f[k]}, want ${TRUE[k]}`);
    }
    assert.equal(f.n_points, 64);
    assert.equal(f.starts, 243);
    assert.ok(f.huber_loss < 1e-12, `huber ${f.huber_loss}`);
  });
  it("150 points with 1% log-normal noise: α ± 0.03, β ± 0.02, E ± 5%, A and B within a factor 1.6", () => {
    const f = fitChinchilla(synthetic(150, 1, 0.01), { grid: "coarse" });
    assert.ok(Math.abs(f.alpha - TRUE.alpha) < 0.03, `alpha ${f.alpha}`);
    assert.ok(Math.abs(f.beta - TRUE.beta) < 0.02, `beta ${f.beta}`);
    assert.ok(relErr(f.E, TRUE.E) < 0.05, `E ${f.E}`);
    for (const k of ["A", "B"] as const) assert.ok(f[k] / TRUE[k] < 1.6 && TRUE[k] / f[k] < 1.6, `${k} ${f[k]}`);
    assert.ok(Math.abs(f.rmse_log - 0.01) < 0.003, `rmse_log ${f.rmse_log} should be near the noise level 0.01`);
  });
});

describe("fit: the bundled Chinchilla extraction", () => {
  it("without the 5 highest-loss points lands on Besiroglu et al.'s E≈1.82, A≈482, B≈2085, α≈0.35, β≈0.37", () => {
    const [kept, dropped] = dropHighestLoss(chinchilla(), 5);
    assert.equal(kept.length, 240);
    assert.equal(dropped.length, 5);
    const f = fitChinchilla(kept, { grid: "coarse" });
    // Measured (full and coarse grid alike): E 1.8172, A 477.8, B 2143, α 0.3473, β 0.3672.
    assert.ok(Math.abs(f.E - 1.82) < 0.03, `E ${f.E}`);
    assert.ok(relErr(f.A, 482) < 0.1, `A ${f.A}`);
    assert.ok(relErr(f.B, 2085) < 0.15, `B ${f.B}`);
    assert.ok(Math.abs(f.alpha - 0.348) < 0.01, `alpha ${f.alpha}`);
    assert.ok(Math.abs(f.beta - 0.366) < 0.01, `beta ${f.beta}`);
  });
  it("with all 245 points matches their with-outliers fit (E≈1.89, α≈0.353, β≈0.456)", () => {
    const f = fitChinchilla(chinchilla(), { grid: "coarse" });
    // Measured: E 1.8913, A 495.7, B 12846, α 0.3493, β 0.4530.
    assert.ok(Math.abs(f.E - 1.89) < 0.03, `E ${f.E}`);
    assert.ok(Math.abs(f.alpha - 0.353) < 0.01, `alpha ${f.alpha}`);
    assert.ok(Math.abs(f.beta - 0.456) < 0.01, `beta ${f.beta}`);
  });
  it("bootstrap: same seed, same intervals; the estimate lies inside; another seed differs", () => {
    const [kept] = dropHighestLoss(chinchilla(), 5);
    const fit = fitChinchilla(kept, { grid: "none", extraStarts: [[6.17, 7.67, 0.6, 0.35, 0.37]] });
    const a = bootstrapFit(kept, fit, { samples: 30, seed: 7 });
    const b = bootstrapFit(kept, fit, { samples: 30, seed: 7 });
    const c = bootstrapFit(kept, fit, { samples: 30, seed: 8 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.ci, c.ci);
    for (const k of ["E", "A", "B", "alpha", "beta"] as const) {
      const [lo, hi] = a.ci[k];
      assert.ok(lo < hi && lo <= fit[k] && fit[k] <= hi, `${k}: ${fit[k]} outside [${lo}, ${hi}]`);
    }
    const [nlo, nhi] = a.ci.n_exponent;
    assert.ok(nlo < 0.514 && 0.514 < nhi, `n_exponent CI [${nlo}, ${nhi}]`);
  });
});

describe("fit: compute-optimal allocation", () => {
  it("N*·D* = C/6 and N* minimises L(N, C/(6N)) (golden-section search, rel 1e-6)", () => {
    for (const C of [1e18, 1e21, 1e24]) {
      const o = computeOptimal(TRUE, C);
      assert.ok(relErr(o.params * o.tokens, C / 6) < 1e-12);
      assert.ok(relErr(o.tokens_per_param, o.tokens / o.params) < 1e-12);
      // Independent: minimise over u = ln N.
      const g = (u: number) => predictLoss(TRUE, Math.exp(u), C / (6 * Math.exp(u)));
      let lo = Math.log(1e3), hi = Math.log(C);
      const phi = (Math.sqrt(5) - 1) / 2;
      for (let i = 0; i < 200; i++) {
        const m1 = hi - phi * (hi - lo), m2 = lo + phi * (hi - lo);
        if (g(m1) < g(m2)) hi = m2;
        else lo = m1;
      }
      assert.ok(relErr(o.params, Math.exp((lo + hi) / 2)) < 1e-6, `C=${C}: N* ${o.params} vs search ${Math.exp((lo + hi) / 2)}`);
      assert.ok(relErr(o.loss, g(Math.log(o.params))) < 1e-12);
    }
  });
  it("G = (αA/βB)^(1/(α+β)) by hand for Chinchilla's own fit", () => {
    // (0.34·406.4 / (0.28·410.7))^(1/0.62) = (138.176 / 114.996)^(1.6129…) = 1.2015722…^1.6129 ≈ 1.3444
    assert.ok(Math.abs(allocationG(TRUE) - Math.pow(138.176 / 114.996, 1 / 0.62)) < 1e-12);
    assert.throws(() => computeOptimal({ ...TRUE, alpha: 0 }, 1e20));
  });
  it("quantile interpolates linearly (type 7)", () => {
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(quantile([1, 2, 3, 4], 0), 1);
    assert.equal(quantile([10, 20], 0.975), 19.75);
  });
  it("dropHighestLoss keeps input order and rejects bad counts", () => {
    const pts = [3, 9, 1, 7, 5].map((loss) => ({ params: 1, tokens: 1, loss }));
    const [kept, dropped] = dropHighestLoss(pts, 2);
    assert.deepEqual(kept.map((p) => p.loss), [3, 1, 5]);
    assert.deepEqual(dropped.map((p) => p.loss), [9, 7]);
    assert.throws(() => dropHighestLoss(pts, -1));
  });
  it("too few points is a DataError", () => {
    assert.throws(() => fitChinchilla(synthetic(4, 1, 0)), /need at least 5/);
  });
});
