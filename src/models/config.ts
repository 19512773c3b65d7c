// The Llama/SmolLM2 architecture description shared by models/, io/ (HF config.json) and
// scaling/ (FLOPs). Plain data: no tensors here. See docs/references.md §1.

export interface LlamaConfig {
  /** Vocabulary size V. */
  vocab: number;
  /** Model width d_model (HF hidden_size). */
  d: number;
  /** SwiGLU inner width (HF intermediate_size). */
  ffn: number;
  /** Decoder layers (HF num_hidden_layers). */
  layers: number;
  /** Query heads (HF num_attention_heads). */
  heads: number;
  /** Key/value heads (HF num_key_value_heads); divides heads. */
  kvHeads: number;
  /** Per-head size; d / heads for every Llama in this project. */
  headDim: number;
  /** RoPE base (HF rope_theta). */
  ropeTheta: number;
  /** RMSNorm epsilon (HF rms_norm_eps). */
  normEps: number;
  /** Output head shares the embedding matrix (HF tie_word_embeddings). */
  tied: boolean;
  /** Longest context the model is configured for (HF max_position_embeddings). */
  maxSeq: number;
  /** Std of the normal init of weight matrices (HF initializer_range). */
  initStd: number;
  bosTokenId?: number;
  eosTokenId?: number | number[];
}

/** Parameter tensors in HF order, with shapes [out, in] for linear layers. */
export function parameterShapes(c: LlamaConfig): Array<{ name: string; shape: number[] }> {
  const q = c.heads * c.headDim;
  const kv = c.kvHeads * c.headDim;
  const out: Array<{ name: string; shape: number[] }> = [{ name: "model.embed_tokens.weight", shape: [c.vocab, c.d] }];
  for (let i = 0; i < c.layers; i++) {
    const p = `model.layers.${i}.`;
    out.push(
      { name: p + "input_layernorm.weight", shape: [c.d] },
      { name: p + "self_attn.q_proj.weight", shape: [q, c.d] },
      { name: p + "self_attn.k_proj.weight", shape: [kv, c.d] },
      { name: p + "self_attn.v_proj.weight", shape: [kv, c.d] },
      { name: p + "self_attn.o_proj.weight", shape: [c.d, q] },
      { name: p + "post_attention_layernorm.weight", shape: [c.d] },
      { name: p + "mlp.gate_proj.weight", shape: [c.ffn, c.d] },
      { name: p + "mlp.up_proj.weight", shape: [c.ffn, c.d] },
      { name: p + "mlp.down_proj.weight", shape: [c.d, c.ffn] },
    );
  }
  out.push({ name: "model.norm.weight", shape: [c.d] });
  if (!c.tied) out.push({ name: "lm_head.weight", shape: [c.vocab, c.d] });
  return out;
}

/** Total trainable parameters (tied embeddings counted once). */
export function parameterCount(c: LlamaConfig): number {
  let n = 0;
  for (const p of parameterShapes(c)) n += p.shape.reduce((a, b) => a * b, 1);
  return n;
}
