// Index of the largest value (the first one on ties, as torch/numpy argmax; NaN is never chosen
// over a number): shared by greedy decoding (models/) and the evaluation metrics (eval/).

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  let bv = x[0];
  for (let i = 1; i < x.length; i++) {
    const v = x[i];
    if (v > bv) {
      bv = v;
      best = i;
    }
  }
  return best;
}
