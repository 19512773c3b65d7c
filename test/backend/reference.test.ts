// Hand-computed tiny cases for every kernel of the reference backend: the values are worked out
// on paper (or from a closed-form formula) here in the test, never by calling another kernel.
// Gradients against finite differences live in gradcheck.test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { assertClose } from "../helpers.js";

const be = new ReferenceBackend();
const f = (xs: number[]) => Float64Array.from(xs);
const i32 = (xs: number[]) => Int32Array.from(xs);
// Hand values are exact or a few float64 roundings away: 1e-12 absolute is ample.
const TIGHT = { atol: 1e-12, rtol: 1e-12 };

describe("reference: bookkeeping", () => {
  it("name, width, memory and threads", () => {
    assert.equal(be.name, "reference");
    assert.equal(be.bytesPerElement, 8);
    const buf = be.alloc(5);
    assert.ok(buf instanceof Float64Array);
    assert.deepEqual(Array.from(buf), [0, 0, 0, 0, 0]);
    assert.equal(be.nativeBytes(), 0);
    be.free(buf);
    be.setThreads(4);
    assert.equal(be.getThreads(), 1);
  });
});

describe("reference: matmul", () => {
  // A = [[1,2,3],[4,5,6]] (2x3), B = [[7,8],[9,10],[11,12]] (3x2) → C = [[58,64],[139,154]].
  const A = [1, 2, 3, 4, 5, 6];
  const At = [1, 4, 2, 5, 3, 6]; // A stored [K,M]
  const Bm = [7, 8, 9, 10, 11, 12];
  const Bt = [7, 9, 11, 8, 10, 12]; // B stored [N,K]
  const C = [58, 64, 139, 154];

  for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    it(`2x3 @ 3x2 transA=${transA} transB=${transB}`, () => {
      const c = be.alloc(4);
      be.matmul(c, f(transA ? At : A), f(transB ? Bt : Bm), 2, 2, 3, transA, transB, false, 1, 0, 0, 0);
      assertClose(c, C, TIGHT, "matmul");
    });
  }

  it("accumulate adds to C", () => {
    const c = f([1, 1, 1, 1]);
    be.matmul(c, f(A), f(Bm), 2, 2, 3, false, false, true, 1, 0, 0, 0);
    assertClose(c, [59, 65, 140, 155], TIGHT, "matmul accumulate");
  });

  it("overwrite ignores old C", () => {
    const c = f([100, 100, 100, 100]);
    be.matmul(c, f(A), f(Bm), 2, 2, 3, false, false, false, 1, 0, 0, 0);
    assertClose(c, C, TIGHT, "matmul overwrite");
  });

  it("batch of two with strides, and stride 0 broadcasts B", () => {
    // batch 0: A as above; batch 1: 2*A. B shared (stride 0). C stride 4.
    const a = f([...A, ...A.map((x) => 2 * x)]);
    const c = be.alloc(8);
    be.matmul(c, a, f(Bm), 2, 2, 3, false, false, false, 2, 6, 0, 4);
    assertClose(c, [...C, ...C.map((x) => 2 * x)], TIGHT, "matmul batch");
  });

  it("batch with padded strides leaves gaps untouched", () => {
    // 1x1 @ 1x1 matrices with stride 2: a = [2, _, 3, _], b = [5, _, 7, _].
    const c = f([0, -1, 0, -1]);
    be.matmul(c, f([2, 9, 3, 9]), f([5, 9, 7, 9]), 1, 1, 1, false, false, false, 2, 2, 2, 2);
    assertClose(c, [10, -1, 21, -1], TIGHT, "matmul strided");
  });
});

