// The fast quality classifier: hashed word unigram + bigram features (signed hashing into 2^bits
// buckets, log1p counts, L2-normalised) and a linear regression head trained on 0–5 scores with
// AdaGrad on squared error plus L2 decay. Deterministic for a seed; scores in microseconds.
import { Rng } from "../../util/rng.js";
import { fmix32, U32Buf, wordHashes } from "../text.js";

export interface SparseVec {
  idx: Int32Array;
  val: Float32Array;
}

/** Hashed n-gram features of a text (n = 1..ngrams). */
export function hashedFeatures(text: string, bits: number, ngrams: number, words = new U32Buf()): SparseVec {
  const n = wordHashes(text, words);
  const mask = (1 << bits) - 1;
  const acc = new Map<number, number>();
  const w = words.data;
  for (let i = 0; i < n; i++) {
    let h = w[i];
    for (let k = 0; k < ngrams && i + k < n; k++) {
      if (k > 0) h = fmix32(Math.imul(h, 0x01000193) ^ w[i + k]);
      const m = fmix32(h ^ (k * 0x9e3779b9));
      const j = m & mask;
      const sign = m & 0x80000000 ? -1 : 1;
      acc.set(j, (acc.get(j) ?? 0) + sign);
    }
  }
  const idx = new Int32Array(acc.size);
  const val = new Float32Array(acc.size);
  let norm = 0;
  let i = 0;
  for (const [j, c] of acc) {
    idx[i] = j;
    const v = Math.sign(c) * Math.log1p(Math.abs(c));
    val[i++] = v;
    norm += v * v;
  }
  norm = Math.sqrt(norm) || 1;
  for (let k = 0; k < val.length; k++) val[k] /= norm;
  return { idx, val };
}

export interface HashedModel {
  bits: number;
  ngrams: number;
  weight: Float32Array;
  bias: number;
}

export function predictHashed(m: HashedModel, x: SparseVec): number {
  let s = m.bias;
  for (let k = 0; k < x.idx.length; k++) s += m.weight[x.idx[k]] * x.val[k];
  return s;
}

export interface HashedTrainOptions {
  bits: number;
  ngrams: number;
  epochs: number;
  lr: number;
  l2: number;
  seed: number;
}

/** Fit the linear head on (features, score) pairs. */
export function trainHashed(xs: SparseVec[], ys: number[], o: HashedTrainOptions): HashedModel {
  const D = 1 << o.bits;
  const weight = new Float32Array(D);
  const g2 = new Float32Array(D);
  let bias = ys.reduce((a, b) => a + b, 0) / Math.max(1, ys.length);
  let bg2 = 0;
  const order = Array.from(xs.keys());
  const rng = new Rng(o.seed);
  const m: HashedModel = { bits: o.bits, ngrams: o.ngrams, weight, bias };
  for (let ep = 0; ep < o.epochs; ep++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const i of order) {
      const x = xs[i];
      m.bias = bias;
      const err = predictHashed(m, x) - ys[i];
      for (let k = 0; k < x.idx.length; k++) {
        const j = x.idx[k];
        const g = err * x.val[k] + o.l2 * weight[j];
        g2[j] += g * g;
        weight[j] -= (o.lr * g) / Math.sqrt(g2[j] + 1e-8);
      }
      bg2 += err * err;
      bias -= (o.lr * err) / Math.sqrt(bg2 + 1e-8);
    }
  }
  m.bias = bias;
  return m;
}
