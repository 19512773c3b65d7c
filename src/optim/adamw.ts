// AdamW over a ParamStore: moments in two buffers with the parameters' layout, one fused kernel
// call per tensor, decoupled weight decay with configurable exclusions, and global-norm clipping
// of the whole gradient buffer in one reduction.
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
  readonly m: F;
  readonly v: F;
  /** Number of updates applied so far (the next update uses step + 1). */
  step = 0;
  private readonly decay: boolean[];

  constructor(private readonly be: Backend<F>, private readonly params: ParamStore<F>, readonly cfg: AdamWConfig) {
    this.m = be.alloc(params.data.length);
    this.v = be.alloc(params.data.length);
    this.decay = params.specs.map((s) => {
      if (s.shape.length < 2) return cfg.decayNorms;
      if (s.name === "model.embed_tokens.weight" || s.name === "lm_head.weight") return cfg.decayEmbeddings;
      return true;
    });
  }

  /** Global L2 norm of all gradients (float64 accumulation, fixed order). */
  gradNorm(): number {
    return Math.sqrt(this.be.sumSquares(this.params.grad, this.params.grad.length));
  }

  /** Scale gradients so their global norm is at most gradClip; returns the norm before clipping. */
  clip(): number {
    const norm = this.gradNorm();
    if (this.cfg.gradClip > 0 && norm > this.cfg.gradClip) {
      this.be.scale(this.params.grad, this.params.grad, this.cfg.gradClip / (norm + 1e-6), this.params.grad.length);
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
      const off = p.offsets[i];
      const n = t.size;
      const sub = (b: F) => b.subarray(off, off + n) as F;
      this.be.adamw(t.data, t.grad!, sub(this.m), sub(this.v), n, lr, beta1, beta2, eps, this.decay[i] ? weightDecay : 0, this.step);
    });
  }

  dispose(): void {
    this.be.free(this.m);
    this.be.free(this.v);
  }
}
