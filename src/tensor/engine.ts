// The autograd engine: a reverse-mode tape over coarse ops (ops.ts), a no-grad switch, and the
// per-step activation arena. One Engine per training or inference loop; call reset() between
// steps so activation memory is reused rather than reallocated. Its precision picks the matmul
// kernels of linear layers (ops.ts); everything else, weights and gradients included, is fp32.
import type { Backend, FloatBuf } from "../backend/backend.js";
import { Arena } from "./arena.js";
import { Tensor, sizeOf } from "./tensor.js";

/**
 * Compute precision of linear layers. "bf16": forward and both backward GEMMs round their inputs
 * to bfloat16 and accumulate in fp32 (Backend.matmulBf16), like PyTorch autocast; master weights,
 * gradients, optimizer state and every other op stay fp32.
 */
export const PRECISIONS = ["fp32", "bf16"] as const;
export type Precision = (typeof PRECISIONS)[number];

export interface EngineOptions {
  /** Default "fp32". */
  precision?: Precision;
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

  constructor(readonly be: Backend<F>, arenaElements?: number, opts: EngineOptions = {}) {
    this.arena = new Arena(be, arenaElements);
    this.precision = opts.precision ?? "fp32";
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

  /** Drop the tape and recycle activation memory. Tensors from this step become invalid. */
  reset(): void {
    this.tape = [];
    this.arena.reset();
  }

  tapeLength(): number {
    return this.tape.length;
  }
}
