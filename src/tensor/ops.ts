// Differentiable ops over the Engine: each validates shapes once (ShapeError naming the op and
// shapes), calls one backend kernel forward, and records one backward closure that accumulates
// into its inputs' gradients. Coarse and fused on purpose: a Llama layer is ~10 ops.
import type { FloatBuf } from "../backend/backend.js";
import { ShapeError, fmtShape } from "../errors.js";
import type { Engine } from "./engine.js";
import { Tensor } from "./tensor.js";

type T<F extends FloatBuf> = Tensor<F>;

function fail(op: string, msg: string, ...ts: Array<[string, readonly number[]]>): never {
  throw new ShapeError(`${op}: ${msg}, got ${ts.map(([n, s]) => `${n}=${fmtShape(s)}`).join(" ")}`);
}

function last(t: { shape: readonly number[] }): number {
  return t.shape[t.shape.length - 1];
}

/** Rows of a tensor viewed as [rows, last dim]. */
function rows(t: { size: number; shape: readonly number[] }): number {
  return t.size / last(t);
}

/**
 * y = x @ w^T for x[..., in] and a linear weight w[out, in] (HF layout). In a bf16 engine the
 * forward and both backward GEMMs use matmulBf16 (bf16 inputs, fp32 accumulation and results).
 */
export function linear<F extends FloatBuf>(e: Engine<F>, x: T<F>, w: T<F>): T<F> {
  if (w.shape.length !== 2 || last(x) !== w.shape[1]) fail("linear", "x's last dim must equal w's in-features", ["x", x.shape], ["w", w.shape]);
  const N = rows(x);
  const [outF, inF] = w.shape;
  const y = e.empty([...x.shape.slice(0, -1), outF], e.tracks(x, w));
  const be = e.be;
  const mm = e.precision === "bf16" ? be.matmulBf16.bind(be) : be.matmul.bind(be);
  mm(y.data, x.data, w.data, N, outF, inF, false, true, false, 1, 0, 0, 0);
  if (y.requiresGrad) {
    e.record(y, () => {
      const dy = y.grad!;
      if (x.requiresGrad) mm(e.gradOf(x), dy, w.data, N, inF, outF, false, false, true, 1, 0, 0, 0);
      if (w.requiresGrad) mm(e.gradOf(w), dy, x.data, outF, inF, N, true, false, true, 1, 0, 0, 0);
    });
  }
  return y;
}

/**
 * General (batched) matmul: a[..., M, K] @ b[..., K, N] with optional transposes of the last two
 * dims; leading dims must match (or b may be 2-D and is broadcast).
 */
export function matmul<F extends FloatBuf>(e: Engine<F>, a: T<F>, b: T<F>, transA = false, transB = false): T<F> {
  if (a.shape.length < 2 || b.shape.length < 2) fail("matmul", "both operands need >= 2 dims", ["a", a.shape], ["b", b.shape]);
  const ar = a.shape.length, br = b.shape.length;
  const M = transA ? a.shape[ar - 1] : a.shape[ar - 2];
  const K = transA ? a.shape[ar - 2] : a.shape[ar - 1];
  const Kb = transB ? b.shape[br - 1] : b.shape[br - 2];
  const N = transB ? b.shape[br - 2] : b.shape[br - 1];
  if (K !== Kb) fail("matmul", "inner dims differ", ["a", a.shape], ["b", b.shape]);
  const lead = a.shape.slice(0, -2);
  const batch = lead.reduce((p, c) => p * c, 1);
  const bBatch = b.shape.slice(0, -2).reduce((p, c) => p * c, 1);
  if (bBatch !== 1 && (br !== ar || b.shape.slice(0, -2).some((d, i) => d !== lead[i]))) fail("matmul", "batch dims differ", ["a", a.shape], ["b", b.shape]);
  const sA = M * K, sB = bBatch === 1 ? 0 : K * N, sC = M * N;
  const c = e.empty([...lead, M, N], e.tracks(a, b));
  e.be.matmul(c.data, a.data, b.data, M, N, K, transA, transB, false, batch, sA, sB, sC);
  if (c.requiresGrad) {
    e.record(c, () => {
      const dc = c.grad!;
      // dA = dC @ op(B)^T (stored as A's layout); dB = op(A)^T @ dC (stored as B's layout).
      if (a.requiresGrad) {
        if (!transA) e.be.matmul(e.gradOf(a), dc, b.data, M, K, N, false, !transB, true, batch, sC, sB, sA);
        else e.be.matmul(e.gradOf(a), b.data, dc, K, M, N, transB, true, true, batch, sB, sC, sA);
      }
      if (b.requiresGrad) {
        if (sB === 0 && batch > 1) {
          // broadcast b: sum the per-batch gradients in order (deterministic).
          for (let i = 0; i < batch; i++) {
            const dci = dc.subarray(i * sC, (i + 1) * sC) as F;
            const ai = a.data.subarray(i * sA, (i + 1) * sA) as F;
            bGradBatched(e, e.gradOf(b), ai, dci, M, N, K, transA, transB, 1, 0, 0, 0);
          }
        } else {
          bGradBatched(e, e.gradOf(b), a.data, dc, M, N, K, transA, transB, batch, sA, sB, sC);
        }
      }
    });
  }
  return c;
}

