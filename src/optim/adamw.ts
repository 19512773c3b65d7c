// AdamW over a ParamStore: moments in buffers with the parameters' layout, one fused kernel
// call per tensor, decoupled weight decay with configurable exclusions, and global-norm clipping
// with one reduction per gradient chunk. Moments are stored in fp32, bf16 or blockwise 8-bit
// (`moments`; formats in backend.ts adamwBf16/adamwInt8 and native/adamw_lowp.inc). Reduced
// moments live in backend buffers (so native memory stays counted) viewed as 16- or 8-bit arrays.
import { ADAMW_INT8_BLOCK, type Backend, type FloatBuf } from "../backend/backend.js";
import type { ParamStore } from "../nn/params.js";

/** How AdamW stores its two moments: bytes per parameter 8, 4, or 2 + 8/256. */
export const MOMENT_DTYPES = ["fp32", "bf16", "int8"] as const;
export type MomentDtype = (typeof MOMENT_DTYPES)[number];

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
  /** Moment storage (default fp32). */
  moments?: MomentDtype;
}

export const ADAMW_DEFAULTS: AdamWConfig = {
  beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01, decayNorms: false, decayEmbeddings: true, gradClip: 1.0,
};

/** A moment buffer of any storage dtype, or an int8 block-scale buffer. */
export type MomentBuf = FloatBuf | Uint16Array | Int8Array | Uint8Array | Float32Array;

export class AdamW<F extends FloatBuf = FloatBuf> {
  /** First and second moments, laid out like the parameters (one buffer per chunk). */
  readonly m: Array<F | Uint16Array | Int8Array>;
  readonly v: Array<F | Uint16Array | Uint8Array>;
  /** int8 only: one fp32 scale per block of 256 elements of each tensor, per chunk. */
  readonly mScale: Float32Array[] = [];
  readonly vScale: Float32Array[] = [];
  readonly moments: MomentDtype;
  /** Number of updates applied so far (the next update uses step + 1). */
  step = 0;
  private readonly decay: boolean[];
  /** Backend buffers behind the reduced views (freed by dispose). */
  private readonly owned: F[] = [];
  /** int8: each tensor's first block index within its chunk's scale buffer. */
  private readonly blockOffset: number[] = [];

  constructor(private readonly be: Backend<F>, private readonly params: ParamStore<F>, readonly cfg: AdamWConfig) {
    this.moments = cfg.moments ?? "fp32";
    const sizes = params.layout.chunkSizes;
    if (this.moments === "fp32") {
      this.m = params.allocLike();
      this.v = params.allocLike();
    } else if (this.moments === "bf16") {
      this.m = sizes.map((n) => new Uint16Array(this.bytes(n * 2), 0, n));
      this.v = sizes.map((n) => new Uint16Array(this.bytes(n * 2), 0, n));
    } else {
      this.m = sizes.map((n) => new Int8Array(this.bytes(n), 0, n));
      this.v = sizes.map((n) => new Uint8Array(this.bytes(n), 0, n));
      const blocks = sizes.map(() => 0);
      params.specs.forEach((_, i) => {
        const k = params.layout.chunk[i];
        this.blockOffset.push(blocks[k]);
        blocks[k] += Math.ceil(params.view(params.data, i).length / ADAMW_INT8_BLOCK);
      });
      for (const b of blocks) {
        this.mScale.push(new Float32Array(this.bytes(b * 4), 0, b));
        this.vScale.push(new Float32Array(this.bytes(b * 4), 0, b));
      }
    }
    this.decay = params.specs.map((s) => {
      if (s.shape.length < 2) return cfg.decayNorms;
      if (s.name === "model.embed_tokens.weight" || s.name === "lm_head.weight") return cfg.decayEmbeddings;
      return true;
    });
  }

  /** A zeroed backend buffer of at least `bytes` bytes, kept for dispose(). */
  private bytes(bytes: number): ArrayBuffer {
    const buf = this.be.alloc(Math.ceil(bytes / this.be.bytesPerElement));
    this.owned.push(buf);
    return buf.buffer as ArrayBuffer;
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
    const { chunk, offset } = p.layout;
    p.specs.forEach((s, i) => {
      const t = p.tensors.get(s.name)!;
      const wd = this.decay[i] ? weightDecay : 0;
      const k = chunk[i], o = offset[i], n = t.size;
      if (this.moments === "fp32") {
        this.be.adamw(t.data, t.grad!, p.view(this.m as F[], i), p.view(this.v as F[], i), n, lr, beta1, beta2, eps, wd, this.step);
      } else if (this.moments === "bf16") {
        const m = (this.m[k] as Uint16Array).subarray(o, o + n), v = (this.v[k] as Uint16Array).subarray(o, o + n);
        this.be.adamwBf16(t.data, t.grad!, m, v, n, lr, beta1, beta2, eps, wd, this.step);
      } else {
        const m = (this.m[k] as Int8Array).subarray(o, o + n), v = (this.v[k] as Uint8Array).subarray(o, o + n);
        const b0 = this.blockOffset[i], nb = Math.ceil(n / ADAMW_INT8_BLOCK);
        this.be.adamwInt8(t.data, t.grad!, m, v, this.mScale[k].subarray(b0, b0 + nb), this.vScale[k].subarray(b0, b0 + nb), n, lr, beta1, beta2, eps, wd, this.step);
      }
    });
  }

  /**
   * Moments as named buffers for checkpoints, in their storage dtype: m.0, v.0, m.1, … (and
   * m_scale.k / v_scale.k for int8). Loading fills these same buffers, so a resume is bit-exact.
   */
  buffers(): Record<string, MomentBuf> {
    const out: Record<string, MomentBuf> = {};
    this.m.forEach((b, k) => (out[`m.${k}`] = b));
    this.v.forEach((b, k) => (out[`v.${k}`] = b));
    this.mScale.forEach((b, k) => (out[`m_scale.${k}`] = b));
    this.vScale.forEach((b, k) => (out[`v_scale.${k}`] = b));
    return out;
  }

  /** Bytes of moment storage (scales included). */
  stateBytes(): number {
    return Object.values(this.buffers()).reduce((s, b) => s + b.byteLength, 0);
  }

  dispose(): void {
    if (this.moments === "fp32") for (const b of [...this.m, ...this.v]) this.be.free(b as F);
    for (const b of this.owned) this.be.free(b);
  }
}
