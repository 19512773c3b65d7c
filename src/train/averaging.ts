// Weight averaging along the trajectory (Hägele et al. §4): SWA in fixed windows (a snapshot
// every `interval` steps, the window's mean saved when it closes, so longer horizons can be
// formed later by averaging window means) and an EMA. Both read the weights after an update
// and never write to them, so training is undisturbed. Buffers follow the parameters' chunks.
import type { Backend, FloatBuf } from "../backend/backend.js";
import type { ParamStore } from "../nn/params.js";

export interface AveragingConfig {
  swa_window: number;
  swa_interval: number;
  ema_decay: number;
  ema_interval: number;
}

export interface AveragingState {
  swa_count: number;
  swa_window_start: number;
  last_window_end: number;
  ema_initialized: boolean;
}

export class WeightAverager<F extends FloatBuf> {
  /** Sum of this window's snapshots. */
  readonly swaSum: F[] | null;
  /** Mean of the last closed window. */
  readonly swaLast: F[] | null;
  readonly ema: F[] | null;
  state: AveragingState = { swa_count: 0, swa_window_start: 0, last_window_end: -1, ema_initialized: false };
  private readonly be: Backend<F>;

  constructor(params: ParamStore<F>, readonly cfg: AveragingConfig) {
    this.be = params.be;
    this.swaSum = cfg.swa_window > 0 ? params.allocLike() : null;
    this.swaLast = cfg.swa_window > 0 ? params.allocLike() : null;
    this.ema = cfg.ema_decay > 0 ? params.allocLike() : null;
  }

  get enabled(): boolean {
    return this.swaSum !== null || this.ema !== null;
  }

  /**
   * Observe the weights after update number `step` (1-based). Returns the step at which an SWA
   * window closed (so the caller can save swaLast), or undefined.
   */
  observe(step: number, w: F[]): number | undefined {
    const { be, cfg } = this;
    if (this.ema && step % cfg.ema_interval === 0) {
      this.ema.forEach((e, k) => {
        if (!this.state.ema_initialized) e.set(w[k]);
        else {
          be.scale(e, e, cfg.ema_decay, e.length);
          be.axpy(e, w[k], 1 - cfg.ema_decay, e.length);
        }
      });
      this.state.ema_initialized = true;
    }
    if (this.swaSum && this.swaLast) {
      if (step % cfg.swa_interval === 0) {
        this.swaSum.forEach((s, k) => be.axpy(s, w[k], 1, s.length));
        this.state.swa_count++;
      }
      if (step % cfg.swa_window === 0 && this.state.swa_count > 0) {
        this.swaSum.forEach((s, k) => {
          be.scale(this.swaLast![k], s, 1 / this.state.swa_count, s.length);
          be.fill(s, 0, s.length);
        });
        this.state.swa_count = 0;
        this.state.swa_window_start = step;
        this.state.last_window_end = step;
        return step;
      }
    }
    return undefined;
  }

  /** The current SWA estimate: this window's mean so far, else the last closed window's. */
  swaWeights(into: F[]): boolean {
    if (!this.swaSum || !this.swaLast) return false;
    if (this.state.swa_count > 0) this.swaSum.forEach((s, k) => this.be.scale(into[k], s, 1 / this.state.swa_count, s.length));
    else if (this.state.last_window_end >= 0) this.swaLast.forEach((s, k) => into[k].set(s));
    else return false;
    return true;
  }

  /** Buffers to checkpoint: swa_sum.0, swa_last.0, ema.0, … */
  buffers(): Record<string, F> {
    const out: Record<string, F> = {};
    const add = (name: string, bufs: F[] | null) => bufs?.forEach((b, k) => (out[`${name}.${k}`] = b));
    add("swa_sum", this.swaSum);
    add("swa_last", this.swaLast);
    add("ema", this.ema);
    return out;
  }

  dispose(): void {
    for (const b of [...(this.swaSum ?? []), ...(this.swaLast ?? []), ...(this.ema ?? [])]) this.be.free(b);
  }
}
