// AdamW over a ParamStore: moments in buffers with the parameters' layout, one fused kernel
// call per tensor, decoupled weight decay with configurable exclusions, and global-norm clipping
// with one reduction per gradient chunk.
import type { Backend, FloatBuf } from "../backend/backend.js";
import type { ParamStore } from "../nn/params.js";

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Decay 1-D tensors (norm weights)? Default false. */
  decayNorms: boolean;
  /** Decay the embedding (and tied head)? Default true, as nanoGPT and the fixtures do. */
  decayEmbeddings: boolean;
  /** Clip the global gradient norm to this value (0 = off). */
  gradClip: number;
}

export const ADAMW_DEFAULTS: AdamWConfig = {
  beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01, decayNorms: false, decayEmbeddings: true, gradClip: 1.0,
};

export class AdamW<F extends FloatBuf = FloatBuf> {
  /** First and second moments, laid out like the parameters (one buffer per chunk). */
  readonly m: F[];
  readonly v: F[];
  /** Number of updates applied so far (the next update uses step + 1). */
  step = 0;
  private readonly decay: boolean[];

  constructor(private readonly be: Backend<F>, private readonly params: ParamStore<F>, readonly cfg: AdamWConfig) {
    this.m = params.allocLike();
    this.v = params.allocLike();
    this.decay = params.specs.map((s) => {
      if (s.shape.length < 2) return cfg.decayNorms;
      if (s.name === "model.embed_tokens.weight" || s.name === "lm_head.weight") return cfg.decayEmbeddings;
      return true;
    });
  }

  /** Global L2 norm of all gradients (float64 accumulation, fixed order). */
  gradNorm(): number {
    let ss = 0;
    for (const g of this.params.grad) ss += this.be.sumSquares(g, g.length);
    return Math.sqrt(ss);
  }

  /** Scale gradients so their global norm is at most gradClip; returns the norm before clipping. */
  clip(): number {
    const norm = this.gradNorm();
    if (this.cfg.gradClip > 0 && norm > this.cfg.gradClip) {
      for (const g of this.params.grad) this.be.scale(g, g, this.cfg.gradClip / (norm + 1e-6), g.length);
    }
    return norm;
  }

  /** One AdamW update at learning rate lr. */
  update(lr: number): void {
    this.step++;
    const { beta1, beta2, eps, weightDecay } = this.cfg;
    const p = this.params;
    p.specs.forEach((s, i) => {
      const t = p.tensors.get(s.name)!;
      this.be.adamw(t.data, t.grad!, p.view(this.m, i), p.view(this.v, i), t.size, lr, beta1, beta2, eps, this.decay[i] ? weightDecay : 0, this.step);
    });
  }

  /** Moments as named buffers for checkpoints: m.0, v.0, m.1, … */
  buffers(): Record<string, F> {
    const out: Record<string, F> = {};
    this.m.forEach((b, k) => (out[`m.${k}`] = b));
    this.v.forEach((b, k) => (out[`v.${k}`] = b));
    return out;
  }

  dispose(): void {
    for (const b of [...this.m, ...this.v]) this.be.free(b);
  }
}
