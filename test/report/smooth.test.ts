// The training-loss smoothing of `smol report` and the dashboard: the bias-corrected EMA against its
// closed form (a normalised weighted sum, computed independently here), continuation of a curve from
// a saved state, and the defect it fixes (a curve falling fast at the start no longer sits far above
// the raw loss for dozens of points). Also checks the report's figure draws raw and smoothed lines.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { autoAlpha, emaDebiased, emaStart } from "../../src/report/smooth.js";
import { lossSeries, runFigures } from "../../src/report/run.js";
import { assertClose, rng } from "../helpers.js";

/** s_n = Σ_{i≤n} α^{n−i}(1−α) y_i / Σ_{i≤n} α^{n−i}(1−α): the definition, summed directly. */
function closedForm(ys: number[], a: number): number[] {
  return ys.map((_, n) => {
    let num = 0;
    let den = 0;
    for (let i = 0; i <= n; i++) {
      const w = Math.pow(a, n - i) * (1 - a);
      num += w * ys[i];
      den += w;
    }
    return num / den;
  });
}

describe("report: bias-corrected EMA", () => {
  const r = rng(7);
  const ys = Array.from({ length: 200 }, (_, i) => 3 + 7 * Math.exp(-i / 15) + (r() - 0.5) * 0.4);

  for (const a of [0, 0.3, 0.6, 0.9, 0.99]) {
    it(`equals the normalised weighted sum (α = ${a})`, () => {
      assertClose(emaDebiased(ys, a), closedForm(ys, a), { atol: 1e-12, rtol: 1e-12 }, `alpha ${a}`);
    });
  }

  it("starts at the first value and keeps a constant series constant", () => {
    assert.equal(emaDebiased([5.5, 1, 1], 0.9)[0], 5.5);
    assertClose(emaDebiased(new Array(50).fill(2.25), 0.95), new Array(50).fill(2.25), { atol: 1e-12 }, "constant");
  });

  it("continues a curve from a saved state exactly as if it were one series", () => {
    const st = emaStart();
    const a = emaDebiased(ys.slice(0, 80), 0.8, st);
    const b = emaDebiased(ys.slice(80), 0.8, st);
    assertClose([...a, ...b], emaDebiased(ys, 0.8), { atol: 1e-12 }, "continued");
  });

  it("passes non-finite values through without poisoning later points", () => {
    const out = emaDebiased([4, NaN, 4, Infinity, 4], 0.5);
    assert.ok(Number.isNaN(out[1]) && Number.isNaN(out[3]));
    assertClose([out[0], out[2], out[4]], [4, 4, 4], { atol: 1e-12 }, "finite points");
  });

  it("no longer sits far above a fast-falling loss (the old EMA started at y0 without correction)", () => {
    // The old smoother: s = y0, then s = 0.9 s + 0.1 y. Its weight on y0 decays as 0.9^n.
    const old: number[] = [];
    let s = ys[0];
    for (const y of ys) old.push((s = 0.9 * s + 0.1 * y));
    const gap = (sm: number[]) => Math.max(...sm.slice(5, 60).map((v, i) => v - ys[i + 5]));
    const a = autoAlpha(ys.length);
    assert.ok(gap(old) > 1.0, `the old smoother's gap should reproduce the defect, got ${gap(old)}`);
    assert.ok(gap(emaDebiased(ys, a)) < 0.5 * gap(old), `gap ${gap(emaDebiased(ys, a))} vs old ${gap(old)}`);
    // Once the curve is flat, the smoothed line sits on the mean of the noise.
    const tail = emaDebiased(ys, a).slice(120);
    const bias = tail.reduce((acc, v, i) => acc + v - ys[120 + i], 0) / tail.length;
    assert.ok(Math.abs(bias) < 0.05, `mean offset over the flat part ${bias}`);
  });

  it("chooses the weight from the number of points", () => {
    assert.equal(autoAlpha(10), 0);
    assert.equal(autoAlpha(40), 0);
    assert.ok(Math.abs(autoAlpha(400) - 0.9) < 1e-12);
    assert.equal(autoAlpha(1e6), 0.95);
  });
});

describe("report: training-loss figure", () => {
  it("draws the raw loss and its smoothed line from metrics.jsonl", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smol-smooth-"));
    try {
      const recs = Array.from({ length: 120 }, (_, i) => ({ type: "train", step: (i + 1) * 10, tokens: (i + 1) * 40960, lr: 1e-3, loss: 3 + 5 * Math.exp(-i / 8), stage: "s" }));
      fs.writeFileSync(path.join(dir, "metrics.jsonl"), recs.map((x) => JSON.stringify(x) + "\n").join(""));
      const ls = lossSeries(recs);
      assert.equal(ls.raw.length, 120);
      assert.equal(ls.smoothed[0], ls.raw[0]);
      const svg = runFigures(dir).loss;
      assert.match(svg, /train loss \(raw\)/);
      assert.match(svg, new RegExp(`EMA ${ls.alpha.toFixed(2)}`));
      assert.match(svg, /bias-corrected EMA/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