function bGradBatched<F extends FloatBuf>(
  e: Engine<F>, db: F, a: F, dc: F, M: number, N: number, K: number, transA: boolean, transB: boolean,
  batch: number, sA: number, sB: number, sC: number,
) {
  // op(B)[K,N] gradient = op(A)^T[K,M] @ dC[M,N]; if B is stored transposed ([N,K]) = dC^T @ op(A).
  if (!transB) e.be.matmul(db, a, dc, K, N, M, !transA, false, true, batch, sA, sC, sB);
  else e.be.matmul(db, dc, a, N, K, M, true, transA, true, batch, sC, sA, sB);
}

/** Elementwise a + b (same shape). */
export function add<F extends FloatBuf>(e: Engine<F>, a: T<F>, b: T<F>): T<F> {
  if (a.size !== b.size || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) fail("add", "shapes differ", ["a", a.shape], ["b", b.shape]);
  const out = e.empty(a.shape, e.tracks(a, b));
  e.be.add(out.data, a.data, b.data, a.size);
  if (out.requiresGrad) {
    e.record(out, () => {
      if (a.requiresGrad) e.be.axpy(e.gradOf(a), out.grad!, 1, a.size);
      if (b.requiresGrad) e.be.axpy(e.gradOf(b), out.grad!, 1, b.size);
    });
  }
  return out;
}

/** Elementwise a * b (same shape). */
export function mul<F extends FloatBuf>(e: Engine<F>, a: T<F>, b: T<F>): T<F> {
  if (a.size !== b.size || a.shape.some((d, i) => d !== b.shape[i])) fail("mul", "shapes differ", ["a", a.shape], ["b", b.shape]);
  const out = e.empty(a.shape, e.tracks(a, b));
  e.be.mul(out.data, a.data, b.data, a.size);
  if (out.requiresGrad) {
    e.record(out, () => {
      const tmp = e.arena.alloc(a.size);
      if (a.requiresGrad) { e.be.mul(tmp, out.grad!, b.data, a.size); e.be.axpy(e.gradOf(a), tmp, 1, a.size); }
      if (b.requiresGrad) { e.be.mul(tmp, out.grad!, a.data, a.size); e.be.axpy(e.gradOf(b), tmp, 1, a.size); }
    });
  }
  return out;
}

/** s * x. */
export function scale<F extends FloatBuf>(e: Engine<F>, x: T<F>, s: number): T<F> {
  const out = e.empty(x.shape, e.tracks(x));
  e.be.scale(out.data, x.data, s, x.size);
  if (out.requiresGrad) e.record(out, () => e.be.axpy(e.gradOf(x), out.grad!, s, x.size));
  return out;
}

