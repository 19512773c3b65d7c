// Packed decode weights (models/packed.ts): a model packed as bf16 or Q8_0 computes exactly what
// the float32 model computes with the rounded weights — cached decode logits bit for bit, and the
// same greedy tokens alone, batched and through decodeStepCaches (serve) — while its decode
// products really go through linearBf16 / linearQ8. Training forwards never use packed copies.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Backend } from "../../src/backend/backend.js";
import { defaultBackend } from "../../src/backend/index.js";
import { decodeStepCaches, generateGreedyBatch } from "../../src/models/batch-decode.js";
import { generate } from "../../src/models/generate.js";
import { KVCache, type LlamaModel } from "../../src/models/llama.js";
import { packableNames } from "../../src/models/llama.js";
import { packQ8, unpack } from "../../src/models/packed.js";
import { Engine } from "../../src/tensor/engine.js";
import { tinyModel } from "../eval/fixture.js";
import { smolSync } from "../helpers.js";

const be = defaultBackend().backend as Backend<Float32Array>;
const prompts = [[72, 101, 108, 108, 111], [65], Array.from({ length: 23 }, (_, i) => 40 + i), [10, 20, 30, 40, 50, 60, 70, 80, 90], [33, 33]];

/** Counts the backend's packed-product calls while fn runs. */
function countPacked<T>(fn: () => T): { result: T; calls: number } {
  const b = be as unknown as Record<string, (...a: unknown[]) => void>;
  const orig = { linearBf16: b.linearBf16, linearQ8: b.linearQ8 };
  let calls = 0;
  for (const k of ["linearBf16", "linearQ8"] as const) {
    b[k] = (...a: unknown[]) => {
      calls++;
      orig[k].apply(be, a);
    };
  }
  try {
    return { result: fn(), calls };
  } finally {
    b.linearBf16 = orig.linearBf16;
    b.linearQ8 = orig.linearQ8;
  }
}

/** Logits of a 17-token prefill (float32 GEMM path) then of 3 single-token cached steps. */
function cachedLogits(model: LlamaModel<Float32Array>): Float32Array[] {
  const e = new Engine(be);
  const cache = new KVCache(be, model.config, 1, 32);
  const out: Float32Array[] = [];
  try {
    e.noGrad(() => {
      out.push(Float32Array.from(model.forward(e, Int32Array.from({ length: 17 }, (_, i) => 30 + i), 1, 17, cache).data));
      for (const id of [5, 77, 200]) {
        e.reset();
        out.push(Float32Array.from(model.forward(e, Int32Array.of(id), 1, 1, cache).data));
      }
    });
  } finally {
    cache.dispose(be);
    e.arena.dispose();
  }
  return out;
}

for (const kind of ["bf16", "q8_0"] as const) {
  test(`${kind}: equals the float32 model with the rounded weights, bit for bit, through the packed kernels`, () => {
    const packed = tinyModel(be, 21, { maxSeq: 64 });
    packed.packWeights(kind);
    assert.equal(packed.weightDtype, kind);
    assert.deepEqual([...packed.packed.keys()].sort(), packableNames(packed.config).sort());
    // The twin: float32 only, with the packed model's (rounded) parameters.
    const plain = tinyModel(be, 999, { maxSeq: 64 });
    for (const [name, t] of packed.params.tensors) plain.params.get(name).data.set(t.data);
    for (const [name, p] of packed.packed) {
      const w = packed.params.get(name).data;
      assert.ok(unpack(p).every((v, i) => Object.is(v, w[i])), `${name}: the parameter holds the packed values`);
    }

    const a = countPacked(() => cachedLogits(packed));
    const b = cachedLogits(plain);
    // 7 products per layer + the head, per single-token step; the prefill uses none.
    assert.equal(a.calls, 3 * (7 * packed.config.layers + 1));
    a.result.forEach((row, s) => {
      const j = row.findIndex((v, i) => !Object.is(v, b[s][i]));
      assert.equal(j, -1, `${kind} step ${s}: logit ${j} is ${row[j]}, float32 ${b[s][j]}`);
    });

    const budgets = [9, 4, 12, 1, 7];
    const greedy = (m: LlamaModel<Float32Array>) => prompts.map((p, i) => generate(m, p, { maxNewTokens: budgets[i], temperature: 0, topK: 0, topP: 1, seed: 0 }).ids);
    const want = greedy(plain);
    assert.deepEqual(greedy(packed), want);
    const batched = countPacked(() => generateGreedyBatch(packed, prompts, { maxNewTokens: budgets, batchSize: 16 }));
    assert.ok(batched.calls > 0);
    assert.deepEqual(batched.result.map((r) => r.ids), want);

    // decodeStepCaches (smol serve's step): the batched logits equal the float32 model's.
    const step = (m: LlamaModel<Float32Array>) => {
      const e = new Engine(be);
      const caches = prompts.map(() => new KVCache(be, m.config, 1, 32));
      try {
        e.noGrad(() => prompts.forEach((p, i) => (m.forward(e, Int32Array.from(p), 1, p.length, caches[i]), e.reset())));
        return Float32Array.from(decodeStepCaches(m, e, Int32Array.from(prompts, (p) => p[0]), caches));
      } finally {
        caches.forEach((c) => c.dispose(be));
        e.arena.dispose();
      }
    };
    const sa = step(packed), sb = step(plain);
    assert.equal(sa.findIndex((v, i) => !Object.is(v, sb[i])), -1);
    packed.dispose();
    plain.dispose();
  });
}

test("packWeights keeps matrices already packed as asked, and fp32 drops the packed copies", () => {
  const m = tinyModel(be, 5, { maxSeq: 64 });
  const name = packableNames(m.config)[0];
  const t = m.params.get(name);
  const own = packQ8(t.data, t.shape[0], t.shape[1]);
  m.adoptPacked(name, own);
  m.packWeights("q8_0");
  assert.equal(m.packed.get(name), own);
  m.packWeights("bf16");
  assert.equal(m.packed.get(name)?.kind, "bf16");
  m.packWeights("fp32");
  assert.equal(m.packed.size, 0);
  assert.throws(() => m.adoptPacked(name, { ...own, N: own.N + 1 }), /does not match/);
  m.dispose();
  const odd = tinyModel(be, 5, { maxSeq: 64, d: 48, heads: 4, kvHeads: 2, headDim: 12 });
  assert.throws(() => odd.packWeights("q8_0"), /rows of 48, not whole Q8_0 blocks of 32/);
  odd.packWeights("bf16");
  assert.equal(odd.weightDtype, "bf16");
  odd.dispose();
});

test("forwards with gradients never use the packed copies", () => {
  const m = tinyModel(be, 6, { maxSeq: 64 });
  m.packWeights("bf16");
  const e = new Engine(be);
  const { calls } = countPacked(() => m.forward(e, Int32Array.of(1, 2, 3), 1, 3));
  assert.equal(calls, 0);
  e.arena.dispose();
  m.dispose();
});

test("smol generate --weights: bf16 and q8_0 decode, a bad value is a usage error", async () => {
  const { savedTinyModel } = await import("../eval/fixture.js");
  const dir = savedTinyModel(be, 3, { maxSeq: 64 });
  for (const w of ["fp32", "bf16", "q8_0", "auto"]) {
    const r = smolSync(["generate", "--model", dir, "--prompt", "Hello", "--max-new-tokens", "4", "--temperature", "0", "--json", "--weights", w]);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).ids.length, 4);
  }
  const bad = smolSync(["generate", "--model", dir, "--prompt", "Hello", "--weights", "int4"]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /--weights must be one of auto, fp32, bf16, q8_0/);
});
