// The native backend: the C++ addon (build/Release/smollab.node) behind the Backend interface.
// Every call checks shapes and buffer lengths first and throws ShapeError naming the op, so
// nothing reaches C++ unchecked; the addon itself only checks argument types. Kernel semantics
// are those documented in backend.ts; the addon picks its instruction set at load (`isa`).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { BackendError, ShapeError } from "../errors.js";
import { packageRoot } from "../util/paths.js";
import type { Backend } from "./backend.js";

type F = Float32Array;

/** The addon's exports (native/addon.cc); argument order as in backend.ts. */
interface Addon {
  isa(): string;
  availableIsas(): string[];
  setThreads(n: number): void;
  getThreads(): number;
  alloc(n: number): F;
  free(buf: F): void;
  nativeBytes(): number;
  matmul(c: F, a: F, b: F, M: number, N: number, K: number, transA: boolean, transB: boolean,
    accumulate: boolean, batch: number, strideA: number, strideB: number, strideC: number): void;
  matmulBf16(c: F, a: F, b: F, M: number, N: number, K: number, transA: boolean, transB: boolean,
    accumulate: boolean, batch: number, strideA: number, strideB: number, strideC: number): void;
  add(out: F, a: F, b: F, n: number): void;
  mul(out: F, a: F, b: F, n: number): void;
  axpy(y: F, x: F, alpha: number, n: number): void;
  scale(out: F, x: F, s: number, n: number): void;
  fill(out: F, value: number, n: number): void;
  mulRow(out: F, x: F, w: F, N: number, C: number): void;
  addRow(out: F, x: F, b: F, N: number, C: number): void;
  sumRows(out: F, x: F, N: number, C: number, accumulate: boolean): void;
  sumCols(out: F, x: F, N: number, C: number): void;
  sum(x: F, n: number): number;
  sumSquares(x: F, n: number): number;
  rmsnormForward(out: F, rstd: F, x: F, w: F, N: number, C: number, eps: number): void;
  rmsnormBackward(dx: F, dw: F, dout: F, x: F, w: F, rstd: F, N: number, C: number): void;
  ropeForward(out: F, x: F, cos: F, sin: F, B: number, T: number, NH: number, HS: number, pos0: number): void;
  ropeBackward(dx: F, dout: F, cos: F, sin: F, B: number, T: number, NH: number, HS: number, pos0: number): void;
  swigluForward(out: F, gate: F, up: F, n: number): void;
  swigluBackward(dgate: F, dup: F, dout: F, gate: F, up: F, n: number): void;
  attentionForward(out: F, lse: F, q: F, k: F, v: F, B: number, Tq: number, Tk: number, NH: number,
    NKV: number, HS: number, scale: number): void;
  attentionBackward(dq: F, dk: F, dv: F, dout: F, q: F, k: F, v: F, out: F, lse: F, B: number, Tq: number,
    Tk: number, NH: number, NKV: number, HS: number, scale: number): void;
  embeddingForward(out: F, ids: Int32Array, table: F, N: number, C: number, V: number): void;
  embeddingBackward(dtable: F, dout: F, ids: Int32Array, N: number, C: number, V: number): void;
  crossEntropyForward(losses: F, lse: F, logits: F, targets: Int32Array, N: number, V: number): void;
  crossEntropyBackward(dlogits: F, logits: F, lse: F, targets: Int32Array, dlosses: F, N: number, V: number): void;
  adamw(param: F, grad: F, m: F, v: F, n: number, lr: number, beta1: number, beta2: number, eps: number,
    weightDecay: number, step: number): void;
  minhashBands(keys: Uint32Array, ok: Uint8Array, shingles: Int32Array, offsets: Int32Array, xor: Int32Array,
    mul: Int32Array, nDocs: number, bands: number, rows: number): void;
}

const INT32_MAX = 2 ** 31 - 1;

/** Shape integers: non-negative integers (int32 where the kernel takes int). */
function ints(op: string, dims: Record<string, number>, max = Number.MAX_SAFE_INTEGER): void {
  for (const name in dims) {
    const v = dims[name];
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw new ShapeError(`${op}: ${name} must be a non-negative integer${max === INT32_MAX ? " below 2^31" : ""}, got ${v}`);
    }
  }
}