/** Sum over the last axis: x[..., C] -> [...]. */
export function sumLast<F extends FloatBuf>(e: Engine<F>, x: T<F>): T<F> {
  const C = last(x), N = rows(x);
  const out = e.empty(x.shape.length > 1 ? x.shape.slice(0, -1) : [1], e.tracks(x));
  e.be.sumCols(out.data, x.data, N, C);
  if (out.requiresGrad) {
    e.record(out, () => {
      // dx[n,c] += dout[n]: dout[N,1] @ ones[1,C], accumulated.
      const ones = e.arena.alloc(C);
      e.be.fill(ones, 1, C);
      e.be.matmul(e.gradOf(x), out.grad!, ones, N, C, 1, false, false, true, 1, 0, 0, 0);
    });
  }
  return out;
}

/** Mean of all elements as a scalar [1]. */
export function mean<F extends FloatBuf>(e: Engine<F>, x: T<F>): T<F> {
  const out = e.empty([1], e.tracks(x));
  out.data[0] = e.be.sum(x.data, x.size) / x.size;
  if (out.requiresGrad) {
    e.record(out, () => {
      const g = e.arena.alloc(x.size);
      e.be.fill(g, out.grad![0] / x.size, x.size);
      e.be.axpy(e.gradOf(x), g, 1, x.size);
    });
  }
  return out;
}

/** x * w broadcast over rows (w has x's last dim). */
export function mulRow<F extends FloatBuf>(e: Engine<F>, x: T<F>, w: T<F>): T<F> {
  const C = last(x), N = rows(x);
  if (w.size !== C) fail("mulRow", "w must have x's last dim", ["x", x.shape], ["w", w.shape]);
  const out = e.empty(x.shape, e.tracks(x, w));
  e.be.mulRow(out.data, x.data, w.data, N, C);
  if (out.requiresGrad) {
    e.record(out, () => {
      const g = out.grad!;
      if (x.requiresGrad) {
        const tmp = e.arena.alloc(x.size);
        e.be.mulRow(tmp, g, w.data, N, C);
        e.be.axpy(e.gradOf(x), tmp, 1, x.size);
      }
      if (w.requiresGrad) {
        const tmp = e.arena.alloc(x.size);
        e.be.mul(tmp, g, x.data, x.size);
        e.be.sumRows(e.gradOf(w), tmp, N, C, true);
      }
    });
  }
  return out;
}

/** x + b broadcast over rows (b has x's last dim). */
export function addRow<F extends FloatBuf>(e: Engine<F>, x: T<F>, b: T<F>): T<F> {
  const C = last(x), N = rows(x);
  if (b.size !== C) fail("addRow", "b must have x's last dim", ["x", x.shape], ["b", b.shape]);
  const out = e.empty(x.shape, e.tracks(x, b));
  e.be.addRow(out.data, x.data, b.data, N, C);
  if (out.requiresGrad) {
    e.record(out, () => {
      if (x.requiresGrad) e.be.axpy(e.gradOf(x), out.grad!, 1, x.size);
      if (b.requiresGrad) e.be.sumRows(e.gradOf(b), out.grad!, N, C, true);
    });
  }
  return out;
}

/** RMSNorm over the last dim with weight w (docs/references.md §1). */
export function rmsnorm<F extends FloatBuf>(e: Engine<F>, x: T<F>, w: T<F>, eps: number): T<F> {
  const C = last(x), N = rows(x);
  if (w.shape.length !== 1 || w.size !== C) fail("rmsnorm", "weight must be [C] with C = x's last dim", ["x", x.shape], ["w", w.shape]);
  const out = e.empty(x.shape, e.tracks(x, w));
  const rstd = e.arena.alloc(N);
  e.be.rmsnormForward(out.data, rstd, x.data, w.data, N, C, eps);
  if (out.requiresGrad) {
    e.record(out, () => {
      // The kernel accumulates into both; a non-tracking input gets a scratch buffer.
      const dx = x.requiresGrad ? e.gradOf(x) : e.arena.alloc(x.size, true);
      const dw = w.requiresGrad ? e.gradOf(w) : e.arena.alloc(C, true);
      e.be.rmsnormBackward(dx, dw, out.grad!, x.data, w.data, rstd, N, C);
    });
  }
  return out;
}

