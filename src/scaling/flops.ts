// FLOPs of a Llama/SmolLM2 model (docs/references.md §7): the detailed per-token count of the forward
// pass (training = 3 × forward) and the simple 6N estimates, labelled by which N they use.
// Plain numbers; multiply-adds count as 2 FLOPs; attention counts the full s×s score matrix
// (no causal halving), as in the Chinchilla appendix that docs/references.md §7 follows.
//
// GQA: the attention term 2·3·s·d·(hd·h) of docs/references.md §7 assumes multi-head attention
// (k and v as wide as q). This file counts the projections exactly for grouped-query attention: q 2·s·d·(h·hd),
// k and v 2·s·d·(kv·hd) each, o 2·s·(h·hd)·d. For MHA (kv = h, e.g. SmolLM2-1.7B) both agree.
import { ConfigError } from "../errors.js";
import { parameterCount, type LlamaConfig } from "../models/config.js";

/** Forward FLOPs per token by part, at sequence length `seq`. */
export interface FlopsBreakdown {
  /** 2·V·d (the one-hot matmul view of the lookup; kept because docs/references.md §7 counts it). */
  embedding: number;
  /** q, k, v and o projections over all layers. */
  attentionProjections: number;
  /** QKᵀ, softmax (3·h·s per token) and attention·V over all layers: grows with s. */
  attentionScores: number;
  /** SwiGLU gate, up and down over all layers: 2·3·d·ffn per layer. */
  mlp: number;
  /** Output head 2·d·V (computed whether or not the embedding is tied). */
  logits: number;
}

export interface FlopsPerToken {
  seq: number;
  /** Total trainable parameters (tied embeddings once). */
  params: number;
  /** Parameters without the input embedding matrix V·d (an untied lm_head stays counted). */
  nonEmbeddingParams: number;
  /** Detailed forward FLOPs per token. */
  forward: number;
  /** Detailed training FLOPs per token: 3 × forward (backward ≈ 2 × forward). */
  train: number;
  breakdown: FlopsBreakdown;
  /** 6·N with N = all parameters. */
  sixN: number;
  /** 6·N with N = non-embedding parameters (Kaplan et al.). */
  sixNNonEmbedding: number;
  /** 6·N_non-embedding + 6·L·s·d: the simple estimate with attention (docs/references.md §7). */
  sixNPlusAttention: number;
}

/** Per-token FLOPs of `cfg` trained or run at sequence length `seq`. */
export function flopsPerToken(cfg: LlamaConfig, seq: number): FlopsPerToken {
  if (!Number.isInteger(seq) || seq < 1) throw new ConfigError(`flopsPerToken: seq must be an integer >= 1, got ${seq}`);
  const { vocab: V, d, ffn, layers: L, heads: h, kvHeads: kv, headDim: hd } = cfg;
  const s = seq;
  const qw = h * hd;
  const kvw = kv * hd;
  // Per sequence, then divided by s.
  const embedding = 2 * s * V * d;
  const proj = 2 * s * d * qw + 2 * 2 * s * d * kvw + 2 * s * qw * d;
  const scores = 2 * s * s * qw + 3 * h * s * s + 2 * s * s * qw;
  const mlp = 2 * s * 3 * d * ffn;
  const logits = 2 * s * d * V;
  const breakdown: FlopsBreakdown = {
    embedding: embedding / s,
    attentionProjections: (L * proj) / s,
    attentionScores: (L * scores) / s,
    mlp: (L * mlp) / s,
    logits: logits / s,
  };
  const forward = breakdown.embedding + breakdown.attentionProjections + breakdown.attentionScores + breakdown.mlp + breakdown.logits;
  const params = parameterCount(cfg);
  const nonEmbeddingParams = params - V * d;
  return {
    seq,
    params,
    nonEmbeddingParams,
    forward,
    train: 3 * forward,
    breakdown,
    sixN: 6 * params,
    sixNNonEmbedding: 6 * nonEmbeddingParams,
    sixNPlusAttention: 6 * nonEmbeddingParams + 6 * L * s * d,
  };
}

export interface RunFlops {
  seq: number;
  tokens: number;
  /** Detailed forward FLOPs over all tokens. */
  forward: number;
  /** Detailed training FLOPs (3 × forward) over all tokens. */
  train: number;
  sixN: number;
  sixNNonEmbedding: number;
  sixNPlusAttention: number;
}

/** FLOPs of training `cfg` on `tokens` tokens at sequence length `seq`. */
export function runFlops(cfg: LlamaConfig, seq: number, tokens: number): RunFlops {
  if (!(tokens >= 0) || !Number.isFinite(tokens)) throw new ConfigError(`runFlops: tokens must be a finite number >= 0, got ${tokens}`);
  const p = flopsPerToken(cfg, seq);
  return {
    seq,
    tokens,
    forward: p.forward * tokens,
    train: p.train * tokens,
    sixN: p.sixN * tokens,
    sixNNonEmbedding: p.sixNNonEmbedding * tokens,
    sixNPlusAttention: p.sixNPlusAttention * tokens,
  };
}
