// Every backward kernel of the reference backend against float64 central finite differences of
// its own forward, with loss = Σ dout_random · forward_output, on small random shapes including
// awkward ones (sizes 1, odd sizes, GQA groups 1/2/3, Tq < Tk). Also checks that d* buffers
// accumulate (+=) and that cross-entropy backward writes (and may alias logits).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { assertClose, randn, rng, type Tol } from "../helpers.js";

const be = new ReferenceBackend();

// Central differences: error ≈ h²/6·|f'''| (truncation) + ε·|L|/h (rounding, ε = 1.1e-16).
// With h = 1e-5 and O(1)–O(10) losses both terms are ~1e-10, so rtol 1e-6 / atol 1e-8 leaves
// two orders of magnitude of margin while any formula error (O(1e-2) or more) still fails.
const H = 1e-5;
const FD_TOL: Tol = { rtol: 1e-6, atol: 1e-8 };
// Accumulation checks compare two float64 evaluations of the same sums: 1e-12 is ample.
const ACC_TOL: Tol = { rtol: 1e-12, atol: 1e-12 };

/** Σ_i w[i]·y[i]: the scalar whose gradient the backward kernels compute when dout = w. */
function dot(w: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i] * y[i];
  return s;
}

/** d loss / d x by central differences, perturbing x in place and restoring it. */
function fdGrad(x: Float64Array, loss: () => number, h = H): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i];
    x[i] = x0 + h;
    const lp = loss();
    x[i] = x0 - h;
    const lm = loss();
    x[i] = x0;
    g[i] = (lp - lm) / (2 * h);
  }
  return g;
}

/** A copy of `base` plus `delta` elementwise. */
function plus(base: Float64Array, delta: Float64Array): Float64Array {
  const out = new Float64Array(base.length);
  for (let i = 0; i < base.length; i++) out[i] = base[i] + delta[i];
  return out;
}

/** cos/sin tables [maxT, HS/2] for theta 10000. */
function ropeTables(maxT: number, HS: number, theta = 10000) {
  const half = HS / 2;
  const cos = new Float64Array(maxT * half);
  const sin = new Float64Array(maxT * half);
  for (let p = 0; p < maxT; p++) {
    for (let i = 0; i < half; i++) {
      const a = p * Math.pow(theta, (-2 * i) / HS);
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  }
  return { cos, sin };
}

describe("gradcheck: matmul backward (as transposed matmuls with accumulate)", () => {
  // C = op(A) op(B); dop(A) = dC op(B)ᵀ and dop(B) = op(A)ᵀ dC, expressed with the matmul kernel
  // itself so that every transpose flag and the accumulate path are exercised.
  function matmulBackward(
    dA: Float64Array, dB: Float64Array, dC: Float64Array, A: Float64Array, B: Float64Array,
    M: number, N: number, K: number, tA: boolean, tB: boolean,
  ) {
    if (!tA) be.matmul(dA, dC, B, M, K, N, false, !tB, true, 1, 0, 0, 0); // [M,K] = dC[M,N] op(B)ᵀ
    else be.matmul(dA, B, dC, K, M, N, tB, true, true, 1, 0, 0, 0); // [K,M] = op(B) dCᵀ
    if (!tB) be.matmul(dB, A, dC, K, N, M, !tA, false, true, 1, 0, 0, 0); // [K,N] = op(A)ᵀ dC
    else be.matmul(dB, dC, A, N, K, M, true, tA, true, 1, 0, 0, 0); // [N,K] = dCᵀ op(A)
  }

  const shapes: [number, number, number][] = [[1, 1, 1], [2, 3, 4], [5, 1, 3], [3, 7, 1], [4, 5, 6]];
  let seed = 1;
  for (const [M, N, K] of shapes) {
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      it(`M=${M} N=${N} K=${K} transA=${tA} transB=${tB}`, () => {
        const A = randn(M * K, seed++);
        const B = randn(K * N, seed++);
        const dC = randn(M * N, seed++);
        const C = new Float64Array(M * N);
        const loss = () => {
          be.matmul(C, A, B, M, N, K, tA, tB, false, 1, 0, 0, 0);
          return dot(dC, C);
        };
        const dA = new Float64Array(M * K);
        const dB = new Float64Array(K * N);
        matmulBackward(dA, dB, dC, A, B, M, N, K, tA, tB);
        assertClose(dA, fdGrad(A, loss), FD_TOL, "dA");
        assertClose(dB, fdGrad(B, loss), FD_TOL, "dB");
      });
    }
  }

  it("batch 3 with B broadcast (stride 0): dB sums over the batch", () => {
    const M = 2, N = 3, K = 5, batch = 3;
    const A = randn(batch * M * K, 101);
    const B = randn(K * N, 102);
    const dC = randn(batch * M * N, 103);
    const C = new Float64Array(batch * M * N);
    const loss = () => {
      be.matmul(C, A, B, M, N, K, false, true, false, batch, M * K, 0, M * N);
      return dot(dC, C);
    };
    const dA = new Float64Array(batch * M * K);
    const dB = new Float64Array(K * N);
    for (let b = 0; b < batch; b++) {
      matmulBackward(
        dA.subarray(b * M * K, (b + 1) * M * K), dB, dC.subarray(b * M * N, (b + 1) * M * N),
        A.subarray(b * M * K, (b + 1) * M * K), B, M, N, K, false, true,
      );
    }
    assertClose(dA, fdGrad(A, loss), FD_TOL, "dA");
    assertClose(dB, fdGrad(B, loss), FD_TOL, "dB");
  });
});

