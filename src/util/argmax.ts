// Index of the largest value (the first one on ties, as torch/numpy argmax): shared by greedy
// decoding (models/) and the evaluation metrics (eval/). NaN compares false, so a NaN is chosen
// only at index 0 (torch/numpy would return the NaN's index): callers check logits are finite.

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
