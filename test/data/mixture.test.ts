// Mixture sampler: realised token proportions against the weights (long draws and every prefix),
// window contents and per-epoch permutations, epoch counting and the max-epochs error, exact
// continuation from a JSON cursor (across epochs and stage boundaries), stage budgets, validation
// batches, and config errors. Sources are in-memory token arrays whose values encode (source, pos).
import { test } from "node:test";
import assert from "node:assert/strict";
import { DataError } from "../../src/errors.js";
import { StageStream, epochPermutation, mixture, validationBatches, type MixtureCursor, type StageSpec } from "../../src/data/mixture.js";
import type { TokenStream } from "../../src/data/shards.js";

/** Source k's token i has value k·1e6 + i, so a window shows where it came from. */
function arrayStream(name: string, k: number, n: number): TokenStream {
  const toks = Int32Array.from({ length: n }, (_, i) => k * 1_000_000 + i);
  return {
    name,
    numTokens: n,
    read(start, len, out = new Int32Array(len)) {
      out.set(toks.subarray(start, start + len));
      return out;
    },
  };
}

const T = 16;
function sources(): Record<string, TokenStream> {
  return { web: arrayStream("web", 1, 20_001), code: arrayStream("code", 2, 8_001), math: arrayStream("math", 3, 1_601) };
}
const W = { web: 0.6, code: 0.3, math: 0.1 };

test("realised token shares follow the weights: within 1% over a long draw, within one sequence at every prefix", () => {
  const s = mixture(W, sources(), { seed: 7, seqLen: T });
  const counts: Record<string, number> = { web: 0, code: 0, math: 0 };
  let n = 0;
  for (let b = 0; b < 400; b++) {
    const batch = s.nextBatch(8, T);
    for (const src of batch.sources) {
      counts[src]++;
      n++;
      for (const [name, w] of Object.entries(W)) assert.ok(Math.abs(counts[name] - w * n) < 1, `prefix ${n}: ${name} has ${counts[name]}, weight ${w}`);
    }
  }
  for (const [name, w] of Object.entries(W)) {
    const share = (counts[name] * T) / (n * T);
    assert.ok(Math.abs(share - w) < 0.01, `${name}: realised token share ${share} vs weight ${w} (tolerance 0.01)`);
  }
});

test("sequences are windows of T+1 tokens; targets are inputs shifted; each epoch visits every window once in a new order", () => {
  const s = mixture({ math: 1 }, sources(), { seed: 3, seqLen: T });
  const windows = Math.floor((1601 - 1) / T); // 100
  const seen: number[][] = [[], []];
  for (let e = 0; e < 2; e++) {
    for (let i = 0; i < windows; i++) {
      const b = s.nextBatch(1, T);
      const start = b.inputs[0] - 3_000_000;
      assert.equal(start % T, 0, "window starts on a multiple of T");
      for (let t = 0; t < T; t++) {
        assert.equal(b.inputs[t], 3_000_000 + start + t);
        assert.equal(b.targets[t], 3_000_000 + start + t + 1);
      }
      seen[e].push(start / T);
    }
  }
  for (const e of [0, 1]) assert.deepEqual([...seen[e]].sort((a, b) => a - b), Array.from({ length: windows }, (_, i) => i), `epoch ${e} is a permutation`);
  assert.notDeepEqual(seen[0], seen[1], "epochs use different permutations");
  assert.deepEqual(seen[0], [...epochPermutation(3, "math", 0, windows)], "permutation derives from (seed, name, epoch)");
  const rep = s.report().find((r) => r.name === "math")!;
  assert.equal(rep.epoch, 1);
  assert.equal(rep.epochs, 2);
  assert.equal(rep.drawn, 200);
});

test("same seed gives the same stream; another seed a different one", () => {
  const a = mixture(W, sources(), { seed: 11, seqLen: T }).nextBatch(32, T);
  const b = mixture(W, sources(), { seed: 11, seqLen: T }).nextBatch(32, T);
  const c = mixture(W, sources(), { seed: 12, seqLen: T }).nextBatch(32, T);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.inputs, c.inputs);
  assert.deepEqual(a.sources, c.sources, "the source schedule itself does not depend on the seed");
});

