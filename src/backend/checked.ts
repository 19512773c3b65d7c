// The one place where the inputs of the Backend seam are checked: shape integers, buffer
// lengths, id ranges, each failure a ShapeError naming the op and the shapes. A backend built
// on raw kernels (the native addon today, a GPU one later) extends CheckedBackend with its
// `Kernels` and inherits every check, so the kernels below it (C++ included) assume valid input.
// The reference backend is the unchecked oracle; callers in tensor/ validate tensor shapes.
import { BackendError, ShapeError } from "../errors.js";
import { ADAMW_INT8_BLOCK, type Backend, type FloatBuf } from "./backend.js";

/** What a backend implementation provides: every kernel of the seam, unchecked. */
export type Kernels<F extends FloatBuf> = Omit<Backend<F>, "name" | "bytesPerElement">;

const INT32_MAX = 2 ** 31 - 1;

/** Shape integers: non-negative integers (int32 where the kernel takes int). */
export function ints(op: string, dims: Record<string, number>, max = Number.MAX_SAFE_INTEGER): void {
  for (const name in dims) {
    const v = dims[name];
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw new ShapeError(`${op}: ${name} must be a non-negative integer${max === INT32_MAX ? " below 2^31" : ""}, got ${v}`);
    }
  }
}

/** The buffer must hold at least n elements. */
export function need(op: string, name: string, buf: ArrayLike<number>, n: number): void {
  if (buf.length < n) throw new ShapeError(`${op}: ${name} has ${buf.length} elements, needs ${n}`);
}

/** Every id in ids[0..n) must lie in [lo, V) (lo = -1 lets negative targets through). */
function idsInRange(op: string, name: string, ids: Int32Array, n: number, V: number, allowNegative: boolean): void {
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    if (id >= V || (id < 0 && !allowNegative)) {
      throw new ShapeError(`${op}: ${name}[${i}] = ${id} is outside [${allowNegative ? "<0 ignored, " : ""}0, ${V})`);
    }
  }
}

function attnShape(op: string, B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number): void {
  ints(op, { B, Tq, Tk, NH, NKV, HS }, INT32_MAX);
  if (Tk < Tq) throw new ShapeError(`${op}: Tk (${Tk}) must be >= Tq (${Tq})`);
  if (NKV < 1 || NH % NKV !== 0) throw new ShapeError(`${op}: NH (${NH}) must be a positive multiple of NKV (${NKV})`);
}

/** Every Backend method: check the arguments, then call the implementation's kernel. */
export abstract class CheckedBackend<F extends FloatBuf> implements Backend<F> {
  abstract readonly name: string;
  abstract readonly bytesPerElement: number;

  constructor(protected readonly k: Kernels<F>) {}

  alloc(n: number): F {
    ints("alloc", { n });
    return this.k.alloc(n);
  }
  free(buf: F): void {
    this.k.free(buf);
  }
  nativeBytes(): number {
    return this.k.nativeBytes();
  }
  setThreads(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new BackendError(`setThreads: need a positive integer, got ${n}`);
    this.k.setThreads(n);
  }
  getThreads(): number {
    return this.k.getThreads();
  }

  // ---- dense linear algebra ----
  matmul(
    c: F, a: F, b: F, M: number, N: number, K: number,
    transA: boolean, transB: boolean, accumulate: boolean,
    batch: number, strideA: number, strideB: number, strideC: number,
  ): void {
    if (this.matmulCheck("matmul", c, a, b, M, N, K, transA, transB, batch, strideA, strideB, strideC)) {
      this.k.matmul(c, a, b, M, N, K, transA, transB, accumulate, batch, strideA, strideB, strideC);
    }
  }
  matmulBf16(
    c: F, a: F, b: F, M: number, N: number, K: number,
    transA: boolean, transB: boolean, accumulate: boolean,
    batch: number, strideA: number, strideB: number, strideC: number,
  ): void {
    if (this.matmulCheck("matmulBf16", c, a, b, M, N, K, transA, transB, batch, strideA, strideB, strideC)) {
      this.k.matmulBf16(c, a, b, M, N, K, transA, transB, accumulate, batch, strideA, strideB, strideC);
    }
  }

