// The Llama / SmolLM2 decoder (docs/references.md §1) on the autograd engine: pre-norm blocks of
// GQA attention with rotate-half RoPE and a SwiGLU MLP, final RMSNorm, tied or untied head.
// Weights use Hugging Face names so loading and saving are plain copies (models/hf.ts).
import type { Backend, FloatBuf } from "../backend/backend.js";
import { ConfigError, ShapeError } from "../errors.js";
import { ParamStore } from "../nn/params.js";
import type { Engine } from "../tensor/engine.js";
import * as F from "../tensor/ops.js";
import type { RopeTables } from "../tensor/ops.js";
import type { Tensor } from "../tensor/tensor.js";
import { Rng } from "../util/rng.js";
import { parameterShapes, type LlamaConfig } from "./config.js";
import { packBf16, packedLinear, packQ8, unpack, usePacked, type PackedWeight, type WeightDtype } from "./packed.js";

/** Per-layer key/value cache for incremental decoding: k/v [B, maxT, NKV, HS] per layer. */
export class KVCache<Fb extends FloatBuf = FloatBuf> {
  readonly k: Fb[] = [];
  readonly v: Fb[] = [];
  /** Positions filled so far. */
  length = 0;

  constructor(be: Backend<Fb>, readonly config: LlamaConfig, readonly batch: number, readonly maxT: number) {
    const n = batch * maxT * config.kvHeads * config.headDim;
    for (let l = 0; l < config.layers; l++) {
      this.k.push(be.alloc(n));
      this.v.push(be.alloc(n));
    }
  }

  dispose(be: Backend<Fb>): void {
    for (const b of [...this.k, ...this.v]) be.free(b);
  }
}

/** cos/sin tables [maxT, HS/2] computed in float32 like HF's LlamaRotaryEmbedding. */
export function ropeTables<Fb extends FloatBuf>(be: Backend<Fb>, headDim: number, theta: number, maxT: number): RopeTables<Fb> {
  const half = headDim / 2;
  const cos = be.alloc(maxT * half);
  const sin = be.alloc(maxT * half);
  const f = Math.fround;
  for (let i = 0; i < half; i++) {
    const invFreq = f(1 / f(Math.pow(theta, f(f(2 * i) / headDim))));
    for (let t = 0; t < maxT; t++) {
      const ang = f(t * invFreq);
      cos[t * half + i] = Math.cos(ang);
      sin[t * half + i] = Math.sin(ang);
    }
  }
  return { cos, sin, maxT, headDim };
}

/**
 * The matrices decoding multiplies, which packWeights packs: every projection and MLP matrix and
 * the output head (the embedding when tied; an untied embedding is only looked up).
 */
export function packableNames(config: LlamaConfig): string[] {
  return parameterShapes(config)
    .filter(({ name, shape }) => shape.length === 2 && (name !== "model.embed_tokens.weight" || config.tied))
    .map(({ name }) => name);
}

export class LlamaModel<Fb extends FloatBuf = FloatBuf> {
  readonly params: ParamStore<Fb>;
  /** Replaced only by setContext (a long-context stage); read-only to everyone else. */
  private rope_: RopeTables<Fb>;
  private config_: LlamaConfig;
  get rope(): RopeTables<Fb> {
    return this.rope_;
  }
  get config(): LlamaConfig {
    return this.config_;
  }

  /**
   * Packed copies (bf16 or Q8_0) of matrices by parameter name, used instead of the float32
   * parameters in decode-sized no-grad products (proj); empty = fp32 everywhere. Set through
   * packWeights / adoptPacked, which keep the parameters equal to the packed values.
   */
  readonly packed = new Map<string, PackedWeight>();

  constructor(readonly be: Backend<Fb>, config: LlamaConfig, opts: { withGrad?: boolean } = {}) {
    this.config_ = config;
    this.params = new ParamStore(be, parameterShapes(config), opts.withGrad ?? true);
    this.rope_ = ropeTables(be, config.headDim, config.ropeTheta, config.maxSeq);
  }

  /**
   * Change the context (RoPE base and/or length) of the model in place, e.g. at a long-context
   * stage: the RoPE tables are rebuilt and config (hence a saved config.json) records the new values.
   * The config object is replaced, never mutated (callers may hold the old one).
   */
  setContext(ropeTheta: number, maxSeq: number): void {
    if (ropeTheta === this.config_.ropeTheta && maxSeq === this.config_.maxSeq) return;
    const rope = ropeTables(this.be, this.config_.headDim, ropeTheta, maxSeq);
    this.be.free(this.rope_.cos);
    this.be.free(this.rope_.sin);
    this.rope_ = rope;
    this.config_ = { ...this.config_, ropeTheta, maxSeq };
  }

