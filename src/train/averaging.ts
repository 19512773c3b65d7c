// Weight averaging along the trajectory (Hägele et al. §4): SWA in fixed windows (a snapshot
// every `interval` steps, the window's mean saved when it closes, so longer horizons can be
// formed later by averaging window means) and an EMA. Both read the weights after an update
// and never write to them, so training is undisturbed.
import type { Backend, FloatBuf } from "../backend/backend.js";

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
  readonly swaSum: F | null;
  /** Mean of the last closed window. */
  readonly swaLast: F | null;
  readonly ema: F | null;
  state: AveragingState = { swa_count: 0, swa_window_start: 0, last_window_end: -1, ema_initialized: false };

  constructor(private readonly be: Backend<F>, private readonly n: number, readonly cfg: AveragingConfig) {
    this.swaSum = cfg.swa_window > 0 ? be.alloc(n) : null;
    this.swaLast = cfg.swa_window > 0 ? be.alloc(n) : null;
    this.ema = cfg.ema_decay > 0 ? be.alloc(n) : null;
  }

  get enabled(): boolean {
    return this.swaSum !== null || this.ema !== null;
  }

  /**
   * Observe the weights after update number `step` (1-based). Returns the step at which an SWA
   * window closed (so the caller can save swaLast), or undefined.
   */
  observe(step: number, w: F): number | undefined {
    const { be, n, cfg } = this;
    if (this.ema && step % cfg.ema_interval === 0) {
      if (!this.state.ema_initialized) {
        this.ema.set(w);
        this.state.ema_initialized = true;
      } else {
        be.scale(this.ema, this.ema, cfg.ema_decay, n);
        be.axpy(this.ema, w, 1 - cfg.ema_decay, n);
      }
    }
    if (this.swaSum && this.swaLast) {
      if (step % cfg.swa_interval === 0) {
        be.axpy(this.swaSum, w, 1, n);
        this.state.swa_count++;
      }
      if (step % cfg.swa_window === 0 && this.state.swa_count > 0) {
        be.scale(this.swaLast, this.swaSum, 1 / this.state.swa_count, n);
        be.fill(this.swaSum, 0, n);
        this.state.swa_count = 0;
        this.state.swa_window_start = step;
        this.state.last_window_end = step;
        return step;
      }
    }
    return undefined;
  }

  /** The current SWA estimate: this window's mean so far, else the last closed window's. */
  swaWeights(into: F): boolean {
    if (!this.swaSum || !this.swaLast) return false;
    if (this.state.swa_count > 0) this.be.scale(into, this.swaSum, 1 / this.state.swa_count, this.n);
    else if (this.state.last_window_end >= 0) into.set(this.swaLast);
    else return false;
    return true;
  }

  /** Buffers to checkpoint (names are stable across versions). */
  buffers(): Record<string, F> {
    const out: Record<string, F> = {};
    if (this.swaSum) out.swa_sum = this.swaSum;
    if (this.swaLast) out.swa_last = this.swaLast;
    if (this.ema) out.ema = this.ema;
    return out;
  }

  dispose(): void {
    for (const b of [this.swaSum, this.swaLast, this.ema]) if (b) this.be.free(b);
  }
}
