// The sweep report on synthetic results drawn from a known law: the fitted law recovers it, the
// findings read the numbers right (and say "not tested" without the runs they need), the page and
// figures are written; the envelope is the lower convex hull cut at the lowest loss.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { lowerEnvelope } from "../../src/report/envelope.js";
import { findings, fitMethod, writeSweepReport } from "../../src/report/sweep.js";
import { predictLoss } from "../../src/scaling/fit.js";
import type { SweepPoint, SweepResults } from "../../src/sweep/results.js";

const LAW = { E: 1.69, A: 406.4, B: 410.7, alpha: 0.34, beta: 0.28 };

/** Results of a 3 × 3 sweep whose cooldown points lie on LAW; the other methods are scaled copies. */
function synthetic(scale: Record<string, number>, opts: { swa?: boolean; linear?: boolean } = {}): SweepResults {
  const sizes = [1e5, 3e5, 1e6].map((n, i) => ({
    name: `s${i}`, params: n, total_params: n, non_embedding_params: n / 2,
    model: { d_model: 64, layers: 2, heads: 4, kv_heads: 2, ffn: 128, vocab: 512 }, lr_constant: 0.004, lr_cosine: 0.004,
    budgets: [10, 20, 30].map((r) => ({ tokens: r * n, steps: r * n / 1000, branch_step: 0.8 * r * n / 1000, cooldown_steps: 0.2 * r * n / 1000, tokens_per_param: r })),
  }));
  const points: SweepPoint[] = [];
  for (const s of sizes) {
    for (const b of s.budgets) {
      for (const [method, k] of Object.entries(scale)) {
        points.push({
          size: s.name, method: method as SweepPoint["method"], params: s.params, total_params: s.params, non_embedding_params: s.params / 2,
          tokens: b.tokens, steps: b.steps, loss: k * predictLoss(LAW, s.params, b.tokens), loss_by_source: {},
          flops: 6 * s.params * b.tokens, flops_detailed: 7 * s.params * b.tokens, run: `runs/${s.name}/${method}`, step: b.steps,
        });
      }
    }
  }
  const F = (n: number, d: number) => 7 * n * d;
  const fsizes = sizes.map((s) => {
    const Ds = s.budgets.map((b) => b.tokens);
    const cool = Ds.reduce((a, d) => a + F(s.params, 0.2 * d), 0);
    return {
      size: s.name, per_token: 7 * s.params, per_token_6n: 6 * s.params, constant: F(s.params, 0.8 * Ds[2]), constant_extension: F(s.params, 0.2 * Ds[2]),
      cooldowns: { "1-sqrt": cool, linear: cool }, cosine_grid: Ds.reduce((a, d) => a + F(s.params, d), 0),
      reference_cooldown: F(s.params, Ds[2]) + 0.2 * (F(s.params, Ds[0]) + F(s.params, Ds[1])),
    };
  });
  const cooldown = fsizes.reduce((a, x) => a + x.constant + x.cooldowns["1-sqrt"], 0);
  const cosine = fsizes.reduce((a, x) => a + x.cosine_grid, 0);
  return {
    format: "smollab-sweep-results", version: 1, name: "synthetic", sweep_file: "synthetic.yaml", complete: true,
    tokens_per_step: 1000, seq_len: 128, params: "total",
    cooldown: { fraction: 0.2, shape: "1-sqrt", extraShapes: opts.linear ? ["linear"] : [], finalLr: 0 },
    cosine: { finalFraction: 0.1, warmup: 10 }, swa: opts.swa ? { window: 100, interval: 5 } : null, warmup: 10,
    sizes, points,
    flops: {
      unit: "test", sizes: fsizes, methods: { cooldown, cosine },
      spent: { constant: 0, cooldown: 0, cosine: 0, total: 0 },
      reference: { formula: "test", cooldown: fsizes.reduce((a, x) => a + x.reference_cooldown, 0), cosine, ratio: fsizes.reduce((a, x) => a + x.reference_cooldown, 0) / cosine },
      ratio: cooldown / cosine, saved_fraction: 1 - cooldown / cosine,
    },
    seconds: {}, jobs: [], notes: [],
  };
}