/** The buffer must hold at least n elements. */
function need(op: string, name: string, buf: ArrayLike<number>, n: number): void {
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

/** The most float32 elements one native buffer may hold (4 GiB less a cache line). */
export const MAX_ALLOC_ELEMENTS = 2 ** 30 - 16;

export class NativeBackend implements Backend<Float32Array> {
  readonly name = "native";
  readonly bytesPerElement = 4;
  /** The instruction set the addon chose: "avx512", "avx2" or "generic". */
  readonly isa: string;

  constructor(private readonly m: Addon) {
    this.isa = m.isa();
  }

  /** Instruction sets this CPU supports (SMOL_ISA may force any of them before loading). */
  availableIsas(): string[] {
    return this.m.availableIsas();
  }

  alloc(n: number): F {
    ints("alloc", { n });
    // V8 cannot wrap one external buffer of more than 4 GiB (it crashes); arenas split below it.
    if (n > MAX_ALLOC_ELEMENTS) throw new BackendError(`alloc: ${n} floats (${(n * 4 / 2 ** 30).toFixed(1)} GiB) exceed the 4 GiB limit of one buffer`, "use a smaller batch or sequence length");
    return this.m.alloc(n);
  }
  free(buf: F): void {
    this.m.free(buf);
  }
  nativeBytes(): number {
    return this.m.nativeBytes();
  }
  setThreads(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new BackendError(`setThreads: need a positive integer, got ${n}`);
    this.m.setThreads(n);
  }
  getThreads(): number {
    return this.m.getThreads();
  }

  /**
   * MinHash-LSH band keys (not a tensor op; used by curate/minhash.ts, whose TypeScript loop is the
   * reference): documents' 32-bit shingle hashes shingles[offsets[d]..offsets[d+1]) → keys
   * [nDocs, bands, 2] and ok[d] (0 for a document without shingles).
   */
  minhashBands(keys: Uint32Array, ok: Uint8Array, shingles: Int32Array, offsets: Int32Array, xor: Int32Array, mul: Int32Array, nDocs: number, bands: number, rows: number): void {
    const op = "minhashBands";
    ints(op, { nDocs, bands, rows }, INT32_MAX);
    if (bands * rows > 4096 || bands * rows < 1) throw new ShapeError(`${op}: bands*rows must be in [1, 4096], got ${bands * rows}`);
    need(op, "keys", keys, nDocs * bands * 2);
    need(op, "ok", ok, nDocs);
    need(op, "offsets", offsets, nDocs + 1);
    need(op, "xor", xor, bands * rows);
    need(op, "mul", mul, bands * rows);
    for (let d = 0; d < nDocs; d++) {
      if (offsets[d] < 0 || offsets[d + 1] < offsets[d]) throw new ShapeError(`${op}: offsets must be non-decreasing from 0, got offsets[${d}..${d + 1}] = ${offsets[d]}, ${offsets[d + 1]}`);
    }
    need(op, "shingles", shingles, nDocs > 0 ? offsets[nDocs] : 0);
    this.m.minhashBands(keys, ok, shingles, offsets, xor, mul, nDocs, bands, rows);
  }

  // ---- dense linear algebra ----
  matmul(
    c: F, a: F, b: F, M: number, N: number, K: number,
    transA: boolean, transB: boolean, accumulate: boolean,
    batch: number, strideA: number, strideB: number, strideC: number,
  ): void {
    if (this.matmulCheck("matmul", c, a, b, M, N, K, transA, transB, batch, strideA, strideB, strideC)) {
      this.m.matmul(c, a, b, M, N, K, transA, transB, accumulate, batch, strideA, strideB, strideC);
    }
  }
  matmulBf16(
    c: F, a: F, b: F, M: number, N: number, K: number,
    transA: boolean, transB: boolean, accumulate: boolean,
    batch: number, strideA: number, strideB: number, strideC: number,
  ): void {
    if (this.matmulCheck("matmulBf16", c, a, b, M, N, K, transA, transB, batch, strideA, strideB, strideC)) {
      this.m.matmulBf16(c, a, b, M, N, K, transA, transB, accumulate, batch, strideA, strideB, strideC);
    }
  }

  // ---- elementwise and broadcast ----
  add(out: F, a: F, b: F, n: number): void {
    this.binary("add", out, a, b, n);
    this.m.add(out, a, b, n);
  }
  mul(out: F, a: F, b: F, n: number): void {
    this.binary("mul", out, a, b, n);
    this.m.mul(out, a, b, n);
  }
  axpy(y: F, x: F, alpha: number, n: number): void {
    ints("axpy", { n });
    need("axpy", "y", y, n);
    need("axpy", "x", x, n);
    this.m.axpy(y, x, alpha, n);
  }
  scale(out: F, x: F, s: number, n: number): void {
    ints("scale", { n });
    need("scale", "out", out, n);
    need("scale", "x", x, n);
    this.m.scale(out, x, s, n);
  }
  fill(out: F, value: number, n: number): void {
    ints("fill", { n });
    need("fill", "out", out, n);
    this.m.fill(out, value, n);
  }
  mulRow(out: F, x: F, w: F, N: number, C: number): void {
    this.rowwise("mulRow", out, x, w, N, C);
    this.m.mulRow(out, x, w, N, C);
  }
  addRow(out: F, x: F, b: F, N: number, C: number): void {
    this.rowwise("addRow", out, x, b, N, C);
    this.m.addRow(out, x, b, N, C);
  }
  sumRows(out: F, x: F, N: number, C: number, accumulate: boolean): void {
    ints("sumRows", { N, C });
    need("sumRows", "out", out, C);
    need("sumRows", `x [${N},${C}]`, x, N * C);
    this.m.sumRows(out, x, N, C, accumulate);
  }
  sumCols(out: F, x: F, N: number, C: number): void {
    ints("sumCols", { N, C });
    need("sumCols", "out", out, N);
    need("sumCols", `x [${N},${C}]`, x, N * C);
    this.m.sumCols(out, x, N, C);
  }
  sum(x: F, n: number): number {
    ints("sum", { n });
    need("sum", "x", x, n);
    return this.m.sum(x, n);
  }
  sumSquares(x: F, n: number): number {
    ints("sumSquares", { n });
    need("sumSquares", "x", x, n);
    return this.m.sumSquares(x, n);
  }

  // ---- Llama building blocks ----
  rmsnormForward(out: F, rstd: F, x: F, w: F, N: number, C: number, eps: number): void {
    const op = "rmsnormForward";
    ints(op, { N, C });
    need(op, `out [${N},${C}]`, out, N * C);
    need(op, `x [${N},${C}]`, x, N * C);
    need(op, "rstd", rstd, N);
    need(op, "w", w, C);
    this.m.rmsnormForward(out, rstd, x, w, N, C, eps);
  }
  rmsnormBackward(dx: F, dw: F, dout: F, x: F, w: F, rstd: F, N: number, C: number): void {
    const op = "rmsnormBackward";
    ints(op, { N, C });
    for (const [name, buf] of [["dx", dx], ["dout", dout], ["x", x]] as const) need(op, `${name} [${N},${C}]`, buf, N * C);
    need(op, "dw", dw, C);
    need(op, "w", w, C);
    need(op, "rstd", rstd, N);
    this.m.rmsnormBackward(dx, dw, dout, x, w, rstd, N, C);
  }
  ropeForward(out: F, x: F, cos: F, sin: F, B: number, T: number, NH: number, HS: number, pos0: number): void {
    this.ropeCheck("ropeForward", out, x, cos, sin, B, T, NH, HS, pos0);
    this.m.ropeForward(out, x, cos, sin, B, T, NH, HS, pos0);
  }
  ropeBackward(dx: F, dout: F, cos: F, sin: F, B: number, T: number, NH: number, HS: number, pos0: number): void {
    this.ropeCheck("ropeBackward", dx, dout, cos, sin, B, T, NH, HS, pos0);
    this.m.ropeBackward(dx, dout, cos, sin, B, T, NH, HS, pos0);
  }
  swigluForward(out: F, gate: F, up: F, n: number): void {
    this.binary("swigluForward", out, gate, up, n);
    this.m.swigluForward(out, gate, up, n);
  }
  swigluBackward(dgate: F, dup: F, dout: F, gate: F, up: F, n: number): void {
    const op = "swigluBackward";
    ints(op, { n });
    for (const [name, buf] of [["dgate", dgate], ["dup", dup], ["dout", dout], ["gate", gate], ["up", up]] as const) {
      need(op, name, buf, n);
    }
    this.m.swigluBackward(dgate, dup, dout, gate, up, n);
  }
  attentionForward(
    out: F, lse: F, q: F, k: F, v: F,
    B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number, scale: number,
  ): void {
    const op = "attentionForward";
    attnShape(op, B, Tq, Tk, NH, NKV, HS);
    const nq = B * Tq * NH * HS, nk = B * Tk * NKV * HS;
    need(op, `out [${B},${Tq},${NH},${HS}]`, out, nq);
    need(op, `q [${B},${Tq},${NH},${HS}]`, q, nq);
    need(op, `k [${B},${Tk},${NKV},${HS}]`, k, nk);
    need(op, `v [${B},${Tk},${NKV},${HS}]`, v, nk);
    need(op, `lse [${B},${NH},${Tq}]`, lse, B * NH * Tq);
    if (nq === 0) return;
    this.m.attentionForward(out, lse, q, k, v, B, Tq, Tk, NH, NKV, HS, scale);
  }
  attentionBackward(
    dq: F, dk: F, dv: F, dout: F, q: F, k: F, v: F, out: F, lse: F,
    B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number, scale: number,
  ): void {
    const op = "attentionBackward";
    attnShape(op, B, Tq, Tk, NH, NKV, HS);
    const nq = B * Tq * NH * HS, nk = B * Tk * NKV * HS;
    for (const [name, buf] of [["dq", dq], ["dout", dout], ["q", q], ["out", out]] as const) {
      need(op, `${name} [${B},${Tq},${NH},${HS}]`, buf, nq);
    }
    for (const [name, buf] of [["dk", dk], ["dv", dv], ["k", k], ["v", v]] as const) {
      need(op, `${name} [${B},${Tk},${NKV},${HS}]`, buf, nk);
    }
    need(op, `lse [${B},${NH},${Tq}]`, lse, B * NH * Tq);
    if (nq === 0) return;
    this.m.attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, B, Tq, Tk, NH, NKV, HS, scale);
  }
  embeddingForward(out: F, ids: Int32Array, table: F, N: number, C: number, V: number): void {
    this.embeddingCheck("embeddingForward", out, ids, table, N, C, V);
    this.m.embeddingForward(out, ids, table, N, C, V);
  }
  embeddingBackward(dtable: F, dout: F, ids: Int32Array, N: number, C: number, V: number): void {
    this.embeddingCheck("embeddingBackward", dout, ids, dtable, N, C, V);
    this.m.embeddingBackward(dtable, dout, ids, N, C, V);
  }
  crossEntropyForward(losses: F, lse: F, logits: F, targets: Int32Array, N: number, V: number): void {
    const op = "crossEntropyForward";
    this.ceCheck(op, logits, targets, N, V);
    need(op, "losses", losses, N);
    need(op, "lse", lse, N);
    this.m.crossEntropyForward(losses, lse, logits, targets, N, V);
  }
  crossEntropyBackward(dlogits: F, logits: F, lse: F, targets: Int32Array, dlosses: F, N: number, V: number): void {
    const op = "crossEntropyBackward";
    this.ceCheck(op, logits, targets, N, V);
    need(op, `dlogits [${N},${V}]`, dlogits, N * V);
    need(op, "lse", lse, N);
    need(op, "dlosses", dlosses, N);
    this.m.crossEntropyBackward(dlogits, logits, lse, targets, dlosses, N, V);
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
    this.m.adamw(param, grad, m, v, n, lr, beta1, beta2, eps, weightDecay, step);
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

let loaded: NativeBackend | undefined;

/** The native backend (one per process); throws BackendError when the addon is missing or fails. */
export function loadNative(): NativeBackend {
  if (loaded) return loaded;
  const hint = "run `npm rebuild smollab` after installing a C++ compiler (g++), make and python3";
  const file = join(packageRoot(), "build", "Release", "smollab.node");
  if (!existsSync(file)) throw new BackendError(`native addon not built (${file} is missing)`, hint);
  // libgomp reads its settings when the addon loads it. Idle workers spin 300k iterations by
  // default, which starves a busy machine; a shorter spin keeps a quiet machine's speed (measured
  // equal on training and decoding) and degrades gracefully when other processes share the cores.
  if (process.env.GOMP_SPINCOUNT === undefined && process.env.OMP_WAIT_POLICY === undefined) process.env.GOMP_SPINCOUNT = "20000";
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(file) as Addon;
  } catch (e) {
    const message = (e as Error).message;
    const isaHint = "unset SMOL_ISA, or set it to one of the instruction sets this CPU supports (avx512, avx2, generic)";
    throw new BackendError(`native addon failed to load: ${message}`, /SMOL_ISA/.test(message) ? isaHint : hint, { cause: e });
  }
  return (loaded = new NativeBackend(addon));
}
