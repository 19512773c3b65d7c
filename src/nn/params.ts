// Parameters live in a few large backend buffers and their gradients in buffers of the same
// layout (as in llm.c): each named tensor is a view. Buffers are cut at MAX_CHUNK elements (V8
// cannot hold one external buffer past 4 GiB), so SmolLM2-1.7B is 7 chunks and small models one.
// Clipping, optimizer moments and weight averages work chunk by chunk over the same layout.
import type { Backend, FloatBuf } from "../backend/backend.js";
import { ShapeError, fmtShape } from "../errors.js";
import { Tensor, sizeOf } from "../tensor/tensor.js";

export interface ParamSpec {
  name: string;
  shape: number[];
}

const ALIGN = 16;
/** Elements per chunk: 2^28 floats = 1 GiB. */
export const MAX_CHUNK = 1 << 28;

/** Where each tensor lives: chunk index and offset, plus each chunk's length. */
export interface ParamLayout {
  chunk: number[];
  offset: number[];
  chunkSizes: number[];
}

export function planLayout(sizes: number[], maxChunk = MAX_CHUNK): ParamLayout {
  const chunk: number[] = [];
  const offset: number[] = [];
  const chunkSizes: number[] = [0];
  for (const n of sizes) {
    const padded = Math.ceil(n / ALIGN) * ALIGN;
    let k = chunkSizes.length - 1;
    if (chunkSizes[k] > 0 && chunkSizes[k] + padded > maxChunk) chunkSizes.push(0), k++;
    chunk.push(k);
    offset.push(chunkSizes[k]);
    chunkSizes[k] += padded;
  }
  return { chunk, offset, chunkSizes };
}

export class ParamStore<F extends FloatBuf = FloatBuf> {
  /** Parameter values, chunk by chunk. */
  readonly data: F[];
  /** Gradients, same layout (empty chunks when created without gradients). */
  readonly grad: F[];
  readonly tensors: Map<string, Tensor<F>> = new Map();
  readonly layout: ParamLayout;

  constructor(readonly be: Backend<F>, readonly specs: ParamSpec[], withGrad = true) {
    this.layout = planLayout(specs.map((s) => sizeOf(s.shape)));
    this.data = this.allocLike();
    this.grad = withGrad ? this.allocLike() : [];
    specs.forEach((s, i) => {
      const t = new Tensor<F>(s.shape, this.view(this.data, i), withGrad, s.name);
      if (withGrad) t.grad = this.view(this.grad, i);
      this.tensors.set(s.name, t);
    });
  }

  /** New zeroed buffers with this store's chunk sizes (optimizer moments, averages). */
  allocLike(): F[] {
    return this.layout.chunkSizes.map((n) => this.be.alloc(n));
  }

  /** Tensor i's view into buffers laid out like this store. */
  view(bufs: F[], i: number): F {
    const off = this.layout.offset[i];
    return bufs[this.layout.chunk[i]].subarray(off, off + sizeOf(this.specs[i].shape)) as F;
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
    for (const g of this.grad) this.be.fill(g, 0, g.length);
  }

  /** Copy all values from buffers of the same layout (another store, averages). */
  copyFrom(src: ParamStore<F> | F[]): void {
    const bufs = Array.isArray(src) ? src : src.data;
    this.data.forEach((d, k) => d.set(bufs[k]));
  }

  dispose(): void {
    for (const b of [...this.data, ...this.grad]) this.be.free(b);
  }
}
