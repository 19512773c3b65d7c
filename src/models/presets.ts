// Named model shapes: the three published SmolLM2 sizes, equal to the config.json files released
// with the base models (context 8192, RoPE theta 100k/100k/130k, bos = eos = <|endoftext|> id 0;
// see docs/references.md), and small research presets that train on a 2-core CPU in seconds to
// minutes. The paper's pretraining values (context 2048, theta 10000) are a recipe, not a preset
// default: examples/smollm2-135m-pretrain.yaml. The research shapes are BENCHMARKS.md's configs.
import { ConfigError } from "../errors.js";
import type { LlamaConfig } from "./config.js";

export interface Preset {
  name: string;
  description: string;
  config: LlamaConfig;
}

function llama(
  vocab: number, d: number, layers: number, heads: number, kvHeads: number, ffn: number,
  extra: Partial<LlamaConfig> = {},
): LlamaConfig {
  return {
    vocab, d, ffn, layers, heads, kvHeads, headDim: d / heads,
    ropeTheta: 10000, normEps: 1e-5, tied: true, maxSeq: 2048, initStd: 0.02,
    bosTokenId: 0, eosTokenId: 0, ...extra,
  };
}

/** What the three released base config.json files share (the Instruct models use bos 1, eos 2). */
const RELEASED: Partial<LlamaConfig> = { maxSeq: 8192, normEps: 1e-5, tied: true, bosTokenId: 0, eosTokenId: 0 };

export const PRESETS: readonly Preset[] = [
  { name: "debug", description: "0.1M, the shape of the test fixture; for tests and smoke runs",
    config: llama(256, 64, 2, 4, 2, 160, { maxSeq: 512 }) },
  { name: "research-2m", description: "1.8M (d 128, 4 layers); trains in seconds",
    config: llama(8192, 128, 4, 4, 2, 384, { maxSeq: 1024 }) },
  { name: "research-7m", description: "6.8M (d 256, 6 layers); trains in minutes",
    config: llama(8192, 256, 6, 8, 4, 768, { maxSeq: 1024 }) },
  { name: "research-19m", description: "18.9M (d 384, 8 layers); the largest quick-study shape",
    config: llama(16384, 384, 8, 6, 2, 1024) },
  { name: "smollm2-135m", description: "SmolLM2-135M as released (30 layers, d 576, GQA 9/3, context 8192, θ 100k)",
    config: llama(49152, 576, 30, 9, 3, 1536, { initStd: 1 / Math.sqrt(576), ...RELEASED, ropeTheta: 100000 }) },
  { name: "smollm2-360m", description: "SmolLM2-360M as released (32 layers, d 960, GQA 15/5, context 8192, θ 100k)",
    config: llama(49152, 960, 32, 15, 5, 2560, { initStd: 1 / Math.sqrt(960), ...RELEASED, ropeTheta: 100000 }) },
  { name: "smollm2-1.7b", description: "SmolLM2-1.7B as released (24 layers, d 2048, MHA 32/32, context 8192, θ 130k)",
    config: llama(49152, 2048, 24, 32, 32, 8192, { initStd: 0.02, ...RELEASED, ropeTheta: 130000 }) },
];

export function findPreset(name: string): Preset {
  const p = PRESETS.find((x) => x.name === name);
  if (!p) {
    throw new ConfigError(`unknown model preset "${name}"`, [], `known presets: ${PRESETS.map((x) => x.name).join(", ")}`);
  }
  return { ...p, config: { ...p.config } };
}
