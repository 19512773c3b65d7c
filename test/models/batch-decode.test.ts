// Batched greedy decoding with per-row lengths (the padding mask of the cached decoder): the
// tokens of many prompts of different lengths decoded together equal those of decoding each
// alone, on the float64 reference backend exactly and on the native backend for the hidden
// states to float tolerance; rows that stop early leave the batch without disturbing the rest.
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultBackend } from "../../src/backend/index.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { cacheRow, decodeStep, generateGreedyBatch, prefillRows } from "../../src/models/batch-decode.js";
import { generate } from "../../src/models/generate.js";
import { KVCache } from "../../src/models/llama.js";
import { Engine } from "../../src/tensor/engine.js";
import { tinyModel } from "../eval/fixture.js";

const prompts = [[72, 101, 108, 108, 111], [65], Array.from({ length: 23 }, (_, i) => 40 + i), [10, 20, 30, 40, 50, 60, 70, 80, 90], [33, 33]];

test("batched greedy tokens equal one-at-a-time greedy tokens (reference backend, exact)", () => {
  const model = tinyModel(new ReferenceBackend(), 7, { maxSeq: 64 });
  const budgets = [9, 4, 12, 1, 7];
  const alone = prompts.map((p, i) => generate(model, p, { maxNewTokens: budgets[i], temperature: 0, topK: 0, topP: 1, seed: 0 }).ids);
  for (const batchSize of [1, 2, 16]) {
    const got = generateGreedyBatch(model, prompts, { maxNewTokens: budgets, batchSize, prefillChunk: 4 });
    assert.deepEqual(got.map((g) => g.ids), alone, `batch ${batchSize}`);
    assert.ok(got.every((g) => g.stoppedBy === "length"));
  }
  // A row told to stop after its 2nd token finishes early; the others are unchanged.
  const early = generateGreedyBatch(model, prompts, { maxNewTokens: budgets, isDone: (i, ids) => i === 2 && ids.length === 2 });
  assert.deepEqual(early[2], { ids: alone[2].slice(0, 2), stoppedBy: "stop" });
  assert.deepEqual(early.filter((_, i) => i !== 2).map((g) => g.ids), alone.filter((_, i) => i !== 2));
  // The stop id ends a row without being kept.
  const eos = alone[0][3];
  const withEos = generateGreedyBatch(model, [prompts[0]], { maxNewTokens: 9, stopId: eos });
  assert.deepEqual(withEos[0], { ids: alone[0].slice(0, alone[0].indexOf(eos)), stoppedBy: "eos" });
  assert.throws(() => generateGreedyBatch(model, [Array.from({ length: 60 }, () => 1)], { maxNewTokens: 8 }), /exceed the model's context of 64/);
  model.dispose();
});

test("native backend: batched greedy tokens equal one-at-a-time tokens exactly (rows go through the single-row dot-product path)", () => {
  const model = tinyModel(defaultBackend().backend, 9, { maxSeq: 64 });
  const budgets = [9, 4, 12, 1, 7];
  const one = generateGreedyBatch(model, prompts, { maxNewTokens: budgets, batchSize: 1 });
  const many = generateGreedyBatch(model, prompts, { maxNewTokens: budgets, batchSize: 16 });
  assert.deepEqual(many, one);
  model.dispose();
});

// Longer prompts with a small prefill chunk: parts of more than 16 tokens of several rows go
// through one packed forward (prefillRows), shorter parts alone, and rows switch between the two.
const long = [40, 17, 33, 5, 58].map((n, r) => Array.from({ length: n }, (_, t) => (r * 37 + t * 11) % 97 + 1));
const longBudgets = [6, 5, 4, 6, 3];

test("packed prefill: batched tokens equal one-at-a-time tokens (reference exact vs generate; native batch 1 vs 16 exact)", () => {
  const ref = tinyModel(new ReferenceBackend(), 7, { maxSeq: 64 });
  const alone = long.map((p, i) => generate(ref, p, { maxNewTokens: longBudgets[i], temperature: 0, topK: 0, topP: 1, seed: 0 }).ids);
  for (const batchSize of [1, 16]) {
    const got = generateGreedyBatch(ref, long, { maxNewTokens: longBudgets, batchSize, prefillChunk: 20 });
    assert.deepEqual(got.map((g) => g.ids), alone, `reference, batch ${batchSize}`);
  }
  ref.dispose();
  const nat = tinyModel(defaultBackend().backend, 9, { maxSeq: 64 });
  for (const prefillChunk of [20, 256]) {
    const one = generateGreedyBatch(nat, long, { maxNewTokens: longBudgets, batchSize: 1, prefillChunk });
    const many = generateGreedyBatch(nat, long, { maxNewTokens: longBudgets, batchSize: 16, prefillChunk });
    assert.deepEqual(many, one, `native, chunk ${prefillChunk}`);
    // Groups of 2 share one cache: the second group reuses the first one's, the third grows it.
    const pairs = generateGreedyBatch(nat, long, { maxNewTokens: longBudgets, batchSize: 2, prefillChunk });
    assert.deepEqual(pairs, one, `native, batch 2, chunk ${prefillChunk}`);
  }
  nat.dispose();
});

// 12 prompts at head size 32: decode products of 8–16 rows take the split blocks of
// native/gemv.inc, attention takes the AVX-512 decode kernel through attentionDecodeRows (one
// prompt spans two 512-key chunks), and groups of 5 reuse and then grow one cache.
test("native, 12 prompts at head size 32: batch 16, groups of 5 and one at a time equal generate's tokens exactly", () => {
  const nat = tinyModel(defaultBackend().backend, 12, { d: 64, ffn: 128, heads: 2, kvHeads: 1, headDim: 32 });
  const lens = [3, 40, 17, 530, 9, 64, 1, 120, 33, 18, 75, 250];
  const many = lens.map((n, r) => Array.from({ length: n }, (_, t) => (r * 53 + t * 7) % 250 + 1));
  const budgets = lens.map((_, r) => 3 + (r % 5) * 2);
  const want = many.map((p, i) => generate(nat, p, { maxNewTokens: budgets[i], temperature: 0, topK: 0, topP: 1, seed: 0 }).ids);
  for (const batchSize of [16, 5, 1]) {
    const got = generateGreedyBatch(nat, many, { maxNewTokens: budgets, batchSize });
    assert.deepEqual(got.map((g) => g.ids), want, `batch ${batchSize}`);
  }
  nat.dispose();
});

test("prefillRows gives each row the bits of prefilling it alone (native, parts over 16 tokens)", () => {
  const be = defaultBackend().backend;
  const model = tinyModel(be, 10, { maxSeq: 64 });
  const d = model.config.d;
  const e = new Engine(be);
  const parts = [long[0].slice(0, 20), long[2], long[1]].map((x) => Int32Array.from(x));
  const packed = new KVCache(be, model.config, 3, 64);
  const lengths = [0, 0, 0];
  e.noGrad(() => {
    const h = Float32Array.from(prefillRows(model, e, parts, [0, 1, 2], packed, lengths).data);
    e.reset();
    let t0 = 0;
    parts.forEach((x, r) => {
      const alone = new KVCache(be, model.config, 1, 64);
      const want = model.hidden(e, x, 1, x.length, alone).data;
      assert.deepEqual(h.subarray(t0 * d, (t0 + x.length) * d), Float32Array.from(want.subarray(0, x.length * d)), `row ${r} hidden`);
      const span = 64 * model.config.kvHeads * model.config.headDim;
      const n = x.length * model.config.kvHeads * model.config.headDim;
      assert.deepEqual(packed.k[1].subarray(r * span, r * span + n), alone.k[1].subarray(0, n), `row ${r} keys`);
      alone.dispose(be);
      e.reset();
      t0 += x.length;
    });
  });
  assert.deepEqual(lengths, parts.map((x) => x.length));
  e.arena.dispose();
  packed.dispose(be);
  model.dispose();
});

test("decodeStep on rows of different lengths equals each row's own cached forward (native, 1e-4)", () => {
  const be = defaultBackend().backend;
  const model = tinyModel(be, 8, { maxSeq: 64 });
  const e = new Engine(be);
  const d = model.config.d;
  const batched = new KVCache(be, model.config, prompts.length, 40);
  const lengths = prompts.map(() => 0);
  const want: Float32Array[] = [];
  e.noGrad(() => {
    prompts.forEach((p, r) => {
      model.hidden(e, Int32Array.from(p), 1, p.length, cacheRow(batched, r));
      lengths[r] = p.length;
      e.reset();
      // The reference: the prompt plus one token through a plain (uncached) forward, last row.
      const seq = Int32Array.from([...p, 99]);
      want.push(Float32Array.from(model.hidden(e, seq, 1, seq.length).data.subarray((seq.length - 1) * d, seq.length * d)));
      e.reset();
    });
    const rows = [4, 0, 2, 1, 3];
    const h = decodeStep(model, e, Int32Array.from(rows, () => 99), rows, batched, lengths);
    rows.forEach((r, i) => {
      let worst = 0;
      for (let j = 0; j < d; j++) worst = Math.max(worst, Math.abs(h.data[i * d + j] - want[r][j]));
      assert.ok(worst < 1e-4, `row ${r}: max diff ${worst}`);
    });
    assert.deepEqual(lengths, prompts.map((p) => p.length + 1));
  });
  e.arena.dispose();
  batched.dispose(be);
  model.dispose();
});
