// L-BFGS on standard test functions with known minimisers: Rosenbrock 2-D and 10-D from the
// standard starts, a convex quadratic, Booth and Beale; plus a region where f is NaN.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { lbfgs, type Objective } from "../../src/scaling/lbfgs.js";
import { assertClose } from "../helpers.js";

const rosenbrock: Objective = (x, g) => {
  let f = 0;
  g.fill(0);
  for (let i = 0; i < x.length - 1; i++) {
    const a = x[i + 1] - x[i] * x[i];
    const b = 1 - x[i];
    f += 100 * a * a + b * b;
    g[i] += -400 * x[i] * a - 2 * b;
    g[i + 1] += 200 * a;
  }
  return f;
};

describe("lbfgs", () => {
  it("Rosenbrock 2-D from (−1.2, 1) reaches (1, 1) to 1e-6", () => {
    const r = lbfgs(rosenbrock, [-1.2, 1]);
    assert.ok(r.converged, r.reason);
    assertClose(r.x, [1, 1], { atol: 1e-6 }, "rosenbrock 2d");
    assert.ok(r.f < 1e-12, `f = ${r.f}`);
    assert.ok(r.evaluations >= r.iterations && r.iterations > 10);
  });
  it("Rosenbrock 10-D from (−1.2, 1, −1.2, 1, …) and from 0 reaches (1, …, 1) to 1e-6", () => {
    for (const x0 of [Array.from({ length: 10 }, (_, i) => (i % 2 ? 1 : -1.2)), new Array(10).fill(0)]) {
      const r = lbfgs(rosenbrock, x0);
      assert.ok(r.converged, r.reason);
      assertClose(r.x, new Array(10).fill(1), { atol: 1e-6 }, "rosenbrock 10d");
    }
  });
  it("convex quadratic ½(x − x*)ᵀA(x − x*): minimiser x*", () => {
    // A: tridiagonal SPD (diagonal 4, off-diagonal 1) with a badly scaled last coordinate (400).
    // Written around x* so that f* = 0 and f keeps full relative precision near the minimum.
    const n = 6;
    const xs = [1, -2, 3, 0.5, -1, 10];
    const diag = [4, 4, 4, 4, 4, 400];
    const Ax = (x: ArrayLike<number>) => Array.from({ length: n }, (_, i) => diag[i] * x[i] + (i > 0 ? x[i - 1] : 0) + (i < n - 1 ? x[i + 1] : 0));
    const quad: Objective = (x, g) => {
      const d = Array.from(x, (v, i) => v - xs[i]);
      const ad = Ax(d);
      let f = 0;
      for (let i = 0; i < n; i++) {
        f += 0.5 * d[i] * ad[i];
        g[i] = ad[i];
      }
      return f;
    };
    const r = lbfgs(quad, new Array(n).fill(0));
    assert.equal(r.reason, "gradient");
    assertClose(r.x, xs, { atol: 1e-9 }, "quadratic");
  });
  it("Booth (min at (1, 3)) and Beale (min at (3, 0.5))", () => {
    const booth: Objective = (x, g) => {
      const a = x[0] + 2 * x[1] - 7, b = 2 * x[0] + x[1] - 5;
      g[0] = 2 * a + 4 * b;
      g[1] = 4 * a + 2 * b;
      return a * a + b * b;
    };
    assertClose(lbfgs(booth, [-5, 5]).x, [1, 3], { atol: 1e-8 }, "booth");
    const beale: Objective = (x, g) => {
      const [u, v] = [x[0], x[1]];
      const t1 = 1.5 - u + u * v, t2 = 2.25 - u + u * v * v, t3 = 2.625 - u + u * v ** 3;
      g[0] = 2 * t1 * (v - 1) + 2 * t2 * (v * v - 1) + 2 * t3 * (v ** 3 - 1);
      g[1] = 2 * t1 * u + 2 * t2 * 2 * u * v + 2 * t3 * 3 * u * v * v;
      return t1 * t1 + t2 * t2 + t3 * t3;
    };
    assertClose(lbfgs(beale, [1, 1]).x, [3, 0.5], { atol: 1e-6 }, "beale");
  });
  it("a NaN region makes the line search shrink, not fail", () => {
    // f = (x − 1)² for x < 2, NaN beyond: the expanding line search overshoots into the NaN region.
    const f: Objective = (x, g) => {
      if (x[0] >= 2) {
        g[0] = NaN;
        return NaN;
      }
      g[0] = 2 * (x[0] - 1);
      return (x[0] - 1) ** 2;
    };
    const r = lbfgs(f, [-100]);
    assert.ok(r.converged, r.reason);
    assertClose(r.x, [1], { atol: 1e-8 }, "nan region");
  });
  it("stops at maxIterations and says so", () => {
    const r = lbfgs(rosenbrock, [-1.2, 1], { maxIterations: 3 });
    assert.equal(r.reason, "max-iterations");
    assert.equal(r.converged, false);
    assert.equal(r.iterations, 3);
  });
});
