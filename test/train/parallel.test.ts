// The data-parallel rules of train/parallel.ts on their own: round-robin ownership of micro-batches,
// the per-step agreement (losses summed in global order; here through the real single-process
// collective), preflight problems for an uneven split, and that `parallel:` settings are not part of
// a run's identity (changing the bucket size or check interval resumes the same run).
import { test } from "node:test";
import assert from "node:assert/strict";
import { SingleProcess } from "../../src/backend/collective.js";
import { agreeOnStep, ownsMicroBatch, parallelProblems, weightChecksum } from "../../src/train/parallel.js";
import { configHash } from "../../src/train/rundir.js";
import { tinyConfig } from "./fixture.js";

test("micro-batch a belongs to rank a mod N: every micro-batch once, N ranks balanced", () => {
  for (const size of [1, 2, 4]) {
    const owners = Array.from({ length: 8 }, (_, a) => Array.from({ length: size }, (_, rank) => ownsMicroBatch(a, { rank, size })).indexOf(true));
    assert.deepEqual(owners, Array.from({ length: 8 }, (_, a) => a % size));
  }
});

test("one process agrees with itself: the loss sum is the sequential one, a stop request is kept", () => {
  const losses = [0.1, 0.2, 0.30000000000000004, Number.NaN];
  const r = agreeOnStep(new SingleProcess(), { losses, bySource: { a: 64 }, stop: true }, 4);
  let seq = 0;
  for (const l of losses) seq += l;
  assert.ok(Number.isNaN(r.lossSum) && Number.isNaN(seq), "a non-finite loss survives the exchange");
  const r2 = agreeOnStep(new SingleProcess(), { losses: losses.slice(0, 3), bySource: { a: 64, b: 32 }, stop: false }, 3);
  assert.equal(r2.lossSum, 0.1 + 0.2 + 0.30000000000000004);
  assert.deepEqual(r2.bySource, { a: 64, b: 32 });
  assert.equal(r2.stop, false);
});

test("an uneven split over the ranks is a preflight problem naming the fix", () => {
  assert.deepEqual(parallelProblems(4, 1), []);
  assert.deepEqual(parallelProblems(4, 2), []);
  assert.match(parallelProblems(4, 3)[0], /4 micro-batches per step cannot be split evenly over 3 ranks; make accumulation .* a multiple of 3/);
});

test("weight checksums see a one-ulp change; parallel settings do not change the run identity", () => {
  const a = new Float32Array([1, 2, 3]);
  const b = new Float32Array([1, 2, 3 + 2 ** -22]);
  assert.notEqual(weightChecksum([a]), weightChecksum([b]));
  assert.equal(weightChecksum([a]), weightChecksum([new Float32Array([1, 2, 3])]));
  const base = tinyConfig("/nonexistent");
  const withParallel = tinyConfig("/nonexistent", { parallel: { check_every: 7, bucket_mb: 2 } });
  assert.equal(withParallel.parallel?.check_every, 7);
  assert.equal(configHash(withParallel), configHash(base));
});