  // ---- elementwise and broadcast ----
  add(out: F, a: F, b: F, n: number): void {
    this.binary("add", out, a, b, n);
    this.k.add(out, a, b, n);
  }
  mul(out: F, a: F, b: F, n: number): void {
    this.binary("mul", out, a, b, n);
    this.k.mul(out, a, b, n);
  }
  axpy(y: F, x: F, alpha: number, n: number): void {
    ints("axpy", { n });
    need("axpy", "y", y, n);
    need("axpy", "x", x, n);
    this.k.axpy(y, x, alpha, n);
  }
  scale(out: F, x: F, s: number, n: number): void {
    ints("scale", { n });
    need("scale", "out", out, n);
    need("scale", "x", x, n);
    this.k.scale(out, x, s, n);
  }
  fill(out: F, value: number, n: number): void {
    ints("fill", { n });
    need("fill", "out", out, n);
    this.k.fill(out, value, n);
  }
  mulRow(out: F, x: F, w: F, N: number, C: number): void {
    this.rowwise("mulRow", out, x, w, N, C);
    this.k.mulRow(out, x, w, N, C);
  }
  addRow(out: F, x: F, b: F, N: number, C: number): void {
    this.rowwise("addRow", out, x, b, N, C);
    this.k.addRow(out, x, b, N, C);
  }
  sumRows(out: F, x: F, N: number, C: number, accumulate: boolean): void {
    ints("sumRows", { N, C });
    need("sumRows", "out", out, C);
    need("sumRows", `x [${N},${C}]`, x, N * C);
    this.k.sumRows(out, x, N, C, accumulate);
  }
  sumCols(out: F, x: F, N: number, C: number): void {
    ints("sumCols", { N, C });
    need("sumCols", "out", out, N);
    need("sumCols", `x [${N},${C}]`, x, N * C);
    this.k.sumCols(out, x, N, C);
  }
  sum(x: F, n: number): number {
    ints("sum", { n });
    need("sum", "x", x, n);
    return this.k.sum(x, n);
  }
  sumSquares(x: F, n: number): number {
    ints("sumSquares", { n });
    need("sumSquares", "x", x, n);
    return this.k.sumSquares(x, n);
  }
  countNonFinite(x: F, n: number): number {
    ints("countNonFinite", { n });
    need("countNonFinite", "x", x, n);
    return this.k.countNonFinite(x, n);
  }

