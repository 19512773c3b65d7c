// Post-training configs carry the memory keys of training configs: optimizer.moments reaches the
// shared loop's optimizer and is part of the run's identity (except fp32, the default, which keeps
// the hash a config without the key had); activation_checkpointing reaches the loop and is not part
// of the identity (gradients are bit-identical with it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "../../src/errors.js";
import { parsePosttrainConfig, toTrainConfig, type SftConfig } from "../../src/posttrain/config.js";
import { configHash } from "../../src/train/rundir.js";

const tree = (extra: Record<string, unknown> = {}, optimizer: Record<string, unknown> = {}) => ({
  model: { from: "models/base" }, data: { train: "sft.jsonl" }, max_length: 64,
  batch: { sequences_per_step: 4, micro_batch: 2 }, optimizer: { lr: 1e-4, ...optimizer }, ...extra,
});
const bridge = (c: SftConfig) => toTrainConfig("sft", c, 10, 64, 4, 2, 1);

test("sft config: optimizer.moments and activation_checkpointing reach the training loop's config", () => {
  const c = parsePosttrainConfig("sft", tree({ activation_checkpointing: true }, { moments: "int8" }));
  const t = bridge(c);
  assert.equal(t.optimizer.moments, "int8");
  assert.equal(t.activation_checkpointing, true);
  const d = bridge(parsePosttrainConfig("sft", tree()));
  assert.equal(d.optimizer.moments, "fp32");
  assert.equal(d.activation_checkpointing, false);
});

test("sft config: moments are identity (fp32 keeps the old hash), activation checkpointing is not", () => {
  const fp32 = parsePosttrainConfig("sft", tree());
  const h = configHash(bridge(fp32));
  // The config as it was before the keys existed: same hash.
  const old = structuredClone(fp32) as Record<string, any>;
  delete old.optimizer.moments;
  delete old.activation_checkpointing;
  assert.equal(configHash(bridge(old as SftConfig)), h);
  const section = JSON.stringify((bridge(fp32) as unknown as { posttrain: unknown }).posttrain);
  assert.ok(!/moments|activation_checkpointing/.test(section), `fp32 leaves no trace in the hashed section: ${section}`);
  assert.equal(configHash(bridge(parsePosttrainConfig("sft", tree({ activation_checkpointing: true })))), h);
  const bf16 = configHash(bridge(parsePosttrainConfig("sft", tree({}, { moments: "bf16" }))));
  const int8 = configHash(bridge(parsePosttrainConfig("sft", tree({}, { moments: "int8" }))));
  assert.notEqual(bf16, h);
  assert.notEqual(int8, h);
  assert.notEqual(int8, bf16);
});

test("dpo config: an unknown moment format is refused by its key", () => {
  assert.throws(
    () => parsePosttrainConfig("dpo", { ...tree({}, { moments: "fp8" }), data: { train: "pairs.jsonl" } }),
    (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.startsWith("optimizer.moments")),
  );
});