/** Precomputed rotary tables [maxT, HS/2] (float32 arithmetic as HF computes them). */
export interface RopeTables<F extends FloatBuf> {
  cos: F;
  sin: F;
  maxT: number;
  headDim: number;
}

/** Rotate-half RoPE on x[B, T, NH, HS] at positions pos0..pos0+T-1. */
export function rope<F extends FloatBuf>(e: Engine<F>, x: T<F>, tables: RopeTables<F>, pos0 = 0): T<F> {
  if (x.shape.length !== 4) fail("rope", "x must be [B,T,NH,HS]", ["x", x.shape]);
  const [B, T, NH, HS] = x.shape;
  if (HS !== tables.headDim || HS % 2 !== 0) fail("rope", `head size must be even and equal the tables' ${tables.headDim}`, ["x", x.shape]);
  if (pos0 + T > tables.maxT) throw new ShapeError(`rope: positions ${pos0}..${pos0 + T - 1} exceed the model's context ${tables.maxT}`);
  const out = e.empty(x.shape, e.tracks(x));
  e.be.ropeForward(out.data, x.data, tables.cos, tables.sin, B, T, NH, HS, pos0);
  if (out.requiresGrad) e.record(out, () => e.be.ropeBackward(e.gradOf(x), out.grad!, tables.cos, tables.sin, B, T, NH, HS, pos0));
  return out;
}

/** silu(gate) * up, elementwise. */
export function swiglu<F extends FloatBuf>(e: Engine<F>, gate: T<F>, up: T<F>): T<F> {
  if (gate.size !== up.size) fail("swiglu", "gate and up differ", ["gate", gate.shape], ["up", up.shape]);
  const out = e.empty(gate.shape, e.tracks(gate, up));
  e.be.swigluForward(out.data, gate.data, up.data, gate.size);
  if (out.requiresGrad) {
    e.record(out, () => {
      const dg = gate.requiresGrad ? e.gradOf(gate) : e.arena.alloc(gate.size, true);
      const du = up.requiresGrad ? e.gradOf(up) : e.arena.alloc(up.size, true);
      e.be.swigluBackward(dg, du, out.grad!, gate.data, up.data, gate.size);
    });
  }
  return out;
}

/**
 * Causal grouped-query attention. q[B,Tq,NH,HS], k/v[B,Tk,NKV,HS] -> [B,Tq,NH,HS]; with Tk > Tq
 * the queries are the last Tq positions (KV-cached decoding). In a bf16 engine forward and
 * backward use the bf16 kernels (attentionForwardBf16 / attentionBackwardBf16).
 */
export function attention<F extends FloatBuf>(e: Engine<F>, q: T<F>, k: T<F>, v: T<F>): T<F> {
  if (q.shape.length !== 4 || k.shape.length !== 4 || v.shape.length !== 4) fail("attention", "q, k, v must be 4-D [B,T,H,HS]", ["q", q.shape], ["k", k.shape], ["v", v.shape]);
  const [B, Tq, NH, HS] = q.shape;
  const [Bk, Tk, NKV, HSk] = k.shape;
  if (Bk !== B || HSk !== HS || v.shape.some((d, i) => d !== k.shape[i])) fail("attention", "k and v must be [B,Tk,NKV,HS] matching q", ["q", q.shape], ["k", k.shape], ["v", v.shape]);
  if (NH % NKV !== 0) fail("attention", "kv heads must divide query heads", ["q", q.shape], ["k", k.shape]);
  if (Tk < Tq) fail("attention", "fewer keys than queries", ["q", q.shape], ["k", k.shape]);
  const scale = 1 / Math.sqrt(HS);
  const out = e.empty(q.shape, e.tracks(q, k, v));
  const lse = e.arena.alloc(B * NH * Tq);
  const bf16 = e.precision === "bf16";
  (bf16 ? e.be.attentionForwardBf16 : e.be.attentionForward).call(e.be, out.data, lse, q.data, k.data, v.data, B, Tq, Tk, NH, NKV, HS, scale);
  if (out.requiresGrad) {
    e.record(out, () => {
      const dq = q.requiresGrad ? e.gradOf(q) : e.arena.alloc(q.size, true);
      const dk = k.requiresGrad ? e.gradOf(k) : e.arena.alloc(k.size, true);
      const dv = v.requiresGrad ? e.gradOf(v) : e.arena.alloc(v.size, true);
      (bf16 ? e.be.attentionBackwardBf16 : e.be.attentionBackward).call(e.be, dq, dk, dv, out.grad!, q.data, k.data, v.data, out.data, lse, B, Tq, Tk, NH, NKV, HS, scale);
    });
  }
  return out;
}