test("max epochs: a source that would start one epoch too many raises a DataError naming it", () => {
  const s = mixture({ web: 0.5, math: 0.5 }, sources(), { seed: 1, seqLen: T, maxEpochs: 2 });
  // math has 100 windows; at weight 0.5 it supplies every other sequence: 200 math sequences fit in 2 epochs.
  for (let i = 0; i < 400; i++) s.nextSequence();
  assert.equal(s.report().find((r) => r.name === "math")!.epochs, 2);
  assert.throws(
    () => s.nextBatch(4, T),
    (e: unknown) => e instanceof DataError && /source "math" ran out of data: it would start epoch 3, but max epochs is 2/.test(e.message),
  );
});

test("cursor: draw k batches, serialise, restore, draw more == one uninterrupted draw (across epochs and stages)", () => {
  const stages: StageSpec[] = [
    { name: "stable", tokens: 120 * 8 * T, weights: { web: 0.7, code: 0.3 } },
    { name: "decay", weights: { web: 0.4, code: 0.2, math: 0.4 } },
  ];
  const whole = new StageStream(stages, sources(), { seed: 5, seqLen: T });
  const ref = Array.from({ length: 260 }, () => whole.nextBatch(8, T));
  for (const k of [1, 97, 120, 121, 200]) {
    const first = new StageStream(stages, sources(), { seed: 5, seqLen: T });
    for (let i = 0; i < k; i++) first.nextBatch(8, T);
    const cursor = JSON.parse(JSON.stringify(first.cursor())) as MixtureCursor;
    const resumed = StageStream.fromCursor(stages, sources(), { seed: 5, seqLen: T }, cursor);
    for (let i = k; i < 260; i++) assert.deepEqual(resumed.nextBatch(8, T), ref[i], `batch ${i} after resuming at ${k}`);
  }
  // Budget: exactly 120 batches of stage "stable", then "decay"; math (100 windows) is past its first epoch by the end.
  assert.ok(ref[119].stages.every((s) => s === "stable") && ref[120].stages.every((s) => s === "decay"));
  assert.ok(ref.slice(0, 120).every((b) => !b.sources.includes("math")));
  assert.ok(whole.report().find((r) => r.name === "math")!.epoch >= 1);
  assert.throws(() => StageStream.fromCursor(stages, sources(), { seed: 6, seqLen: T }, whole.cursor()), /seed 5 and seqLen 16, not 6 and 16/);
});

test("validation batches: windows in order, deterministic, last batch partial", () => {
  const s = arrayStream("val", 4, 10 * T + 1);
  const batches = [...validationBatches(s, 4, T)];
  assert.deepEqual(batches.map((b) => b.rows), [4, 4, 2]);
  assert.equal(batches[2].inputs[T], 4_000_000 + 9 * T);
  assert.equal(batches[0].targets[0], 4_000_000 + 1);
  assert.deepEqual([...validationBatches(s, 4, T)], batches);
  assert.equal([...validationBatches(s, 4, T, 1)].length, 1);
  assert.throws(() => [...validationBatches(arrayStream("v", 0, T), 1, T)], /fewer than one sequence of 17/);
});

test("invalid mixtures list every problem; a source shorter than one sequence is refused", () => {
  assert.throws(
    () => new StageStream([{ name: "a", weights: { web: 0.5, blog: 0.4 } }, { name: "b", weights: { code: 1 } }], sources(), { seed: 1, seqLen: T }),
    (e: unknown) =>
      e instanceof DataError &&
      /stages\[0\] \(a\)\.weights\.blog: no such source/.test(e.message) &&
      /stages\[0\] \(a\)\.weights: must sum to 1/.test(e.message) &&
      /stages\[0\] \(a\)\.tokens: a token budget > 0 is required/.test(e.message),
  );
  assert.throws(() => mixture({ tiny: 1 }, { tiny: arrayStream("tiny", 0, T) }, { seed: 1, seqLen: T }), /"tiny" has 16 tokens, fewer than one sequence of 17/);
  assert.throws(() => mixture(W, sources(), { seed: 1, seqLen: T }).nextBatch(2, 32), /T=32 but the sampler was built for seqLen 16/);
});
