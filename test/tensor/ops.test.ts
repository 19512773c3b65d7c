// The autograd ops above the seam: every op's gradient through the Engine against float64
// central differences on the reference backend (tolerance rtol 1e-6 / atol 1e-8, h = 1e-5), and
// shape errors that name the op and the shapes before anything reaches a kernel.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { ShapeError } from "../../src/errors.js";
import { Engine } from "../../src/tensor/engine.js";
import * as F from "../../src/tensor/ops.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { assertClose, randn } from "../helpers.js";

const be = new ReferenceBackend();

type Build = (e: Engine<Float64Array>, xs: Tensor<Float64Array>[]) => Tensor<Float64Array>;

/** Check d(sum(w ⊙ f(xs)))/dxs against central differences. */
function gradcheck(label: string, shapes: number[][], build: Build) {
  const inputs = shapes.map((s, i) => Float64Array.from(randn(s.reduce((a, b) => a * b, 1), 100 + i)));
  const run = (withGrad: boolean) => {
    const e = new Engine(be);
    const xs = shapes.map((s, i) => {
      const t = new Tensor<Float64Array>(s, Float64Array.from(inputs[i]), withGrad);
      if (withGrad) t.grad = new Float64Array(t.size);
      return t;
    });
    const out = build(e, xs);
    const w = randn(out.size, 7);
    const weighted = F.mul(e, out, e.fromArray(out.shape, w));
    const loss = F.mean(e, weighted);
    if (withGrad) e.backward(loss);
    return { loss: loss.data[0], grads: xs.map((x) => x.grad) };
  };
  const analytic = run(true).grads;
  const h = 1e-5;
  inputs.forEach((buf, i) => {
    const num = new Float64Array(buf.length);
    for (let j = 0; j < buf.length; j++) {
      const v = buf[j];
      buf[j] = v + h;
      const up = run(false).loss;
      buf[j] = v - h;
      const down = run(false).loss;
      buf[j] = v;
      num[j] = (up - down) / (2 * h);
    }
    assertClose(analytic[i]!, num, { rtol: 1e-6, atol: 1e-8 }, `${label} d/dx${i}`);
  });
}

test("op gradients match finite differences", () => {
  gradcheck("linear", [[3, 5], [4, 5]], (e, [x, w]) => F.linear(e, x, w));
  gradcheck("matmul NN batched", [[2, 3, 4], [2, 4, 5]], (e, [a, b]) => F.matmul(e, a, b));
  gradcheck("matmul TT", [[4, 3], [5, 4]], (e, [a, b]) => F.matmul(e, a, b, true, true));
  gradcheck("matmul broadcast b", [[3, 2, 4], [4, 3]], (e, [a, b]) => F.matmul(e, a, b));
  gradcheck("matmul TN broadcast b", [[2, 4, 3], [5, 4]], (e, [a, b]) => F.matmul(e, a, b, true, true));
  gradcheck("add", [[3, 4], [3, 4]], (e, [a, b]) => F.add(e, a, b));
  gradcheck("mul", [[7], [7]], (e, [a, b]) => F.mul(e, a, b));
  gradcheck("scale", [[5]], (e, [a]) => F.scale(e, a, -1.5));
  gradcheck("sumLast", [[3, 4]], (e, [a]) => F.sumLast(e, a));
  gradcheck("mulRow", [[3, 4], [4]], (e, [x, w]) => F.mulRow(e, x, w));
  gradcheck("addRow", [[3, 4], [4]], (e, [x, b]) => F.addRow(e, x, b));
  gradcheck("rmsnorm", [[3, 6], [6]], (e, [x, w]) => F.rmsnorm(e, x, w, 1e-5));
  gradcheck("swiglu", [[9], [9]], (e, [g, u]) => F.swiglu(e, g, u));
  gradcheck("attention GQA", [[1, 3, 4, 2], [1, 3, 2, 2], [1, 3, 2, 2]], (e, [q, k, v]) => F.attention(e, q, k, v));
  gradcheck("view", [[2, 6]], (e, [x]) => F.view(e, F.scale(e, x, 2), [3, 4]));
});

test("shape errors name the op and the shapes", () => {
  const e = new Engine(be);
  const t = (...shape: number[]) => e.empty(shape);
  const cases: Array<[() => unknown, RegExp]> = [
    [() => F.linear(e, t(2, 3), t(4, 5)), /^linear: .*x=\[2,3\] w=\[4,5\]/],
    [() => F.matmul(e, t(2, 3), t(4, 5)), /^matmul: inner dims differ, got a=\[2,3\] b=\[4,5\]/],
    [() => F.add(e, t(2, 3), t(3, 2)), /^add: shapes differ/],
    [() => F.attention(e, t(1, 2, 3, 4), t(1, 2, 2, 4), t(1, 2, 2, 4)), /^attention: kv heads must divide/],
    [() => F.rmsnorm(e, t(2, 3), t(4), 1e-5), /^rmsnorm: .*w=\[4\]/],
    [() => F.embedding(e, t(10, 4), Int32Array.of(3, 10)), /^embedding: token id 10 at position 1 is outside the vocabulary \[0, 10\)/],
    [() => F.crossEntropy(e, t(2, 5), Int32Array.of(1)), /^crossEntropy: targets must have one entry per row/],
    [() => F.view(e, t(2, 3), [4, 2]), /^view: element counts differ/],
  ];
  for (const [fn, re] of cases) assert.throws(fn, (err: unknown) => err instanceof ShapeError && re.test((err as Error).message), String(re));
});

test("the native backend refuses buffers too short for the shapes it is given", async (t) => {
  let native;
  try {
    native = (await import("../../src/backend/native.js")).loadNative();
  } catch (err) {
    t.skip(`native addon unavailable: ${(err as Error).message}`);
    return;
  }
  const a = native.alloc(6), b = native.alloc(6), c = native.alloc(3);
  assert.throws(() => native.matmul(c, a, b, 2, 2, 3, false, false, false, 1, 0, 0, 0), ShapeError);
  assert.throws(() => native.rmsnormForward(c, c, a, b, 2, 3, 1e-5), ShapeError);
});
