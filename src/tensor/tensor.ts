// A Tensor is a shape plus a view into backend memory, and optionally a gradient view of the
// same size. Tensors do not own memory: arenas (activations) and parameter stores own it.
import type { FloatBuf } from "../backend/backend.js";
import { fmtShape } from "../errors.js";

export class Tensor<F extends FloatBuf = FloatBuf> {
  /** Gradient buffer, allocated on first use in backward (parameters: preallocated). */
  grad: F | null = null;

  constructor(
    readonly shape: readonly number[],
    public data: F,
    readonly requiresGrad = false,
    readonly name = "",
  ) {}

  get size(): number {
    return sizeOf(this.shape);
  }

  toString(): string {
    return `Tensor${this.name ? ` ${this.name}` : ""}${fmtShape(this.shape)}`;
  }
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}
