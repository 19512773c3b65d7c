// IsoFLOP analysis (Chinchilla approach 2): the least-squares pieces on exact inputs, and the full
// analysis on isoFLOP sweeps drawn from a known law, whose optimum exponent is β/(α+β).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ScalingPoint } from "../../src/scaling/csv.js";
import { computeOptimal, predictLoss } from "../../src/scaling/fit.js";
import { fitParabola, fitPowerLaw, isoflopAnalysis } from "../../src/scaling/isoflop.js";
import { assertClose } from "../helpers.js";

const TRUE = { E: 1.69, A: 406.4, B: 410.7, alpha: 0.34, beta: 0.28 };

describe("isoflop", () => {
  it("fitParabola is exact on a parabola; fitPowerLaw exact on a power law", () => {
    const x = [7, 7.5, 8, 8.5, 9, 9.5];
    const par = fitParabola(x, x.map((v) => 3 - 0.5 * v + 0.04 * v * v));
    assert.ok(par);
    assertClose(par, [3, -0.5, 0.04], { atol: 1e-9 }, "parabola");
    const C = [1e18, 1e19, 1e20, 1e21];
    const pl = fitPowerLaw(C, C.map((c) => 0.1 * c ** 0.45));
    assert.ok(pl);
    assert.ok(Math.abs(pl.exponent - 0.45) < 1e-12 && Math.abs(pl.k / 0.1 - 1) < 1e-9, JSON.stringify(pl));
    assert.equal(fitParabola([1, 1, 1], [1, 2, 3]), null);
  });
  it("sweeps from a known law: N_opt within 5% per budget and exponents a ≈ β/(α+β), b ≈ α/(α+β) (± 0.01)", () => {
    const pts: ScalingPoint[] = [];
    const budgets = [1e18, 1e19, 1e20, 1e21];
    for (const C of budgets) {
      const nStar = computeOptimal(TRUE, C).params;
      // 9 model sizes from N*/4 to 4·N* (a narrow window keeps the parabola approximation good).
      for (let k = -4; k <= 4; k++) {
        const N = nStar * 4 ** (k / 4);
        pts.push({ params: N, tokens: C / (6 * N), loss: predictLoss(TRUE, N, C / (6 * N)) });
      }
    }
    // A stray run alone in its bin is reported as skipped, not fitted.
    pts.push({ params: 1e8, tokens: 1e23 / 6e8, loss: 3 }); // C = 1e23
    const r = isoflopAnalysis(pts);
    assert.equal(r.used_groups, 4);
    assert.equal(r.groups.length, 5);
    assert.match(r.groups.find((g) => g.n_opt === null)?.skipped ?? "", /1 point over 1 model size/);
    for (const g of r.groups.filter((x) => x.n_opt !== null)) {
      const want = computeOptimal(TRUE, g.flops).params;
      assert.ok(Math.abs((g.n_opt as number) / want - 1) < 0.05, `C=${g.flops}: N_opt ${g.n_opt} vs ${want}`);
    }
    const a = TRUE.beta / (TRUE.alpha + TRUE.beta);
    assert.ok(r.n_opt && Math.abs(r.n_opt.exponent - a) < 0.01, `a = ${r.n_opt?.exponent}, want ${a}`);
    assert.ok(r.d_opt && Math.abs(r.d_opt.exponent - (1 - a)) < 0.01, `b = ${r.d_opt?.exponent}`);
  });
  it("uses the flops column when present and rejects bad options", () => {
    const pts: ScalingPoint[] = [1e8, 2e8, 4e8, 8e8].map((N, i) => ({ params: N, tokens: 1, loss: [3, 2.9, 2.95, 3.1][i], flops: 1e19 }));
    const r = isoflopAnalysis(pts);
    assert.equal(r.groups.length, 1);
    assert.equal(r.groups[0].flops, 1e19);
    assert.ok(r.groups[0].n_opt !== null && r.groups[0].n_opt > 1e8 && r.groups[0].n_opt < 8e8);
    assert.equal(r.n_opt, null, "one usable bin is too few for a power law");
    assert.throws(() => isoflopAnalysis(pts, { binWidth: 0 }));
  });
});
