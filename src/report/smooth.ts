// Smoothing of noisy training curves: an exponential moving average with bias correction (the
// state starts at 0 and is divided by 1 − αⁿ, as Adam and TensorBoard do), so the first points are
// not dragged toward the first loss. No imports: the dashboard serves this compiled file to the
// browser as is, so the static report and the live charts smooth identically.

/** The running state of a bias-corrected EMA: the corrected mean so far and the weight 1 − αⁿ. */
export interface EmaState {
  m: number;
  w: number;
}

/** A fresh EMA state. */
export function emaStart(): EmaState {
  return { m: 0, w: 0 };
}

/**
 * Fold `ys` into the EMA with weight `alpha` ∈ [0, 1) (0: no smoothing) and return the smoothed
 * values, one per input. Non-finite values are passed through as NaN and leave the state unchanged.
 * Pass `state` to continue a curve (e.g. a cooldown branch continuing its parent run); it is updated.
 */
export function emaDebiased(ys: ArrayLike<number>, alpha: number, state: EmaState = emaStart()): number[] {
  const a = Number.isFinite(alpha) ? Math.min(Math.max(alpha, 0), 0.999) : 0;
  const out = new Array<number>(ys.length);
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (!Number.isFinite(y)) {
      out[i] = NaN;
      continue;
    }
    // (a·s + (1−a)·y) / w_n with s = m·w_{n−1}, written as an update of the corrected mean m so
    // that the first point and constant series come out exact.
    state.w = a * state.w + (1 - a);
    state.m += ((1 - a) / state.w) * (y - state.m);
    out[i] = state.m;
  }
  return out;
}

/**
 * A smoothing weight for a curve of `n` points: about `n / 40` points of memory (so a long run is
 * smoothed about as much, relative to its length, as a short one), at most 0.95 and 0 for short curves.
 */
export function autoAlpha(n: number): number {
  const window = n / 40;
  if (!(window > 1)) return 0;
  return Math.min(0.95, 1 - 1 / window);
}
