// Parameters live in one backend buffer and their gradients in another (as in llm.c): each
// named tensor is a view. One buffer makes clipping a single kernel call, checkpoints a
// straight copy and weight averaging a few axpy calls.
import type { Backend, FloatBuf } from "../backend/backend.js";
import { ShapeError, fmtShape } from "../errors.js";
import { layout } from "../tensor/arena.js";
import { Tensor, sizeOf } from "../tensor/tensor.js";

export interface ParamSpec {
  name: string;
  shape: number[];
}

export class ParamStore<F extends FloatBuf = FloatBuf> {
  /** All parameter values, back to back (aligned). */
  readonly data: F;
  /** All gradients, same layout. */
  readonly grad: F;
  readonly tensors: Map<string, Tensor<F>> = new Map();
  readonly specs: ParamSpec[];
  readonly offsets: number[];

  constructor(readonly be: Backend<F>, specs: ParamSpec[], withGrad = true) {
    this.specs = specs;
    const { offsets, total } = layout(specs.map((s) => sizeOf(s.shape)));
    this.offsets = offsets;
    this.data = be.alloc(total);
    this.grad = withGrad ? be.alloc(total) : be.alloc(0);
    specs.forEach((s, i) => {
      const n = sizeOf(s.shape);
      const t = new Tensor<F>(s.shape, this.data.subarray(offsets[i], offsets[i] + n) as F, withGrad, s.name);
      if (withGrad) t.grad = this.grad.subarray(offsets[i], offsets[i] + n) as F;
      this.tensors.set(s.name, t);
    });
  }

  get(name: string): Tensor<F> {
    const t = this.tensors.get(name);
    if (!t) throw new ShapeError(`no parameter named "${name}"`);
    return t;
  }

  /** Number of scalar parameters (without alignment padding). */
  count(): number {
    return this.specs.reduce((s, p) => s + sizeOf(p.shape), 0);
  }

  /** Copy values into a parameter, checking the element count. */
  set(name: string, values: ArrayLike<number>, shape?: readonly number[]): void {
    const t = this.get(name);
    if (values.length !== t.size || (shape && (shape.length !== t.shape.length || shape.some((d, i) => d !== t.shape[i])))) {
      throw new ShapeError(`parameter ${name}: expected shape ${fmtShape(t.shape)}, got ${shape ? fmtShape(shape) : `${values.length} values`}`);
    }
    t.data.set(values);
  }

  zeroGrad(): void {
    this.be.fill(this.grad, 0, this.grad.length);
  }

  /** Copy all values from another store of the same layout (e.g. weight averages). */
  copyFrom(other: ParamStore<F>): void {
    this.data.set(other.data);
  }

  dispose(): void {
    this.be.free(this.data);
    this.be.free(this.grad);
  }
}
