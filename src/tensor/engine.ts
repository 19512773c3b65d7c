// The autograd engine: a reverse-mode tape over coarse ops (ops.ts), a no-grad switch, and the
// per-step activation arena. One Engine per training or inference loop; call reset() between
// steps so activation memory is reused rather than reallocated. Its precision picks the matmul
// kernels of linear layers and the attention kernels (ops.ts); everything else, weights and
// gradients included, is fp32.
// block() runs a shape-preserving block (a decoder layer) so that its intermediates do not outlive
// it: without gradients they are released at once; with `checkpointing` they are recomputed in
// backward (activation checkpointing) instead of kept.
import type { Backend, FloatBuf } from "../backend/backend.js";
import { Arena } from "./arena.js";
import { Tensor, sizeOf } from "./tensor.js";

/**
 * Compute precision of linear layers and attention. "bf16": forward and both backward GEMMs round
 * their inputs to bfloat16 and accumulate in fp32 (Backend.matmulBf16), like PyTorch autocast, and
 * attention's products do the same (Backend.attentionForwardBf16 / attentionBackwardBf16, fp32
 * softmax); master weights, gradients, optimizer state and every other op stay fp32.
 */
export const PRECISIONS = ["fp32", "bf16"] as const;
export type Precision = (typeof PRECISIONS)[number];

export interface EngineOptions {
  /** Default "fp32". */
  precision?: Precision;
  /** Recompute each block()'s intermediates in backward instead of keeping them (default false). */
  checkpointing?: boolean;
}

interface TapeEntry {
  out: Tensor<FloatBuf>;
  backward: () => void;
}

export class Engine<F extends FloatBuf = FloatBuf> {
  readonly arena: Arena<F>;
  private tape: TapeEntry[] = [];
  private gradDepth = 0;
  readonly precision: Precision;
  readonly checkpointing: boolean;

  constructor(readonly be: Backend<F>, arenaElements?: number, opts: EngineOptions = {}) {
    this.arena = new Arena(be, arenaElements);
    this.precision = opts.precision ?? "fp32";
    this.checkpointing = opts.checkpointing ?? false;
  }

  /** True when ops record themselves for backward. */
  get gradEnabled(): boolean {
    return this.gradDepth === 0;
  }

  /** Run fn without recording (inference, evaluation, weight averaging). */
  noGrad<T>(fn: () => T): T {
    this.gradDepth++;
    try {
      return fn();
    } finally {
      this.gradDepth--;
    }
  }

  /** A new activation tensor in the arena (contents undefined unless zero). */
  empty(shape: readonly number[], requiresGrad = false, zero = false): Tensor<F> {
    return new Tensor(shape, this.arena.alloc(sizeOf(shape), zero), requiresGrad);
  }

  /** A tensor holding a copy of values (e.g. inputs built in JS). */
  fromArray(shape: readonly number[], values: ArrayLike<number>): Tensor<F> {
    const t = this.empty(shape);
    t.data.set(values);
    return t;
  }

  /** Whether an op with these inputs should produce a gradient-tracking output. */
  tracks(...inputs: Array<Tensor<F> | null | undefined>): boolean {
    return this.gradEnabled && inputs.some((t) => t?.requiresGrad);
  }

  /** Record an op's backward closure (called by ops only when tracks(...) was true). */
  record(out: Tensor<F>, backward: () => void): void {
    this.tape.push({ out, backward });
  }

  /** The gradient buffer of t, allocated zeroed in the arena on first use. */
  gradOf(t: Tensor<F>): F {
    if (!t.grad) t.grad = this.arena.alloc(t.size, true);
    return t.grad;
  }

  /**
   * Backpropagate from a scalar loss: seeds d(loss) = seed (e.g. 1/gradient-accumulation steps),
   * runs the tape in reverse, accumulating into parameter gradients, then clears the tape.
   */
  backward(loss: Tensor<F>, seed = 1): void {
    if (loss.size !== 1) throw new Error(`backward: loss must be a scalar, got ${loss}`);
    this.gradOf(loss)[0] += seed;
    for (let i = this.tape.length - 1; i >= 0; i--) {
      const e = this.tape[i];
      if (e.out.grad) e.backward();
    }
    this.tape = [];
  }

  /**
   * y = fn(x) for a block whose output has x's shape (a decoder layer), keeping only y:
   * - without gradients, fn's intermediates are released as soon as y is copied out, so a forward
   *   pass holds one block's intermediates at a time; with `overwrite`, y is copied over x's own
   *   buffer (x must be the caller's scratch) and x is returned, so L blocks need no L outputs;
   * - with gradients and `checkpointing`, fn runs without recording, and its backward re-runs fn on
   *   the saved x with recording on, then backpropagates y's gradient through that sub-tape. The
   *   recomputation calls the same kernels on the same inputs in the same order, so values and
   *   gradients are bit-identical to the uncheckpointed run;
   * - otherwise fn simply runs on the tape.
   */
  block(x: Tensor<F>, fn: (x: Tensor<F>) => Tensor<F>, overwrite = false): Tensor<F> {
    const grad = this.gradEnabled;
    if (grad && !this.checkpointing) return fn(x);
    const out = !grad && overwrite ? x : this.empty(x.shape, grad);
    const m = this.arena.mark();
    const y = grad ? this.noGrad(() => fn(x)) : fn(x);
    if (y.size !== x.size) throw new Error(`block: output ${y} must have the input's shape ${x}`);
    out.data.set(y.data);
    this.arena.release(m);
    if (grad) {
      this.record(out, () => {
        const dx = this.gradOf(x); // before the mark: it outlives the recomputation
        const m2 = this.arena.mark();
        const outer = this.tape;
        this.tape = [];
        try {
          const xin = new Tensor<F>(x.shape, x.data, true);
          xin.grad = dx;
          const y2 = fn(xin);
          if (y2.grad) throw new Error("block: the block's output already has a gradient");
          y2.grad = out.grad;
          for (let i = this.tape.length - 1; i >= 0; i--) {
            const e = this.tape[i];
            if (e.out.grad) e.backward();
          }
        } finally {
          this.tape = outer;
          this.arena.release(m2);
        }
      });
    }
    return out;
  }

  /** Drop the tape and recycle activation memory. Tensors from this step become invalid. */
  reset(): void {
    this.tape = [];
    this.arena.reset();
  }

  tapeLength(): number {
    return this.tape.length;
  }
}