describe("gradcheck: rmsnorm", () => {
  // eps is large for C = 1: with one channel y = w x/sqrt(x² + eps) is nearly a step function and
  // its third derivative (hence the FD truncation error) blows up as eps → 0.
  const cases: [number, number, number][] = [[1, 1, 0.1], [1, 2, 1e-5], [3, 5, 1e-5], [4, 16, 1e-5], [2, 17, 1e-6]];
  let seed = 200;
  for (const [N, C, eps] of cases) {
    it(`N=${N} C=${C} eps=${eps}`, () => {
      const x = randn(N * C, seed++);
      const w = randn(C, seed++, 2);
      const dout = randn(N * C, seed++);
      const out = new Float64Array(N * C);
      const rstd = new Float64Array(N);
      const loss = () => {
        be.rmsnormForward(out, rstd, x, w, N, C, eps);
        return dot(dout, out);
      };
      loss();
      const dx = new Float64Array(N * C);
      const dw = new Float64Array(C);
      be.rmsnormBackward(dx, dw, dout, x, w, rstd, N, C);
      assertClose(dx, fdGrad(x, loss), FD_TOL, "dx");
      assertClose(dw, fdGrad(w, loss), FD_TOL, "dw");

      // accumulate: starting from non-zero buffers adds the same gradient
      const dx0 = randn(N * C, seed++);
      const dw0 = randn(C, seed++);
      const dxAcc = Float64Array.from(dx0);
      const dwAcc = Float64Array.from(dw0);
      loss();
      be.rmsnormBackward(dxAcc, dwAcc, dout, x, w, rstd, N, C);
      assertClose(dxAcc, plus(dx0, dx), ACC_TOL, "dx +=");
      assertClose(dwAcc, plus(dw0, dw), ACC_TOL, "dw +=");
    });
  }
});

describe("gradcheck: rope", () => {
  const cases: [number, number, number, number, number][] = [
    // B, T, NH, HS, pos0
    [1, 1, 1, 2, 0],
    [1, 1, 1, 4, 1],
    [2, 3, 3, 6, 2],
    [1, 5, 2, 8, 0],
    [3, 2, 1, 10, 7],
  ];
  let seed = 300;
  for (const [B, T, NH, HS, pos0] of cases) {
    it(`B=${B} T=${T} NH=${NH} HS=${HS} pos0=${pos0}`, () => {
      const { cos, sin } = ropeTables(pos0 + T, HS);
      const n = B * T * NH * HS;
      const x = randn(n, seed++);
      const dout = randn(n, seed++);
      const out = new Float64Array(n);
      const loss = () => {
        be.ropeForward(out, x, cos, sin, B, T, NH, HS, pos0);
        return dot(dout, out);
      };
      const dx = new Float64Array(n);
      be.ropeBackward(dx, dout, cos, sin, B, T, NH, HS, pos0);
      assertClose(dx, fdGrad(x, loss), FD_TOL, "dx");

      const dx0 = randn(n, seed++);
      const dxAcc = Float64Array.from(dx0);
      be.ropeBackward(dxAcc, dout, cos, sin, B, T, NH, HS, pos0);
      assertClose(dxAcc, plus(dx0, dx), ACC_TOL, "dx +=");
    });
  }
});

