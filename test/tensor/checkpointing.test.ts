// Activation checkpointing and lean no-grad forwards (tensor/engine.ts block()): gradients with
// checkpointing are bit-identical to those without (same kernels on the same inputs in the same
// order), on the native backend (every kernel table this CPU runs) and the float64 reference; the
// activation arena's high-water mark falls; a no-grad forward keeps one layer's intermediates, and of
// those only the larger half's (attention or MLP).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Backend, FloatBuf } from "../../src/backend/backend.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { LlamaModel } from "../../src/models/llama.js";
import { PRESETS } from "../../src/models/presets.js";
import { Engine } from "../../src/tensor/engine.js";
import { Rng } from "../../src/util/rng.js";
import { loadNativeOrSkip } from "../helpers.js";

const { native, skip: why = "" } = await loadNativeOrSkip();

const cfg = { ...PRESETS.find((p) => p.name === "debug")!.config, layers: 3, maxSeq: 32 };

function gradsOf<F extends FloatBuf>(be: Backend<F>, checkpointing: boolean, precision: "fp32" | "bf16" = "fp32") {
  const model = new LlamaModel(be, cfg);
  model.initialize(3);
  const B = 2, T = 24;
  const rng = new Rng(5);
  const ids = new Int32Array(B * T + 1).map(() => rng.int(cfg.vocab));
  const e = new Engine(be, 1 << 10, { checkpointing, precision });
  model.params.zeroGrad();
  const { loss } = model.loss(e, ids.subarray(0, B * T), ids.subarray(1), B, T);
  const lossValue = loss.data[0];
  e.backward(loss);
  const peak = e.arena.peak();
  e.reset();
  const grads = model.params.grad.map((g) => Float64Array.from(g));
  e.arena.dispose();
  model.dispose();
  return { lossValue, grads, peak };
}

function assertBitIdentical(a: Float64Array[], b: Float64Array[], label: string) {
  a.forEach((g, k) => {
    for (let i = 0; i < g.length; i++) {
      if (!Object.is(g[i], b[k][i])) assert.fail(`${label}: gradient chunk ${k} [${i}] differs: ${g[i]} vs ${b[k][i]}`);
    }
  });
}

test("checkpointed gradients are bit-identical (reference backend)", () => {
  const be = new ReferenceBackend();
  const plain = gradsOf(be, false);
  const ckpt = gradsOf(be, true);
  assert.equal(ckpt.lossValue, plain.lossValue);
  assertBitIdentical(ckpt.grads, plain.grads, "reference");
  assert.ok(plain.grads[0].some((x) => x !== 0));
});

test("checkpointed gradients are bit-identical on every native kernel table, fp32 and bf16", { skip: native ? false : why }, () => {
  const be = native!;
  const start = be.isa;
  try {
    for (const isa of be.availableIsas()) {
      be.useIsa(isa);
      for (const precision of ["fp32", "bf16"] as const) {
        const plain = gradsOf(be, false, precision);
        const ckpt = gradsOf(be, true, precision);
        assert.equal(ckpt.lossValue, plain.lossValue, `${isa} ${precision}: loss`);
        assertBitIdentical(ckpt.grads, plain.grads, `${isa} ${precision}`);
        // Three layers: the plain tape keeps every layer's intermediates, checkpointing one layer's.
        assert.ok(ckpt.peak < plain.peak, `${isa} ${precision}: arena peak ${ckpt.peak} not below ${plain.peak}`);
      }
    }
  } finally {
    be.useIsa(start);
  }
});

test("a no-grad forward keeps one layer's intermediates: its arena peak does not grow with depth", () => {
  const be = new ReferenceBackend();
  const peakFor = (layers: number) => {
    const model = new LlamaModel(be, { ...cfg, layers }, { withGrad: false });
    model.initialize(1);
    const e = new Engine(be, 1 << 10);
    const ids = new Int32Array(2 * 16).map((_, i) => (i * 7) % cfg.vocab);
    e.noGrad(() => model.forward(e, ids, 2, 16));
    const peak = e.arena.peak();
    e.arena.dispose();
    model.dispose();
    return peak;
  };
  assert.equal(peakFor(8), peakFor(1));
});

test("a no-grad forward holds the larger half of a layer (attention or MLP), not the whole layer", () => {
  const be = new ReferenceBackend();
  const model = new LlamaModel(be, cfg, { withGrad: false });
  model.initialize(1);
  const e = new Engine(be, 1 << 20); // one chunk: the peak is the real high-water position
  const B = 2, T = 16, N = B * T;
  const ids = new Int32Array(N).map((_, i) => (i * 7) % cfg.vocab);
  e.noGrad(() => model.forward(e, ids, B, T));
  const peak = e.arena.peak();
  e.arena.dispose();
  model.dispose();
  const { d, ffn, heads, kvHeads, headDim, vocab } = cfg;
  // Elements per token of each half's buffers: attention = norm, q and roped q, k and roped k, v,
  // attention output (+ heads log-sum-exp), o_proj, residual; MLP = norm, gate, up, SwiGLU, down, residual.
  const attn = d + 2 * heads * headDim + 3 * kvHeads * headDim + heads * headDim + heads + 2 * d;
  const mlp = d + 3 * ffn + 2 * d;
  const slack = 16 * 24; // 64-byte alignment of each of the ~20 views
  const onePart = N * (d + Math.max(attn, mlp)) + slack; // h plus the larger half
  const logits = N * (2 * d + vocab) + slack; // h, final norm, logits
  assert.ok(peak <= Math.max(onePart, logits), `arena peak ${peak} elements > ${Math.max(onePart, logits)} (a whole layer would be ${N * (d + attn + mlp)})`);
});