describe("reference: elementwise and reductions", () => {
  it("add, mul, axpy, scale, fill", () => {
    const out = be.alloc(3);
    be.add(out, f([1, 2, 3]), f([10, 20, 30]), 3);
    assertClose(out, [11, 22, 33], TIGHT, "add");
    be.mul(out, f([1, 2, 3]), f([10, 20, 30]), 3);
    assertClose(out, [10, 40, 90], TIGHT, "mul");
    const y = f([1, 1, 1]);
    be.axpy(y, f([1, 2, 3]), 0.5, 3);
    assertClose(y, [1.5, 2, 2.5], TIGHT, "axpy");
    be.scale(out, f([1, -2, 3]), -2, 3);
    assertClose(out, [-2, 4, -6], TIGHT, "scale");
    be.fill(out, 7, 2);
    assertClose(out, [7, 7, -6], TIGHT, "fill (only n elements)");
  });

  it("in-place add and scale (out aliases an input)", () => {
    const a = f([1, 2]);
    be.add(a, a, a, 2);
    assertClose(a, [2, 4], TIGHT, "add aliased");
    be.scale(a, a, 3, 2);
    assertClose(a, [6, 12], TIGHT, "scale aliased");
  });

  it("mulRow and addRow broadcast a row vector", () => {
    const x = f([1, 2, 3, 4, 5, 6]); // [2,3]
    const out = be.alloc(6);
    be.mulRow(out, x, f([1, 10, 100]), 2, 3);
    assertClose(out, [1, 20, 300, 4, 50, 600], TIGHT, "mulRow");
    be.addRow(out, x, f([1, 10, 100]), 2, 3);
    assertClose(out, [2, 12, 103, 5, 15, 106], TIGHT, "addRow");
  });

  it("sumRows (with and without accumulate), sumCols, sum, sumSquares", () => {
    const x = f([1, 2, 3, 4, 5, 6]); // [2,3]
    const out = f([100, 100, 100]);
    be.sumRows(out, x, 2, 3, false);
    assertClose(out, [5, 7, 9], TIGHT, "sumRows");
    be.sumRows(out, x, 2, 3, true);
    assertClose(out, [10, 14, 18], TIGHT, "sumRows accumulate");
    const rows = be.alloc(2);
    be.sumCols(rows, x, 2, 3);
    assertClose(rows, [6, 15], TIGHT, "sumCols");
    assert.equal(be.sum(x, 6), 21);
    assert.equal(be.sumSquares(x, 6), 91);
    assert.equal(be.sum(x, 2), 3);
  });
});

describe("reference: rmsnorm", () => {
  it("forward of [3,4]: mean square 12.5", () => {
    const out = be.alloc(2);
    const rstd = be.alloc(1);
    be.rmsnormForward(out, rstd, f([3, 4]), f([1, 2]), 1, 2, 0);
    const r = 1 / Math.sqrt(12.5);
    assertClose(rstd, [r], TIGHT, "rstd");
    assertClose(out, [3 * r, 8 * r], TIGHT, "out");
  });

  it("eps enters under the square root", () => {
    const out = be.alloc(2);
    const rstd = be.alloc(1);
    be.rmsnormForward(out, rstd, f([3, 4]), f([1, 1]), 1, 2, 0.5);
    assertClose(rstd, [1 / Math.sqrt(13)], TIGHT, "rstd with eps");
  });

  it("backward of C=1 with eps=0 is zero for x (output is ±w)", () => {
    // y = w x / |x| = w sign(x): no dependence on x, dw = dout * sign(x).
    const out = be.alloc(1);
    const rstd = be.alloc(1);
    const x = f([-2]);
    be.rmsnormForward(out, rstd, x, f([3]), 1, 1, 0);
    assertClose(out, [-3], TIGHT, "out");
    const dx = be.alloc(1);
    const dw = be.alloc(1);
    be.rmsnormBackward(dx, dw, f([5]), x, f([3]), rstd, 1, 1);
    assertClose(dx, [0], TIGHT, "dx");
    assertClose(dw, [-5], TIGHT, "dw");
  });
});

describe("reference: rope", () => {
  // HS = 4 (half 2), theta 10000: inv_freq = [1, 10000^(-1/2) = 0.01].
  const invFreq = [1, 0.01];
  const maxT = 3;
  const cos = be.alloc(maxT * 2);
  const sin = be.alloc(maxT * 2);
  for (let p = 0; p < maxT; p++) {
    for (let i = 0; i < 2; i++) {
      cos[p * 2 + i] = Math.cos(p * invFreq[i]);
      sin[p * 2 + i] = Math.sin(p * invFreq[i]);
    }
  }
  const x = [1, 2, 3, 4];
  // rotate_half(x) = [-x3, -x4, x1, x2]; q' = x cos(θ) + rotate_half(x) sin(θ), with θ = cat(f, f).
  const expectAt = (p: number) => {
    const c = [Math.cos(p), Math.cos(0.01 * p)];
    const s = [Math.sin(p), Math.sin(0.01 * p)];
    return [1 * c[0] - 3 * s[0], 2 * c[1] - 4 * s[1], 3 * c[0] + 1 * s[0], 4 * c[1] + 2 * s[1]];
  };

  it("single vector at position 1 (pos0 = 1, T = 1)", () => {
    const out = be.alloc(4);
    be.ropeForward(out, f(x), cos, sin, 1, 1, 1, 4, 1);
    assertClose(out, expectAt(1), TIGHT, "rope pos 1");
  });

  it("position 0 is the identity; T = 2 from pos0 = 1 uses rows 1 and 2", () => {
    const out0 = be.alloc(4);
    be.ropeForward(out0, f(x), cos, sin, 1, 1, 1, 4, 0);
    assertClose(out0, x, TIGHT, "rope pos 0");
    const out = be.alloc(8);
    be.ropeForward(out, f([...x, ...x]), cos, sin, 1, 2, 1, 4, 1);
    assertClose(out, [...expectAt(1), ...expectAt(2)], TIGHT, "rope T=2");
  });

  it("in place, and backward applies the inverse rotation", () => {
    const buf = f(x);
    be.ropeForward(buf, buf, cos, sin, 1, 1, 1, 4, 2);
    assertClose(buf, expectAt(2), TIGHT, "rope in place");
    const dx = f([1, 1, 1, 1]);
    be.ropeBackward(dx, buf, cos, sin, 1, 1, 1, 4, 2);
    assertClose(dx, x.map((v) => v + 1), TIGHT, "R(-θ) R(θ) x + 1");
  });
});