  /** Normal(0, initStd) for matrices and embeddings, ones for norms (HF's _init_weights). */
  initialize(seed: number): void {
    const rng = new Rng(seed);
    for (const t of this.params.tensors.values()) {
      if (t.shape.length === 1) t.data.fill(1);
      else for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * this.config.initStd;
    }
  }

  /**
   * Keep every matrix (projections, MLP, output head) also as bf16 or Q8_0 for decoding, and round
   * the float32 parameters in place to the values the packed copies stand for, so every forward
   * (packed or not) computes with the same weights (models/packed.ts states the contract); for
   * inference models only. Matrices already packed as `dtype` (a GGUF file's own Q8_0 codes or
   * BF16 bits) are kept; others are packed from float32 (Q8_0: llama.cpp's quantizer). "fp32"
   * drops the packed copies (the parameters keep their values).
   */
  packWeights(dtype: WeightDtype): void {
    if (dtype === "fp32") {
      this.packed.clear();
      return;
    }
    const names = packableNames(this.config);
    if (dtype === "q8_0") {
      for (const name of names) {
        const K = this.params.get(name).shape[1];
        if (K % 32 !== 0) throw new ConfigError(`weights q8_0: ${name} has rows of ${K}, not whole Q8_0 blocks of 32`, [], "use --weights bf16 for this model");
      }
    }
    for (const name of names) {
      const t = this.params.get(name);
      const [N, K] = t.shape;
      let p = this.packed.get(name);
      if (p?.kind !== dtype) p = dtype === "bf16" ? packBf16(t.data, N, K) : packQ8(t.data, N, K);
      this.adoptPacked(name, p);
    }
  }

  /**
   * Use p for the matrix `name` in decoding, and set the float32 parameter to the values p stands
   * for (exact for bf16 and Q8_0: float32 holds them).
   */
  adoptPacked(name: string, p: PackedWeight): void {
    const t = this.params.get(name);
    if (t.shape.length !== 2 || t.shape[0] !== p.N || t.shape[1] !== p.K) throw new ShapeError(`packed ${name}: [${p.N},${p.K}] does not match the parameter's [${t.shape.join(",")}]`);
    t.data.set(unpack(p));
    this.packed.set(name, p);
  }

  /** The weight storage decoding uses: "fp32", or the kind of the packed matrices. */
  get weightDtype(): WeightDtype {
    const first = this.packed.values().next();
    return first.done ? "fp32" : first.value.kind;
  }

  /**
   * x · Wᵀ for the parameter `name`: its packed copy where usePacked says so (decode-sized
   * no-grad products), else the float32 linear op (recorded for backward when gradients are on).
   */
  proj(e: Engine<Fb>, x: Tensor<Fb>, name: string): Tensor<Fb> {
    const p = this.packed.get(name);
    return usePacked(e, x, p) ? packedLinear(e, x, p) : F.linear(e, x, this.params.get(name));
  }

  /** Name of the output head's parameter: the embedding when tied. */
  headName(): string {
    return this.config.tied ? "model.embed_tokens.weight" : "lm_head.weight";
  }

  /** Output head weight: the embedding when tied. */
  headWeight(): Tensor<Fb> {
    return this.params.get(this.config.tied ? "model.embed_tokens.weight" : "lm_head.weight");
  }

  /**
   * Logits [B*T, V] for ids [B*T]. With a cache, ids are the next T tokens of each sequence
   * (positions cache.length..), keys/values are appended, and no gradients are recorded.
   */
  forward(e: Engine<Fb>, ids: Int32Array, B: number, T: number, cache?: KVCache<Fb>): Tensor<Fb> {
    return this.logits(e, this.hidden(e, ids, B, T, cache));
  }

  /**
   * Logits of final hidden states h [N, d] through the output head; with `rows`, only those rows
   * (scoring a few positions costs rows × d × V instead of N × d × V).
   */
  logits(e: Engine<Fb>, h: Tensor<Fb>, rows?: Int32Array): Tensor<Fb> {
    return this.proj(e, rows ? F.embedding(e, h, rows) : h, this.headName());
  }