describe("gradcheck: swiglu", () => {
  let seed = 400;
  for (const n of [1, 2, 7, 33]) {
    it(`n=${n}`, () => {
      const gate = randn(n, seed++, 4); // [-4, 4): both tails of the sigmoid
      const up = randn(n, seed++, 2);
      const dout = randn(n, seed++);
      const out = new Float64Array(n);
      const loss = () => {
        be.swigluForward(out, gate, up, n);
        return dot(dout, out);
      };
      const dg = new Float64Array(n);
      const du = new Float64Array(n);
      be.swigluBackward(dg, du, dout, gate, up, n);
      assertClose(dg, fdGrad(gate, loss), FD_TOL, "dgate");
      assertClose(du, fdGrad(up, loss), FD_TOL, "dup");

      const dg0 = randn(n, seed++);
      const du0 = randn(n, seed++);
      const dgAcc = Float64Array.from(dg0);
      const duAcc = Float64Array.from(du0);
      be.swigluBackward(dgAcc, duAcc, dout, gate, up, n);
      assertClose(dgAcc, plus(dg0, dg), ACC_TOL, "dgate +=");
      assertClose(duAcc, plus(du0, du), ACC_TOL, "dup +=");
    });
  }
});

describe("gradcheck: attention", () => {
  const cases: [number, number, number, number, number, number][] = [
    // B, Tq, Tk, NH, NKV, HS
    [1, 1, 1, 1, 1, 1], // everything 1
    [2, 3, 3, 2, 2, 3], // group 1 (MHA), odd HS
    [1, 4, 4, 4, 2, 5], // group 2
    [2, 3, 5, 6, 2, 3], // group 3, Tq < Tk
    [1, 1, 4, 3, 1, 2], // single query over a cache (decode), group 3
    [1, 5, 7, 9, 3, 4], // 9 heads over 3 KV heads (SmolLM2-135M ratio), Tq < Tk
  ];
  let seed = 500;
  for (const [B, Tq, Tk, NH, NKV, HS] of cases) {
    it(`B=${B} Tq=${Tq} Tk=${Tk} NH=${NH} NKV=${NKV} HS=${HS}`, () => {
      const scale = 1 / Math.sqrt(HS);
      const nq = B * Tq * NH * HS;
      const nk = B * Tk * NKV * HS;
      const q = randn(nq, seed++, 2);
      const k = randn(nk, seed++, 2);
      const v = randn(nk, seed++);
      const dout = randn(nq, seed++);
      const out = new Float64Array(nq);
      const lse = new Float64Array(B * NH * Tq);
      const loss = () => {
        be.attentionForward(out, lse, q, k, v, B, Tq, Tk, NH, NKV, HS, scale);
        return dot(dout, out);
      };
      loss();
      const dq = new Float64Array(nq);
      const dk = new Float64Array(nk);
      const dv = new Float64Array(nk);
      be.attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, B, Tq, Tk, NH, NKV, HS, scale);
      assertClose(dq, fdGrad(q, loss), FD_TOL, "dq");
      assertClose(dk, fdGrad(k, loss), FD_TOL, "dk");
      assertClose(dv, fdGrad(v, loss), FD_TOL, "dv");

      const dq0 = randn(nq, seed++);
      const dk0 = randn(nk, seed++);
      const dv0 = randn(nk, seed++);
      const dqAcc = Float64Array.from(dq0);
      const dkAcc = Float64Array.from(dk0);
      const dvAcc = Float64Array.from(dv0);
      loss();
      be.attentionBackward(dqAcc, dkAcc, dvAcc, dout, q, k, v, out, lse, B, Tq, Tk, NH, NKV, HS, scale);
      assertClose(dqAcc, plus(dq0, dq), ACC_TOL, "dq +=");
      assertClose(dkAcc, plus(dk0, dk), ACC_TOL, "dk +=");
      assertClose(dvAcc, plus(dv0, dv), ACC_TOL, "dv +=");
    });
  }

  it("keys after a query's position get no gradient from it (causality)", () => {
    // Tq = Tk = 3, only the first query has a non-zero dout: keys 1 and 2 must get dk = dv = 0.
    const B = 1, T = 3, NH = 1, NKV = 1, HS = 2;
    const q = randn(T * HS, 550);
    const k = randn(T * HS, 551);
    const v = randn(T * HS, 552);
    const dout = new Float64Array(T * HS);
    dout[0] = 1;
    dout[1] = -1;
    const out = new Float64Array(T * HS);
    const lse = new Float64Array(T);
    be.attentionForward(out, lse, q, k, v, B, T, T, NH, NKV, HS, 1);
    const dq = new Float64Array(T * HS);
    const dk = new Float64Array(T * HS);
    const dv = new Float64Array(T * HS);
    be.attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, B, T, T, NH, NKV, HS, 1);
    assert.deepEqual(Array.from(dk.subarray(HS)), [0, 0, 0, 0]);
    assert.deepEqual(Array.from(dv.subarray(HS)), [0, 0, 0, 0]);
    assert.deepEqual(Array.from(dq.subarray(HS)), [0, 0, 0, 0]);
  });
});

