// FLOPs per token against hand counts for the three SmolLM2 presets at s = 2048 (docs/references.md §7,
// with the GQA-exact k/v projections): every term is written out here with the preset's numbers,
// never computed by calling the code under test. All values are integers below 2^53, so exact.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { findPreset } from "../../src/models/presets.js";
import { flopsPerToken, runFlops } from "../../src/scaling/flops.js";

describe("flops: SmolLM2 presets at seq 2048", () => {
  it("SmolLM2-135M (V 49152, d 576, L 30, h 9, kv 3, hd 64, ffn 1536)", () => {
    const f = flopsPerToken(findPreset("smollm2-135m").config, 2048);
    const emb = 2 * 49152 * 576; // 56,623,104 (and the same for the logits)
    const proj = 2 * 576 * (9 * 64) + 2 * 2 * 576 * (3 * 64) + 2 * (9 * 64) * 576; // q + k + v + o = 1,769,472
    const scores = 2 * 2048 * (9 * 64) + 3 * 9 * 2048 + 2 * 2048 * (9 * 64); // QK + softmax + AV = 4,773,888
    const mlp = 2 * 3 * 576 * 1536; // 5,308,416
    assert.equal(f.breakdown.embedding, emb);
    assert.equal(f.breakdown.logits, emb);
    assert.equal(f.breakdown.attentionProjections, 30 * proj);
    assert.equal(f.breakdown.attentionScores, 30 * scores);
    assert.equal(f.breakdown.mlp, 30 * mlp);
    assert.equal(f.forward, 468_799_488);
    assert.equal(f.train, 3 * 468_799_488);
    assert.equal(f.params, 134_515_008); // docs/references.md §1
    assert.equal(f.nonEmbeddingParams, 134_515_008 - 49152 * 576);
    assert.equal(f.sixN, 6 * 134_515_008);
    assert.equal(f.sixNNonEmbedding, 6 * 106_203_456);
    assert.equal(f.sixNPlusAttention, 6 * 106_203_456 + 6 * 30 * 2048 * 576);
  });
  it("SmolLM2-360M (V 49152, d 960, L 32, h 15, kv 5, hd 64, ffn 2560)", () => {
    const f = flopsPerToken(findPreset("smollm2-360m").config, 2048);
    const emb = 2 * 49152 * 960;
    const layer = 2 * 960 * 960 + 2 * 2 * 960 * 320 + 2 * 960 * 960 + (2 * 2048 * 960 + 3 * 15 * 2048 + 2 * 2048 * 960) + 2 * 3 * 960 * 2560;
    assert.equal(f.forward, 2 * emb + 32 * layer);
    assert.equal(f.forward, 1_072_496_640);
    assert.equal(f.params, 361_821_120);
  });
  it("SmolLM2-1.7B is MHA: the GQA count equals the 2·3·s·d·(hd·h) term of docs/references.md §7", () => {
    const f = flopsPerToken(findPreset("smollm2-1.7b").config, 2048);
    const emb = 2 * 49152 * 2048;
    const layer = 2 * 3 * 2048 * (64 * 32) + 2 * 2048 * (64 * 32) + 2 * 2048 * (64 * 32) + 3 * 32 * 2048 + 2 * (64 * 32) * 2048 + 2 * 3 * 2048 * 8192;
    assert.equal(f.forward, 2 * emb + 24 * layer);
    assert.equal(f.forward, 4_031_250_432);
    assert.equal(f.params, 1_711_376_384);
  });
  it("runFlops scales the per-token counts by the token count", () => {
    const cfg = findPreset("smollm2-135m").config;
    const r = runFlops(cfg, 2048, 2e12);
    assert.equal(r.train, 3 * 468_799_488 * 2e12);
    assert.equal(r.sixN, 6 * 134_515_008 * 2e12);
    assert.throws(() => runFlops(cfg, 2048, -1));
    assert.throws(() => flopsPerToken(cfg, 0));
  });
  it("attention scores grow linearly with the sequence length per token", () => {
    const cfg = findPreset("smollm2-135m").config;
    const a = flopsPerToken(cfg, 1024).breakdown.attentionScores;
    const b = flopsPerToken(cfg, 2048).breakdown.attentionScores;
    assert.equal(b, 2 * a);
  });
});