describe("reference: swiglu", () => {
  it("forward: silu(0)=0, silu(g) = g/(1+e^-g)", () => {
    const out = be.alloc(3);
    be.swigluForward(out, f([0, 1, -2]), f([5, 2, 3]), 3);
    assertClose(out, [0, (1 / (1 + Math.exp(-1))) * 2, (-2 / (1 + Math.exp(2))) * 3], TIGHT, "swiglu");
  });

  it("backward at g = 0: dgate = dout*up/2, dup = 0 (accumulating)", () => {
    const dg = f([1]);
    const du = f([1]);
    be.swigluBackward(dg, du, f([2]), f([0]), f([3]), 1);
    assertClose(dg, [1 + 2 * 3 * 0.5], TIGHT, "dgate");
    assertClose(du, [1], TIGHT, "dup");
  });
});

describe("reference: attention", () => {
  it("T = 1 returns v and lse = scaled score", () => {
    const out = be.alloc(3);
    const lse = be.alloc(1);
    be.attentionForward(out, lse, f([1, 2, 3]), f([1, 0, -1]), f([7, 8, 9]), 1, 1, 1, 1, 1, 3, 0.5);
    assertClose(out, [7, 8, 9], TIGHT, "out");
    assertClose(lse, [0.5 * (1 - 3)], TIGHT, "lse");
  });

  it("T = 2 causal by hand, HS = 1", () => {
    // q = [1, 2], k = [0, 1], v = [10, 20], scale 1.
    // t=0 sees key 0 only → out 10, lse 0. t=1: scores [0, 2] → p = [1, e²]/(1+e²).
    const out = be.alloc(2);
    const lse = be.alloc(2);
    be.attentionForward(out, lse, f([1, 2]), f([0, 1]), f([10, 20]), 1, 2, 2, 1, 1, 1, 1);
    const e2 = Math.exp(2);
    assertClose(out, [10, (10 + 20 * e2) / (1 + e2)], TIGHT, "out");
    assertClose(lse, [0, Math.log(1 + e2)], TIGHT, "lse");
  });

  it("Tq = 1 < Tk = 2: the last query sees every key", () => {
    const out = be.alloc(1);
    const lse = be.alloc(1);
    be.attentionForward(out, lse, f([2]), f([0, 1]), f([10, 20]), 1, 1, 2, 1, 1, 1, 1);
    const e2 = Math.exp(2);
    assertClose(out, [(10 + 20 * e2) / (1 + e2)], TIGHT, "out");
  });

  it("GQA: two query heads share one KV head", () => {
    // NH = 2, NKV = 1, HS = 1, T = 1: both heads output v.
    const out = be.alloc(2);
    const lse = be.alloc(2);
    be.attentionForward(out, lse, f([1, -1]), f([3]), f([4]), 1, 1, 1, 2, 1, 1, 1);
    assertClose(out, [4, 4], TIGHT, "out");
    assertClose(lse, [3, -3], TIGHT, "lse per head");
  });

  it("backward T = 1: dv += dout, dq and dk unchanged (softmax of one score is constant)", () => {
    const dq = f([1, 1]);
    const dk = f([1, 1]);
    const dv = f([1, 1]);
    const q = f([1, 2]);
    const k = f([3, 4]);
    const v = f([5, 6]);
    const out = be.alloc(2);
    const lse = be.alloc(1);
    be.attentionForward(out, lse, q, k, v, 1, 1, 1, 1, 1, 2, 1);
    be.attentionBackward(dq, dk, dv, f([0.5, -2]), q, k, v, out, lse, 1, 1, 1, 1, 1, 2, 1);
    assertClose(dq, [1, 1], TIGHT, "dq");
    assertClose(dk, [1, 1], TIGHT, "dk");
    assertClose(dv, [1.5, -1], TIGHT, "dv");
  });
});

