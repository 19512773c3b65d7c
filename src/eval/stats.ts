// Aggregates for evaluation metrics: the mean of per-item scores with the sample standard error
// of that mean (lighteval's and lm-evaluation-harness's `stderr`: sqrt(var_{n-1} / n)).

export interface MetricValue {
  value: number;
  /** Standard error of the mean (undefined when not meaningful, e.g. corpus perplexity). */
  stderr?: number;
}

/** Mean of xs (NaN for an empty list). */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample standard error of the mean: sqrt(sum((x - mean)^2) / (n - 1) / n); 0 for n < 2. */
export function stderrOfMean(xs: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const m = mean(xs);
  let ss = 0;
  for (const x of xs) ss += (x - m) * (x - m);
  return Math.sqrt(ss / (n - 1) / n);
}

/** Mean and standard error of per-item scores. */
export function meanWithStderr(xs: readonly number[]): MetricValue {
  return { value: mean(xs), stderr: stderrOfMean(xs) };
}

export { argmax } from "../util/argmax.js";