describe("gradcheck: embedding", () => {
  const cases: [number, number, number][] = [[1, 1, 1], [5, 3, 4], [9, 7, 3]];
  let seed = 600;
  for (const [N, C, V] of cases) {
    it(`N=${N} C=${C} V=${V} (repeated ids)`, () => {
      const r = rng(seed++);
      const ids = Int32Array.from({ length: N }, () => Math.floor(r() * V));
      const table = randn(V * C, seed++);
      const dout = randn(N * C, seed++);
      const out = new Float64Array(N * C);
      const loss = () => {
        be.embeddingForward(out, ids, table, N, C, V);
        return dot(dout, out);
      };
      const dt = new Float64Array(V * C);
      be.embeddingBackward(dt, dout, ids, N, C, V);
      assertClose(dt, fdGrad(table, loss), FD_TOL, "dtable");

      const dt0 = randn(V * C, seed++);
      const dtAcc = Float64Array.from(dt0);
      be.embeddingBackward(dtAcc, dout, ids, N, C, V);
      assertClose(dtAcc, plus(dt0, dt), ACC_TOL, "dtable +=");
    });
  }
});

describe("gradcheck: cross-entropy", () => {
  const cases: [number, number][] = [[1, 1], [1, 2], [3, 5], [4, 17]];
  let seed = 700;
  for (const [N, V] of cases) {
    it(`N=${N} V=${V} (one ignored target when N > 1)`, () => {
      const r = rng(seed++);
      const targets = Int32Array.from({ length: N }, (_, n) => (N > 1 && n === 1 ? -1 : Math.floor(r() * V)));
      const logits = randn(N * V, seed++, 3);
      const dlosses = randn(N, seed++);
      const losses = new Float64Array(N);
      const lse = new Float64Array(N);
      const loss = () => {
        be.crossEntropyForward(losses, lse, logits, targets, N, V);
        return dot(dlosses, losses);
      };
      loss();
      if (N > 1) assert.equal(losses[1], 0, "ignored row has loss 0");

      // backward WRITES: a garbage-filled buffer must be fully overwritten
      const d = randn(N * V, seed++, 100);
      be.crossEntropyBackward(d, logits, lse, targets, dlosses, N, V);
      assertClose(d, fdGrad(logits, loss), FD_TOL, "dlogits");
      if (N > 1) assertClose(d.subarray(V, 2 * V), new Float64Array(V), ACC_TOL, "ignored row gradient");

      // aliasing logits gives the same result
      loss();
      const inPlace = Float64Array.from(logits);
      be.crossEntropyBackward(inPlace, inPlace, lse, targets, dlosses, N, V);
      assertClose(inPlace, d, ACC_TOL, "dlogits aliased with logits");
    });
  }
});