describe("reference: embedding", () => {
  it("forward gathers rows; backward scatter-adds repeated ids", () => {
    const table = f([1, 2, 3, 4, 5, 6]); // V=3, C=2
    const ids = i32([2, 0, 2]);
    const out = be.alloc(6);
    be.embeddingForward(out, ids, table, 3, 2, 3);
    assertClose(out, [5, 6, 1, 2, 5, 6], TIGHT, "forward");
    const dt = f([1, 1, 1, 1, 1, 1]);
    be.embeddingBackward(dt, f([1, 2, 3, 4, 5, 6]), ids, 3, 2, 3);
    assertClose(dt, [4, 5, 1, 1, 7, 9], TIGHT, "backward");
  });
});

describe("reference: cross-entropy", () => {
  it("uniform logits: loss = lse - logit = log V", () => {
    const V = 7;
    const logits = be.alloc(2 * V);
    be.fill(logits, 3, 2 * V);
    const losses = be.alloc(2);
    const lse = be.alloc(2);
    be.crossEntropyForward(losses, lse, logits, i32([0, 6]), 2, V);
    assertClose(losses, [Math.log(V), Math.log(V)], TIGHT, "loss");
    assertClose(lse, [3 + Math.log(V), 3 + Math.log(V)], TIGHT, "lse");
  });

  it("two classes by hand, negative target ignored", () => {
    // logits [0, ln 3]: p = [1/4, 3/4]; target 1 → loss ln(4/3).
    const logits = f([0, Math.log(3), 5, 5]);
    const losses = f([9, 9]);
    const lse = be.alloc(2);
    be.crossEntropyForward(losses, lse, logits, i32([1, -1]), 2, 2);
    assertClose(losses, [Math.log(4 / 3), 0], TIGHT, "loss");
    assertClose(lse, [Math.log(4), 5 + Math.log(2)], TIGHT, "lse");

    // backward writes dlosses * (p - onehot), in place over logits; ignored row → 0.
    be.crossEntropyBackward(logits, logits, lse, i32([1, -1]), f([2, 7]), 2, 2);
    assertClose(logits, [2 * 0.25, 2 * (0.75 - 1), 0, 0], TIGHT, "dlogits (aliased)");
  });

  it("backward overwrites a separate buffer", () => {
    const logits = f([0, Math.log(3)]);
    const lse = f([Math.log(4)]);
    const d = f([100, 100]);
    be.crossEntropyBackward(d, logits, lse, i32([0]), f([1]), 1, 2);
    assertClose(d, [0.25 - 1, 0.75], TIGHT, "dlogits");
  });
});

describe("reference: adamw", () => {
  it("one step from zero moments: update is lr * g/(|g| + eps) after bias correction", () => {
    const lr = 0.1, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.01;
    const p = f([1, -2, 0.5]);
    const g = f([0.5, -0.25, 0]);
    const m = be.alloc(3);
    const v = be.alloc(3);
    be.adamw(p, g, m, v, 3, lr, b1, b2, eps, wd, 1);
    // m = 0.1 g; v = 0.05 g²; m̂ = g; v̂ = g²; p = p (1 - lr wd) - lr g / (|g| + eps).
    assertClose(m, [0.05, -0.025, 0], TIGHT, "m");
    assertClose(v, [0.0125, 0.003125, 0], TIGHT, "v");
    const want = [1 * 0.999 - (0.1 * 0.5) / (0.5 + eps), -2 * 0.999 + (0.1 * 0.25) / (0.25 + eps), 0.5 * 0.999];
    assertClose(p, want, TIGHT, "param");
  });

  it("second step uses step-2 bias correction", () => {
    const lr = 0.01, b1 = 0.9, b2 = 0.99, eps = 1e-8, wd = 0;
    const p = f([0]);
    const m = f([0.2]);
    const v = f([0.03]);
    be.adamw(p, f([1]), m, v, 1, lr, b1, b2, eps, wd, 2);
    const mm = 0.9 * 0.2 + 0.1 * 1;
    const vv = 0.99 * 0.03 + 0.01 * 1;
    const mhat = mm / (1 - 0.81);
    const vhat = vv / (1 - 0.9801);
    assertClose(m, [mm], TIGHT, "m");
    assertClose(v, [vv], TIGHT, "v");
    assertClose(p, [-(lr * mhat) / (Math.sqrt(vhat) + eps)], TIGHT, "param");
  });
});
