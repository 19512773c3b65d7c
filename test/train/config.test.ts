// Training-config validation: every problem is listed with its dotted path before any work.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "../../src/errors.js";
import { resolveTrainConfig } from "../../src/train/config.js";

const base = () => ({
  model: { preset: "debug" },
  data: { dir: "shards", stages: [{ tokens: 2048, mixture: { web: 0.7, code: 0.3 } }, { tokens: 1024, mixture: { web: 1 } }] },
  optimizer: { lr: 0.001 },
  schedule: { kind: "wsd", warmup: 1, decay_fraction: 0.5 },
  batch: { seq_len: 32, micro_batch: 4, tokens_per_step: 256 },
});

test("a valid config resolves steps, stages and accumulation", () => {
  const c = resolveTrainConfig(base());
  assert.equal(c.steps, 12);
  assert.equal(c.batch.accumulation, 2);
  assert.deepEqual(c.data.stages.map((s) => [s.startStep, s.endStep]), [[0, 8], [8, 12]]);
  assert.equal(c.schedule.steps, 12);
  assert.equal(c.optimizer.beta2, 0.95);
});

test("every problem is reported with its dotted path", () => {
  const tree = base() as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  tree.optimiser = {};
  tree.optimizer.lr = "fast";
  tree.data.stages[0].mixture.code = 0;
  tree.data.stages[1].tokens = 1000;
  tree.batch.tokens_per_step = 200;
  tree.schedule.shape = "zigzag";
  try {
    resolveTrainConfig(tree);
    assert.fail("should throw");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    const msg = (e as ConfigError).problems.join("\n");
    assert.match(msg, /^optimiser: unknown key/m);
    assert.match(msg, /^optimizer\.lr: expected a number, got string "fast"/m);
    assert.match(msg, /^data\.stages\[0\]\.mixture\.code: must be > 0, got 0/m);
    assert.match(msg, /^schedule\.shape: must be one of/m);
  }
  const t2 = base();
  t2.data.stages[1].tokens = 1000;
  assert.throws(() => resolveTrainConfig(t2), /data\.stages\[1\]\.tokens: 1000 is not a multiple of batch\.tokens_per_step 256 \(use 768 or 1024\)/);
  const t3 = base();
  t3.batch.tokens_per_step = 200;
  assert.throws(() => resolveTrainConfig(t3), /batch\.tokens_per_step: 200 is not a multiple of micro_batch × seq_len = 128/);
});

test("--set overrides are applied before validation", () => {
  const c = resolveTrainConfig(base(), { sets: ["optimizer.lr=0.01", "batch.micro_batch=8", "name=x"] });
  assert.equal(c.optimizer.lr, 0.01);
  assert.equal(c.batch.accumulation, 1);
  assert.equal(c.name, "x");
  assert.throws(() => resolveTrainConfig(base(), { sets: ["nokey"] }), /--set nokey: expected path\.to\.key=value/);
});
