// Refusing non-finite numbers: model weights once at load, and model outputs (logits, losses)
// where score, eval and generate read them. Each check is one pass of the backend's
// countNonFinite kernel (SIMD and threaded in the native addon); the per-tensor search that
// names the culprit runs only once something is wrong.
import type { Backend, FloatBuf } from "../backend/backend.js";
import { CheckpointError, NonFiniteError } from "../errors.js";
import type { ParamStore } from "../nn/params.js";

/** Whether every one of the first n elements of buf is finite (one backend pass). */
export function allFinite<F extends FloatBuf>(be: Backend<F>, buf: F, n = buf.length): boolean {
  return be.countNonFinite(buf, n) === 0;
}

/** Count and first index of the non-finite elements of x (the slow path, for messages). */
function nonFiniteStats(x: ArrayLike<number>): { count: number; first: number; example: number } {
  let count = 0, first = -1, example = 0;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      if (count++ === 0) (first = i), (example = x[i]);
    }
  }
  return { count, first, example };
}

/**
 * Throw a CheckpointError naming the first tensor with NaN/Inf values. `where` names the model
 * (its directory) in the message.
 */
export function assertFiniteParams<F extends FloatBuf>(params: ParamStore<F>, where: string): void {
  if (params.data.every((chunk) => allFinite(params.be, chunk))) return;
  const bad: string[] = [];
  let first = "";
  for (const [name, t] of params.tensors) {
    if (allFinite(params.be, t.data)) continue;
    const s = nonFiniteStats(t.data);
    if (!first) first = `${name} holds ${s.count} non-finite value(s) (first ${s.example} at index ${s.first})`;
    bad.push(name);
  }
  const more = bad.length > 1 ? `; ${bad.length - 1} more tensor(s) too` : "";
  throw new CheckpointError(`${where}: the model weights are not finite: ${first}${more}`, "this checkpoint is corrupt or diverged; use an earlier checkpoint");
}

/** Throw a NonFiniteError when a model output buffer (logits, losses) holds NaN/Inf. */
export function assertFiniteOutput<F extends FloatBuf>(be: Backend<F>, buf: F, what: string, n = buf.length): void {
  if (allFinite(be, buf, n)) return;
  const s = nonFiniteStats(buf.subarray(0, n));
  throw new NonFiniteError(`the model produced non-finite ${what} (${s.count} value(s), first ${s.example} at index ${s.first})`, "the weights are finite but overflow in the forward pass: the model is likely diverged or corrupt");
}

/** Throw a NonFiniteError when a computed number (a loss, a log-probability) is NaN/Inf. */
export function assertFiniteNumber(x: number, what: string): void {
  if (!Number.isFinite(x)) throw new NonFiniteError(`the model produced a non-finite ${what} (${x})`, "the weights are finite but overflow in the forward pass: the model is likely diverged or corrupt");
}