describe("sweep report", () => {
  it("recovers the law from cooldown points on it and writes the page", () => {
    const r = synthetic({ cooldown: 1, cosine: 1.002, "cooldown-linear": 1.004, constant: 1.05, swa: 1.02 }, { swa: true, linear: true });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smol-report-"));
    fs.writeFileSync(path.join(dir, "results.json"), JSON.stringify(r));
    const out = writeSweepReport(dir, { grid: "coarse" });
    const fit = out.fits.find((f) => f.method === "cooldown")!.fit!;
    assert.ok(fit, "9 points are enough for the 5-parameter law");
    // Noise-free points from the law: tolerances are the optimiser's, not statistical.
    assert.ok(Math.abs(fit.alpha - LAW.alpha) < 2e-3 && Math.abs(fit.beta - LAW.beta) < 2e-3, `α ${fit.alpha} β ${fit.beta}`);
    assert.ok(Math.abs(fit.E - LAW.E) < 1e-2, `E ${fit.E}`);
    const html = fs.readFileSync(path.join(dir, "report", "index.html"), "utf8");
    for (const name of ["cooldown-vs-cosine", "cooldown-minus-cosine", "swa", "loss-vs-flops", "fit", "compute"]) {
      assert.ok(fs.existsSync(path.join(dir, "report", `${name}.svg`)), name);
    }
    assert.match(html, /Compute-optimal allocation/);
    assert.match(html, /curves are omitted/, "no run metrics next to these results");
    assert.ok(!/NaN/.test(html), "no NaN in the page");
    assert.deepEqual(out.findings.map((f) => f.verdict), ["reproduced", "reproduced", "reproduced", "reproduced", "reproduced"], JSON.stringify(out.findings, null, 1));
    assert.match(out.findings[0].detail, /mean -0\.2%/);
  });

  it("says what it could not test, and judges the numbers it has", () => {
    const worse = synthetic({ cooldown: 1.03, cosine: 1 });
    const f = findings(worse);
    assert.equal(f[0].verdict, "not reproduced");
    assert.match(f[0].detail, /mean \+3\.0%/);
    assert.equal(f[1].verdict, "not tested");
    assert.equal(f[2].verdict, "not tested");
    assert.equal(f[3].verdict, "not tested", "no fits given");
    assert.equal(f[4].verdict, "reproduced", "FLOPs saved needs no runs");
    const swaBelowCooldown = findings(synthetic({ cooldown: 1, constant: 1.05, swa: 0.99 }, { swa: true }));
    assert.equal(swaBelowCooldown[2].verdict, "mixed", "SWA narrows but here also closes the gap");
    const few = synthetic({ cooldown: 1 });
    few.points = few.points.slice(0, 5);
    const m = fitMethod(few, "cooldown", "coarse");
    assert.equal(m.fit, null);
    assert.match(m.message, /5 cooldown point\(s\): the 5-parameter law needs at least 6/);
  });
});

describe("lower envelope", () => {
  it("is the lower convex hull in log x, cut at the lowest y", () => {
    const pts = [
      { x: 1, y: 5 }, { x: 10, y: 3 }, { x: 100, y: 2 }, { x: 1000, y: 1.8 }, { x: 10000, y: 1.9 },
      { x: 10, y: 4 }, // above: not on the hull
      { x: 100, y: 2.6 }, // same x, higher: dropped
      { x: 30, y: 2.9 }, // above the 10→100 chord in log x (chord at log 30 is ≈ 2.52)
    ];
    assert.deepEqual(lowerEnvelope(pts), [{ x: 1, y: 5 }, { x: 10, y: 3 }, { x: 100, y: 2 }, { x: 1000, y: 1.8 }]);
    assert.deepEqual(lowerEnvelope([{ x: 1, y: 2 }, { x: 0, y: 1 }, { x: 5, y: NaN }]), [{ x: 1, y: 2 }], "non-positive x and NaN are skipped");
    assert.deepEqual(lowerEnvelope([{ x: 1, y: 3 }, { x: 10, y: 2.5 }, { x: 100, y: 1 }]), [{ x: 1, y: 3 }, { x: 100, y: 1 }], "a point above the chord is not on the hull");
  });
});
