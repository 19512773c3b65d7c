// Frozen-embedding features for the classifier head: a local Llama model directory (e.g. a SmolLM2
// checkpoint) encodes the first `maxTokens` tokens of a text; its final hidden states (after the
// last RMSNorm) are mean-pooled into one vector. The model is only read, never trained.
import type { FloatBuf } from "../../backend/backend.js";
import { defaultBackend } from "../../backend/index.js";
import { loadTokenizer } from "../../tokenizer/tokenizer.js";
import type { Tokenizer } from "../../tokenizer/types.js";
import { loadModel } from "../../models/hf.js";
import type { LlamaModel } from "../../models/llama.js";
import { Engine } from "../../tensor/engine.js";

export class Embedder {
  private constructor(
    readonly model: LlamaModel<FloatBuf>,
    readonly tok: Tokenizer,
    readonly maxTokens: number,
  ) {}
  static async load(dir: string, maxTokens: number): Promise<Embedder> {
    const be = defaultBackend().backend as never;
    const model = loadModel(dir, be, { withGrad: false }) as LlamaModel<FloatBuf>;
    const tok = await loadTokenizer(dir);
    return new Embedder(model, tok, Math.min(maxTokens, model.config.maxSeq));
  }
  get dim(): number {
    return this.model.config.d;
  }
  /** Mean-pooled final hidden state of the text's first maxTokens tokens (zeros for an empty text). */
  embed(text: string): Float64Array {
    const ids = this.tok.encode(text).slice(0, this.maxTokens);
    const d = this.dim;
    const out = new Float64Array(d);
    if (ids.length === 0) return out;
    const e = new Engine(this.model.be);
    try {
      e.noGrad(() => {
        const h = this.model.hidden(e, Int32Array.from(ids), 1, ids.length);
        for (let t = 0; t < ids.length; t++) for (let j = 0; j < d; j++) out[j] += h.data[t * d + j];
      });
    } finally {
      e.arena.dispose();
    }
    for (let j = 0; j < d; j++) out[j] /= ids.length;
    return out;
  }
  dispose(): void {
    this.model.params.dispose();
  }
}

/** Ridge regression y ≈ X w + b in closed form (Cholesky of XᵀX + λI on centred data). */
export function ridge(X: Float64Array[], y: number[], lambda: number): { w: Float64Array; b: number } {
  const n = X.length;
  const d = X[0]?.length ?? 0;
  const mx = new Float64Array(d);
  for (const x of X) for (let j = 0; j < d; j++) mx[j] += x[j] / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  const A = new Float64Array(d * d);
  const r = new Float64Array(d);
  const c = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) c[j] = X[i][j] - mx[j];
    const yi = y[i] - my;
    for (let j = 0; j < d; j++) {
      r[j] += c[j] * yi;
      const cj = c[j];
      for (let k = 0; k <= j; k++) A[j * d + k] += cj * c[k];
    }
  }
  for (let j = 0; j < d; j++) {
    A[j * d + j] += lambda * n;
    for (let k = 0; k < j; k++) A[k * d + j] = A[j * d + k];
  }
  // Cholesky A = L Lᵀ, then two triangular solves.
  const L = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    let s = A[j * d + j];
    for (let k = 0; k < j; k++) s -= L[j * d + k] * L[j * d + k];
    const ljj = Math.sqrt(Math.max(s, 1e-12));
    L[j * d + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      let t = A[i * d + j];
      for (let k = 0; k < j; k++) t -= L[i * d + k] * L[j * d + k];
      L[i * d + j] = t / ljj;
    }
  }
  const z = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = r[i];
    for (let k = 0; k < i; k++) s -= L[i * d + k] * z[k];
    z[i] = s / L[i * d + i];
  }
  const w = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = z[i];
    for (let k = i + 1; k < d; k++) s -= L[k * d + i] * w[k];
    w[i] = s / L[i * d + i];
  }
  let b = my;
  for (let j = 0; j < d; j++) b -= w[j] * mx[j];
  return { w, b };
}
