// The SmolLM2 presets equal the released config.json files (values below as published with the
// base checkpoints HuggingFaceTB/SmolLM2-{135M,360M,1.7B}; docs/references.md), both as
// LlamaConfig and as the config.json SmolLab writes; the paper's pretraining values stay
// reachable through the documented recipe.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { hfConfigJson, parseHfConfig } from "../../src/io/hf-config.js";
import { findPreset } from "../../src/models/presets.js";
import { readConfigFile, resolveTrainConfig } from "../../src/train/config.js";
import { packageRoot } from "../../src/util/paths.js";

const shared = {
  architectures: ["LlamaForCausalLM"], model_type: "llama", hidden_act: "silu", vocab_size: 49152,
  max_position_embeddings: 8192, rms_norm_eps: 1e-5, tie_word_embeddings: true, rope_scaling: null,
  bos_token_id: 0, eos_token_id: 0, attention_bias: false, mlp_bias: false,
};
const RELEASED: Record<string, Record<string, unknown>> = {
  "smollm2-135m": { ...shared, hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, rope_theta: 100000, initializer_range: 0.041666666666666664 },
  "smollm2-360m": { ...shared, hidden_size: 960, intermediate_size: 2560, num_hidden_layers: 32, num_attention_heads: 15, num_key_value_heads: 5, rope_theta: 100000, initializer_range: 1 / Math.sqrt(960) },
  "smollm2-1.7b": { ...shared, hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 24, num_attention_heads: 32, num_key_value_heads: 32, rope_theta: 130000, initializer_range: 0.02 },
};

for (const [name, released] of Object.entries(RELEASED)) {
  test(`${name} equals the released config.json`, () => {
    const preset = findPreset(name).config;
    // As a LlamaConfig: what the released file parses to.
    assert.deepEqual(preset, parseHfConfig(released, `${name}/config.json`));
    // As the config.json SmolLab writes: every released field has the released value.
    const written = hfConfigJson(preset);
    for (const [k, v] of Object.entries(released)) {
      if (typeof v === "number" && !Number.isInteger(v)) assert.ok(Math.abs((written[k] as number) - v) < 1e-15, `${k}: ${written[k]} vs ${v}`);
      else assert.deepEqual(written[k], v, `${name} config.json field ${k}`);
    }
  });
}

test("the paper's pretraining shape (context 2048, θ 10000) is the documented recipe's override", () => {
  const file = path.join(packageRoot(), "examples", "smollm2-135m-pretrain.yaml");
  const cfg = resolveTrainConfig(readConfigFile(file), { file });
  assert.equal(cfg.model.preset, "smollm2-135m");
  assert.equal(cfg.model.max_seq, 2048);
  assert.equal(cfg.model.rope_theta, 10000);
  assert.equal(cfg.batch.seq_len, 2048);
  assert.equal(cfg.optimizer.lr, 0.003);
  assert.equal(cfg.batch.tokens_per_step, 64 * 8 * 2048);
});