  // ---- Llama building blocks ----
  rmsnormForward(out: F, rstd: F, x: F, w: F, N: number, C: number, eps: number): void {
    const op = "rmsnormForward";
    ints(op, { N, C });
    need(op, `out [${N},${C}]`, out, N * C);
    need(op, `x [${N},${C}]`, x, N * C);
    need(op, "rstd", rstd, N);
    need(op, "w", w, C);
    this.k.rmsnormForward(out, rstd, x, w, N, C, eps);
  }
  rmsnormBackward(dx: F, dw: F, dout: F, x: F, w: F, rstd: F, N: number, C: number): void {
    const op = "rmsnormBackward";
    ints(op, { N, C });
    for (const [name, buf] of [["dx", dx], ["dout", dout], ["x", x]] as const) need(op, `${name} [${N},${C}]`, buf, N * C);
    need(op, "dw", dw, C);
    need(op, "w", w, C);
    need(op, "rstd", rstd, N);
    this.k.rmsnormBackward(dx, dw, dout, x, w, rstd, N, C);
  }
  ropeForward(out: F, x: F, cos: F, sin: F, B: number, T: number, NH: number, HS: number, pos0: number): void {
    this.ropeCheck("ropeForward", out, x, cos, sin, B, T, NH, HS, pos0);
    this.k.ropeForward(out, x, cos, sin, B, T, NH, HS, pos0);
  }
  ropeBackward(dx: F, dout: F, cos: F, sin: F, B: number, T: number, NH: number, HS: number, pos0: number): void {
    this.ropeCheck("ropeBackward", dx, dout, cos, sin, B, T, NH, HS, pos0);
    this.k.ropeBackward(dx, dout, cos, sin, B, T, NH, HS, pos0);
  }
  swigluForward(out: F, gate: F, up: F, n: number): void {
    this.binary("swigluForward", out, gate, up, n);
    this.k.swigluForward(out, gate, up, n);
  }
  swigluBackward(dgate: F, dup: F, dout: F, gate: F, up: F, n: number): void {
    const op = "swigluBackward";
    ints(op, { n });
    for (const [name, buf] of [["dgate", dgate], ["dup", dup], ["dout", dout], ["gate", gate], ["up", up]] as const) {
      need(op, name, buf, n);
    }
    this.k.swigluBackward(dgate, dup, dout, gate, up, n);
  }
  attentionForward(
    out: F, lse: F, q: F, k: F, v: F,
    B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number, scale: number,
  ): void {
    if (this.attentionForwardCheck("attentionForward", out, lse, q, k, v, B, Tq, Tk, NH, NKV, HS)) {
      this.k.attentionForward(out, lse, q, k, v, B, Tq, Tk, NH, NKV, HS, scale);
    }
  }
  attentionForwardBf16(
    out: F, lse: F, q: F, k: F, v: F,
    B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number, scale: number,
  ): void {
    if (this.attentionForwardCheck("attentionForwardBf16", out, lse, q, k, v, B, Tq, Tk, NH, NKV, HS)) {
      this.k.attentionForwardBf16(out, lse, q, k, v, B, Tq, Tk, NH, NKV, HS, scale);
    }
  }
  attentionDecodeRows(out: F, q: F, ks: readonly F[], vs: readonly F[], lens: Int32Array, NH: number, NKV: number, HS: number, scale: number): void {
    const op = "attentionDecodeRows";
    const B = lens.length;
    attnShape(op, B, 1, 1, NH, NKV, HS);
    if (ks.length !== B || vs.length !== B) throw new ShapeError(`${op}: ${ks.length} key and ${vs.length} value buffers for ${B} sequences`);
    need(op, `out [${B},${NH},${HS}]`, out, B * NH * HS);
    need(op, `q [${B},${NH},${HS}]`, q, B * NH * HS);
    for (let b = 0; b < B; b++) {
      const T = lens[b];
      if (T < 1) throw new ShapeError(`${op}: lens[${b}] = ${T}; every sequence needs at least one key`);
      need(op, `ks[${b}] [${T},${NKV},${HS}]`, ks[b], T * NKV * HS);
      need(op, `vs[${b}] [${T},${NKV},${HS}]`, vs[b], T * NKV * HS);
    }
    if (B * NH * HS !== 0) this.k.attentionDecodeRows(out, q, ks, vs, lens, NH, NKV, HS, scale);
  }
  /** Checks attention forward arguments; false when there is nothing to compute. */
  private attentionForwardCheck(
    op: string, out: F, lse: F, q: F, k: F, v: F,
    B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number,
  ): boolean {
    attnShape(op, B, Tq, Tk, NH, NKV, HS);
    const nq = B * Tq * NH * HS, nk = B * Tk * NKV * HS;
    need(op, `out [${B},${Tq},${NH},${HS}]`, out, nq);
    need(op, `q [${B},${Tq},${NH},${HS}]`, q, nq);
    need(op, `k [${B},${Tk},${NKV},${HS}]`, k, nk);
    need(op, `v [${B},${Tk},${NKV},${HS}]`, v, nk);
    need(op, `lse [${B},${NH},${Tq}]`, lse, B * NH * Tq);
    return nq !== 0;
  }
  attentionBackward(
    dq: F, dk: F, dv: F, dout: F, q: F, k: F, v: F, out: F, lse: F,
    B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number, scale: number,
  ): void {
    if (this.attentionBackwardCheck("attentionBackward", dq, dk, dv, dout, q, k, v, out, lse, B, Tq, Tk, NH, NKV, HS)) {
      this.k.attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, B, Tq, Tk, NH, NKV, HS, scale);
    }
  }
  attentionBackwardBf16(
    dq: F, dk: F, dv: F, dout: F, q: F, k: F, v: F, out: F, lse: F,
    B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number, scale: number,
  ): void {
    if (this.attentionBackwardCheck("attentionBackwardBf16", dq, dk, dv, dout, q, k, v, out, lse, B, Tq, Tk, NH, NKV, HS)) {
      this.k.attentionBackwardBf16(dq, dk, dv, dout, q, k, v, out, lse, B, Tq, Tk, NH, NKV, HS, scale);
    }
  }
  /** Checks attention backward arguments; false when there is nothing to compute. */
  private attentionBackwardCheck(
    op: string, dq: F, dk: F, dv: F, dout: F, q: F, k: F, v: F, out: F, lse: F,
    B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number,
  ): boolean {
    attnShape(op, B, Tq, Tk, NH, NKV, HS);
    const nq = B * Tq * NH * HS, nk = B * Tk * NKV * HS;
    for (const [name, buf] of [["dq", dq], ["dout", dout], ["q", q], ["out", out]] as const) {
      need(op, `${name} [${B},${Tq},${NH},${HS}]`, buf, nq);
    }
    for (const [name, buf] of [["dk", dk], ["dv", dv], ["k", k], ["v", v]] as const) {
      need(op, `${name} [${B},${Tk},${NKV},${HS}]`, buf, nk);
    }
    need(op, `lse [${B},${NH},${Tq}]`, lse, B * NH * Tq);
    return nq !== 0;
  }
  embeddingForward(out: F, ids: Int32Array, table: F, N: number, C: number, V: number): void {
    this.embeddingCheck("embeddingForward", out, ids, table, N, C, V);
    this.k.embeddingForward(out, ids, table, N, C, V);
  }
  embeddingBackward(dtable: F, dout: F, ids: Int32Array, N: number, C: number, V: number): void {
    this.embeddingCheck("embeddingBackward", dout, ids, dtable, N, C, V);
    this.k.embeddingBackward(dtable, dout, ids, N, C, V);
  }
  crossEntropyForward(losses: F, lse: F, logits: F, targets: Int32Array, N: number, V: number): void {
    const op = "crossEntropyForward";
    this.ceCheck(op, logits, targets, N, V);
    need(op, "losses", losses, N);
    need(op, "lse", lse, N);
    this.k.crossEntropyForward(losses, lse, logits, targets, N, V);
  }
  crossEntropyBackward(dlogits: F, logits: F, lse: F, targets: Int32Array, dlosses: F, N: number, V: number): void {
    const op = "crossEntropyBackward";
    this.ceCheck(op, logits, targets, N, V);
    need(op, `dlogits [${N},${V}]`, dlogits, N * V);
    need(op, "lse", lse, N);
    need(op, "dlosses", dlosses, N);
    this.k.crossEntropyBackward(dlogits, logits, lse, targets, dlosses, N, V);
  }

  // ---- optimizer ----
  adamw(
    param: F, grad: F, m: F, v: F, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
  ): void {
    const op = "adamw";
    ints(op, { n });
    if (!Number.isInteger(step) || step < 1 || step > INT32_MAX) throw new ShapeError(`${op}: step must be an integer >= 1, got ${step}`);
    for (const [name, buf] of [["param", param], ["grad", grad], ["m", m], ["v", v]] as const) need(op, name, buf, n);
    this.k.adamw(param, grad, m, v, n, lr, beta1, beta2, eps, weightDecay, step);
  }
  adamwBf16(
    param: F, grad: F, m: Uint16Array, v: Uint16Array, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
  ): void {
    const op = "adamwBf16";
    this.adamCheck(op, param, grad, n, step);
    need(op, "m", m, n);
    need(op, "v", v, n);
    this.k.adamwBf16(param, grad, m, v, n, lr, beta1, beta2, eps, weightDecay, step);
  }
  adamwInt8(
    param: F, grad: F, m: Int8Array, v: Uint8Array, mScale: Float32Array, vScale: Float32Array, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
  ): void {
    const op = "adamwInt8";
    this.adamCheck(op, param, grad, n, step);
    need(op, "m", m, n);
    need(op, "v", v, n);
    const blocks = Math.ceil(n / ADAMW_INT8_BLOCK);
    need(op, `mScale (${blocks} blocks of ${ADAMW_INT8_BLOCK})`, mScale, blocks);
    need(op, `vScale (${blocks} blocks of ${ADAMW_INT8_BLOCK})`, vScale, blocks);
    this.k.adamwInt8(param, grad, m, v, mScale, vScale, n, lr, beta1, beta2, eps, weightDecay, step);
  }
  private adamCheck(op: string, param: F, grad: F, n: number, step: number): void {
    ints(op, { n });
    if (!Number.isInteger(step) || step < 1 || step > INT32_MAX) throw new ShapeError(`${op}: step must be an integer >= 1, got ${step}`);
    need(op, "param", param, n);
    need(op, "grad", grad, n);
  }

  // ---- packed no-grad weights ----
  linearBf16(y: F, x: F, w: Uint16Array, M: number, N: number, K: number): void {
    if (this.packedCheck("linearBf16", y, x, w, M, N, K)) this.k.linearBf16(y, x, w, M, N, K);
  }
  linearQ8(y: F, x: F, codes: Int8Array, scales: Float32Array, M: number, N: number, K: number): void {
    const op = "linearQ8";
    if (K % 32 !== 0) throw new ShapeError(`${op}: K must be a multiple of 32 (Q8_0 blocks), got ${K}`);
    if (this.packedCheck(op, y, x, codes, M, N, K)) {
      need(op, `scales [${N},${K / 32}]`, scales, (N * K) / 32);
      this.k.linearQ8(y, x, codes, scales, M, N, K);
    }
  }

  // ---- shared checks ----
  /** Shapes and buffer lengths of a (batched) matmul; false when there is nothing to do. */
  private matmulCheck(
    op: string, c: F, a: F, b: F, M: number, N: number, K: number, transA: boolean, transB: boolean,
    batch: number, strideA: number, strideB: number, strideC: number,
  ): boolean {
    ints(op, { M, N, K }, INT32_MAX);
    ints(op, { batch, strideA, strideB, strideC });
    if (batch === 0) return false;
    need(op, `A (${transA ? `[${K},${M}]` : `[${M},${K}]`} x${batch})`, a, (batch - 1) * strideA + M * K);
    need(op, `B (${transB ? `[${N},${K}]` : `[${K},${N}]`} x${batch})`, b, (batch - 1) * strideB + K * N);
    need(op, `C ([${M},${N}] x${batch})`, c, (batch - 1) * strideC + M * N);
    return true;
  }
  /** Shapes and lengths of a packed-weight product; false when there is nothing to do. */
  private packedCheck(op: string, y: F, x: F, w: ArrayLike<number>, M: number, N: number, K: number): boolean {
    ints(op, { M, N, K }, INT32_MAX);
    if (K < 1 && M * N > 0) throw new ShapeError(`${op}: K must be >= 1, got ${K}`);
    need(op, `y [${M},${N}]`, y, M * N);
    need(op, `x [${M},${K}]`, x, M * K);
    need(op, `W [${N},${K}]`, w, N * K);
    return M * N > 0;
  }
  private binary(op: string, out: F, a: F, b: F, n: number): void {
    ints(op, { n });
    need(op, "out", out, n);
    need(op, "a", a, n);
    need(op, "b", b, n);
  }
  private rowwise(op: string, out: F, x: F, row: F, N: number, C: number): void {
    ints(op, { N, C });
    need(op, `out [${N},${C}]`, out, N * C);
    need(op, `x [${N},${C}]`, x, N * C);
    need(op, "row", row, C);
  }
  private ropeCheck(op: string, out: F, x: F, cos: F, sin: F, B: number, T: number, NH: number, HS: number, pos0: number): void {
    ints(op, { B, T, NH, HS, pos0 }, INT32_MAX);
    if (HS % 2 !== 0) throw new ShapeError(`${op}: HS must be even, got ${HS}`);
    const n = B * T * NH * HS, table = (pos0 + T) * (HS / 2);
    need(op, `out [${B},${T},${NH},${HS}]`, out, n);
    need(op, `x [${B},${T},${NH},${HS}]`, x, n);
    need(op, `cos (positions ${pos0}..${pos0 + T - 1}, HS/2=${HS / 2})`, cos, table);
    need(op, `sin (positions ${pos0}..${pos0 + T - 1}, HS/2=${HS / 2})`, sin, table);
  }
  private embeddingCheck(op: string, rows: F, ids: Int32Array, table: F, N: number, C: number, V: number): void {
    ints(op, { N, C, V });
    need(op, "ids", ids, N);
    need(op, `rows [${N},${C}]`, rows, N * C);
    need(op, `table [${V},${C}]`, table, V * C);
    idsInRange(op, "ids", ids, N, V, false);
  }
  private ceCheck(op: string, logits: F, targets: Int32Array, N: number, V: number): void {
    ints(op, { N, V });
    if (V < 1 && N > 0) throw new ShapeError(`${op}: V must be >= 1, got ${V}`);
    need(op, `logits [${N},${V}]`, logits, N * V);
    need(op, "targets", targets, N);
    idsInRange(op, "targets", targets, N, V, true);
  }
}