  /** Final hidden states [B*T, d] (after the last RMSNorm); cache semantics as in forward. */
  hidden(e: Engine<Fb>, ids: Int32Array, B: number, T: number, cache?: KVCache<Fb>): Tensor<Fb> {
    const c = this.config;
    if (ids.length !== B * T) throw new ShapeError(`forward: ${ids.length} ids given for B=${B} T=${T}`);
    const pos0 = cache ? cache.length : 0;
    if (pos0 + T > c.maxSeq) throw new ShapeError(`forward: sequence of ${pos0 + T} tokens exceeds the model's context (max_position_embeddings ${c.maxSeq})`);
    if (cache && cache.batch !== B) throw new ShapeError(`forward: cache batch ${cache.batch} != B ${B}`);
    const p = (n: string) => this.params.get(n);
    const [NH, NKV, HS] = [c.heads, c.kvHeads, c.headDim];
    let h = F.embedding(e, p("model.embed_tokens.weight"), ids);
    for (let l = 0; l < c.layers; l++) {
      const pre = `model.layers.${l}.`;
      const attention = (x: Tensor<Fb>) => {
        const a = F.rmsnorm(e, x, p(pre + "input_layernorm.weight"), c.normEps);
        const q = F.rope(e, F.view(e, this.proj(e, a, pre + "self_attn.q_proj.weight"), [B, T, NH, HS]), this.rope, pos0);
        const k = F.rope(e, F.view(e, this.proj(e, a, pre + "self_attn.k_proj.weight"), [B, T, NKV, HS]), this.rope, pos0);
        const v = F.view(e, this.proj(e, a, pre + "self_attn.v_proj.weight"), [B, T, NKV, HS]);
        const o = cache ? this.cachedAttention(e, q, k, v, cache, l) : F.attention(e, q, k, v);
        return F.add(e, x, this.proj(e, F.view(e, o, [B * T, NH * HS]), pre + "self_attn.o_proj.weight"));
      };
      const mlp = (r: Tensor<Fb>) => {
        const m = F.rmsnorm(e, r, p(pre + "post_attention_layernorm.weight"), c.normEps);
        const g = this.proj(e, m, pre + "mlp.gate_proj.weight");
        const u = this.proj(e, m, pre + "mlp.up_proj.weight");
        return F.add(e, r, this.proj(e, F.swiglu(e, g, u), pre + "mlp.down_proj.weight"));
      };
      // A decoder layer as engine blocks (tensor/engine.ts block()). Without gradients each half
      // (attention, MLP) is a block whose output overwrites h in place and whose scratch is freed as
      // it returns, so a forward holds the larger half's intermediates, not a whole layer's. With
      // gradients the layer is one block: activation checkpointing keeps its input and recomputes
      // it in backward (one sub-tape per layer, so gradients stay bit-identical).
      if (e.gradEnabled) h = e.block(h, (x) => mlp(attention(x)));
      else h = e.block(e.block(h, attention, true), mlp, true);
    }
    if (cache) cache.length += T;
    return F.rmsnorm(e, h, p("model.norm.weight"), c.normEps);
  }

  private cachedAttention(e: Engine<Fb>, q: Tensor<Fb>, k: Tensor<Fb>, v: Tensor<Fb>, cache: KVCache<Fb>, layer: number): Tensor<Fb> {
    const [B, T, NH, HS] = q.shape;
    const NKV = k.shape[2];
    const row = NKV * HS;
    const Tk = cache.length + T;
    const out = e.empty(q.shape);
    for (let b = 0; b < B; b++) {
      const kc = cache.k[layer].subarray(b * cache.maxT * row, (b + 1) * cache.maxT * row) as Fb;
      const vc = cache.v[layer].subarray(b * cache.maxT * row, (b + 1) * cache.maxT * row) as Fb;
      kc.set(k.data.subarray(b * T * row, (b + 1) * T * row), cache.length * row);
      vc.set(v.data.subarray(b * T * row, (b + 1) * T * row), cache.length * row);
      const lse = e.arena.alloc(NH * T);
      const qs = q.data.subarray(b * T * NH * HS, (b + 1) * T * NH * HS) as Fb;
      const os = out.data.subarray(b * T * NH * HS, (b + 1) * T * NH * HS) as Fb;
      e.be.attentionForward(os, lse, qs, kc.subarray(0, Tk * row) as Fb, vc.subarray(0, Tk * row) as Fb, 1, T, Tk, NH, NKV, HS, 1 / Math.sqrt(HS));
    }
    return out;
  }

  /** Mean next-token loss of a batch: inputs/targets [B*T] (targets < 0 ignored). */
  loss(e: Engine<Fb>, inputs: Int32Array, targets: Int32Array, B: number, T: number) {
    const logits = this.forward(e, inputs, B, T);
    return F.crossEntropy(e, logits, targets);
  }

  dispose(): void {
    this.params.dispose();
    this.be.free(this.rope.cos);
    this.be.free(this.rope.sin);
  }
}