/** Rows of table[V, C] gathered by ids -> [N, C]. */
export function embedding<F extends FloatBuf>(e: Engine<F>, table: T<F>, ids: Int32Array): T<F> {
  if (table.shape.length !== 2) fail("embedding", "table must be [V,C]", ["table", table.shape]);
  const [V, C] = table.shape;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(id >= 0 && id < V)) throw new ShapeError(`embedding: token id ${id} at position ${i} is outside the vocabulary [0, ${V})`);
  }
  const N = ids.length;
  const out = e.empty([N, C], e.tracks(table));
  e.be.embeddingForward(out.data, ids, table.data, N, C, V);
  if (out.requiresGrad) e.record(out, () => e.be.embeddingBackward(e.gradOf(table), out.grad!, ids, N, C, V));
  return out;
}

/**
 * Fused softmax cross-entropy of logits[N, V] against targets (negative = ignored).
 * Returns the mean loss over counted rows as a scalar [1], and the per-row losses (for scoring).
 * Backward writes d(logits) INTO the logits buffer, so logits must not be read after backward.
 */
export function crossEntropy<F extends FloatBuf>(e: Engine<F>, logits: T<F>, targets: Int32Array): { loss: T<F>; losses: F; count: number } {
  const V = last(logits), N = rows(logits);
  if (targets.length !== N) fail("crossEntropy", `targets must have one entry per row (${targets.length} given)`, ["logits", logits.shape]);
  let count = 0;
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    if (t >= V) throw new ShapeError(`crossEntropy: target id ${t} at row ${i} is outside the vocabulary [0, ${V})`);
    if (t >= 0) count++;
  }
  const losses = e.arena.alloc(N);
  const lse = e.arena.alloc(N);
  e.be.crossEntropyForward(losses, lse, logits.data, targets, N, V);
  const loss = e.empty([1], e.tracks(logits));
  loss.data[0] = count > 0 ? e.be.sum(losses, N) / count : 0;
  if (loss.requiresGrad) {
    e.record(loss, () => {
      const dl = e.arena.alloc(N);
      e.be.fill(dl, count > 0 ? loss.grad![0] / count : 0, N);
      if (logits.grad) throw new ShapeError("crossEntropy: logits already have a gradient; the fused backward needs to own them");
      e.be.crossEntropyBackward(logits.data, logits.data, lse, targets, dl, N, V);
      logits.grad = logits.data;
    });
  }
  return { loss, losses, count };
}

/** Reshape without copying (same data, same gradient). */
export function view<F extends FloatBuf>(e: Engine<F>, x: T<F>, shape: readonly number[]): T<F> {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== x.size) fail("view", `element counts differ (${n} vs ${x.size})`, ["x", x.shape], ["shape", shape]);
  const out = new Tensor<F>(shape, x.data, e.tracks(x));
  if (out.requiresGrad) {
    // Share the gradient buffer: allocate x's gradient now and alias it.
    out.grad = e.gradOf(x);
  }
  return out;
}
