// The one seam between TypeScript and compute. A Backend is a set of named kernels over flat
// buffers plus integer shapes (fixed letters: B batch, T time, C channels, V vocab, NH query
// heads, NKV key/value heads, HS head size, N rows, M/K matrix dims). Outputs come first, then
// inputs, then shapes. Buffers named d* are gradients and ACCUMULATE (+=) unless a kernel says
// otherwise, so gradient accumulation and multi-use tensors need no extra pass.
// Callers (tensor/) validate shapes; backends may assume buffers are long enough.

/** Float storage: the native backend uses Float32Array, the reference backend Float64Array. */
export type FloatBuf = Float32Array | Float64Array;

export interface Backend<F extends FloatBuf = FloatBuf> {
  /** "native" or "reference". */
  readonly name: string;
  /** Float width in bytes of this backend's buffers (4 or 8). */
  readonly bytesPerElement: number;
  /** A new zero-filled buffer of n elements (owned by the caller; native: tracked native memory). */
  alloc(n: number): F;
  /** Release a buffer from alloc() early (native memory is otherwise freed when collected). */
  free(buf: F): void;
  /** Bytes of native memory currently allocated through alloc() (0 for the reference backend). */
  nativeBytes(): number;
  /** Worker threads used by kernels; results are bit-identical run to run for a given count. */
  setThreads(n: number): void;
  getThreads(): number;

  // ---- dense linear algebra ----
  /**
   * C[M,N] = op(A) @ op(B) (or += when accumulate), row-major, for `batch` matrices.
   * op(A) is A[M,K], or A stored [K,M] when transA. op(B) is B[K,N], or B stored [N,K] when transB.
   * strideA/B/C: elements between consecutive matrices of the batch (0 broadcasts one matrix).
   */
  matmul(
    c: F, a: F, b: F, M: number, N: number, K: number,
    transA: boolean, transB: boolean, accumulate: boolean,
    batch: number, strideA: number, strideB: number, strideC: number,
  ): void;
  /**
   * matmul in bf16 mixed precision, same arguments and layout: each input element is rounded to
   * bf16 (round-to-nearest-even) before multiplying; products are accumulated in fp32 (native) /
   * fp64 (reference), and C keeps full precision. bf16 values below 2^-126 may flush to zero.
   */
  matmulBf16(
    c: F, a: F, b: F, M: number, N: number, K: number,
    transA: boolean, transB: boolean, accumulate: boolean,
    batch: number, strideA: number, strideB: number, strideC: number,
  ): void;

  // ---- elementwise and broadcast ----
  /** out[i] = a[i] + b[i] (out may alias a or b). */
  add(out: F, a: F, b: F, n: number): void;
  /** out[i] = a[i] * b[i] (out may alias a or b). */
  mul(out: F, a: F, b: F, n: number): void;
  /** y[i] += alpha * x[i]. */
  axpy(y: F, x: F, alpha: number, n: number): void;
  /** out[i] = s * x[i] (out may alias x). */
  scale(out: F, x: F, s: number, n: number): void;
  /** out[i] = value. */
  fill(out: F, value: number, n: number): void;
  /** out[n,c] = x[n,c] * w[c] (row broadcast; out may alias x). */
  mulRow(out: F, x: F, w: F, N: number, C: number): void;
  /** out[n,c] = x[n,c] + b[c] (row broadcast; out may alias x). */
  addRow(out: F, x: F, b: F, N: number, C: number): void;
  /** out[c] (+)= sum_n x[n,c]: reduction over rows (accumulates when accumulate). */
  sumRows(out: F, x: F, N: number, C: number, accumulate: boolean): void;
  /** out[n] = sum_c x[n,c]: reduction over the last axis. */
  sumCols(out: F, x: F, N: number, C: number): void;
  /** sum_i x[i], accumulated in float64 in a fixed order. */
  sum(x: F, n: number): number;
  /** sum_i x[i]^2, accumulated in float64 in a fixed order (for gradient norms). */
  sumSquares(x: F, n: number): number;
  /** How many of x[0..n) are NaN or ±Infinity (weights and outputs are refused when any is). */
  countNonFinite(x: F, n: number): number;

  // ---- Llama building blocks ----
  /** out[n,:] = w * x[n,:] / sqrt(mean(x[n,:]^2) + eps); rstd[n] saved for backward. */
  rmsnormForward(out: F, rstd: F, x: F, w: F, N: number, C: number, eps: number): void;
  /** dx += ..., dw += ... */
  rmsnormBackward(dx: F, dw: F, dout: F, x: F, w: F, rstd: F, N: number, C: number): void;
  /**
   * Rotate-half RoPE on x[B,T,NH,HS] at positions pos0..pos0+T-1 (out may alias x).
   * cos/sin are tables [maxT, HS/2]: cos(pos * inv_freq[i]).
   */
  ropeForward(out: F, x: F, cos: F, sin: F, B: number, T: number, NH: number, HS: number, pos0: number): void;
  /** dx += R(-θ) dout. */
  ropeBackward(dx: F, dout: F, cos: F, sin: F, B: number, T: number, NH: number, HS: number, pos0: number): void;
  /** out[i] = silu(gate[i]) * up[i]. */
  swigluForward(out: F, gate: F, up: F, n: number): void;
  /** dgate += ..., dup += ... */
  swigluBackward(dgate: F, dup: F, dout: F, gate: F, up: F, n: number): void;
  /**
   * Causal grouped-query attention. q[B,Tq,NH,HS]; k,v[B,Tk,NKV,HS] (Tk >= Tq; query t sits at
   * position Tk-Tq+t and sees keys 0..Tk-Tq+t); out[B,Tq,NH,HS]; lse[B,NH,Tq] = logsumexp of the
   * scaled scores, saved for backward. Query head h uses KV head floor(h / (NH/NKV)).
   */
  attentionForward(
    out: F, lse: F, q: F, k: F, v: F,
    B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number, scale: number,
  ): void;
  /**
   * Decoding attention for B = lens.length sequences at once: sequence b has one query per head
   * (q, out: [B, NH, HS]) and its own keys and values ks[b], vs[b] ([lens[b], NKV, HS]: the
   * sequence's filled cache positions, lens[b] ≥ 1). Equal to attentionForward with Tq = 1 per
   * sequence (the native kernel gives the same bits, and shares the sequences' work over its
   * threads); no lse (nothing to backpropagate).
   */
  attentionDecodeRows(out: F, q: F, ks: readonly F[], vs: readonly F[], lens: Int32Array, NH: number, NKV: number, HS: number, scale: number): void;
  /**
   * dq += ..., dk += ..., dv += ... (recomputes probabilities from lse; the native kernel keeps
   * the causal dS tiles between its two passes when they fit in 64 MiB, else recomputes them).
   */
  attentionBackward(
    dq: F, dk: F, dv: F, dout: F, q: F, k: F, v: F, out: F, lse: F,
    B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number, scale: number,
  ): void;
  /**
   * attentionForward in bf16 mixed precision (bf16 training, Engine precision "bf16"): Q·Kᵀ and
   * P·V take their inputs rounded to bf16 (nearest even) and sum in fp32 (native) / fp64
   * (reference); scores, the online softmax and lse stay full precision. P is rounded after the
   * softmax, relative to the running row max over blocks of 64 keys (flash attention's
   * arithmetic; the normaliser sums the unrounded P), so out is Σ_j bf16(p̃_j) bf16(v_j) / l.
   */
  attentionForwardBf16(
    out: F, lse: F, q: F, k: F, v: F,
    B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number, scale: number,
  ): void;
  /**
   * attentionBackward in bf16 mixed precision: P = exp(scale·bf16(q)·bf16(k) − lse) from the
   * saved lse, dP = bf16(dout)·bf16(v), D = Σ out·dout (saved out, unrounded), dS = P (dP − D);
   * dv += bf16(P) bf16(dout), dk += scale Σ bf16(dS) bf16(q), dq += scale Σ bf16(dS) bf16(k).
   */
  attentionBackwardBf16(
    dq: F, dk: F, dv: F, dout: F, q: F, k: F, v: F, out: F, lse: F,
    B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number, scale: number,
  ): void;
  /** out[n,:] = table[ids[n],:]; ids must be in [0, V). */
  embeddingForward(out: F, ids: Int32Array, table: F, N: number, C: number, V: number): void;
  /** dtable[ids[n],:] += dout[n,:] (deterministic order). */
  embeddingBackward(dtable: F, dout: F, ids: Int32Array, N: number, C: number, V: number): void;
  /**
   * Fused softmax cross-entropy over rows of logits[N,V]: losses[n] = lse[n] - logits[n,target[n]];
   * lse[n] saved. Rows whose target is negative are ignored (loss 0).
   */
  crossEntropyForward(losses: F, lse: F, logits: F, targets: Int32Array, N: number, V: number): void;
  /**
   * dlogits[n,:] = dlosses[n] * (softmax(logits[n,:]) - onehot(target[n])), WRITTEN (not
   * accumulated) and allowed to alias logits, so no second [N,V] buffer is needed.
   */
  crossEntropyBackward(dlogits: F, logits: F, lse: F, targets: Int32Array, dlosses: F, N: number, V: number): void;

  // ---- optimizer ----
  /**
   * Fused AdamW on n elements, bias-corrected at `step` (1-based), decoupled decay:
   * m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²; p = p (1 - lr wd) - lr m̂ / (sqrt(v̂) + eps).
   */
  adamw(
    param: F, grad: F, m: F, v: F, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
  ): void;

  // ---- packed no-grad weights (decoding, scoring; models/packed.ts) ----
  /**
   * y[M,N] = x[M,K] · W[N,K]ᵀ (written) with W stored as bf16 bits (w[n*K+k] is the high half of
   * the float32 W[n,k]); products and sums in fp32 (native) / fp64 (reference).
   */
  linearBf16(y: F, x: F, w: Uint16Array, M: number, N: number, K: number): void;
  /**
   * y[M,N] = x[M,K] · W[N,K]ᵀ (written) with W in Q8_0 blocks of 32 along K: W[n,k] =
   * scales[n*K/32 + k/32] · codes[n*K+k]. K must be a multiple of 32.
   */
  linearQ8(y: F, x: F, codes: Int8Array, scales: Float32Array, M: number, N: number, K: number): void;
  // ---- optimizer with reduced-precision moments (optim/adamw.ts `moments`) ----
  /**
   * adamw with m and v stored as bfloat16 bit patterns: decoded, updated as in adamw (the new
   * full-precision moments drive the parameter update), stored back rounded to nearest even.
   */
  adamwBf16(
    param: F, grad: F, m: Uint16Array, v: Uint16Array, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
  ): void;
  /**
   * adamw with blockwise 8-bit moments: blocks of ADAMW_INT8_BLOCK (256) elements, each with one
   * fp32 scale per moment (mScale/vScale: ceil(n/256) entries, rewritten every step).
   * m = mScale·sign(q)·(|q|/127)², q = round(127·sqrt(|m|/mScale)), mScale = max|m| of the block;
   * v = vScale·(u/255)⁴, u = round(255·(v/vScale)^¼) (at least 1 when v > 0), vScale = max v.
   * round(x) = floor(x + 0.5). native/adamw_lowp.inc explains the choice.
   */
  adamwInt8(
    param: F, grad: F, m: Int8Array, v: Uint8Array, mScale: Float32Array, vScale: Float32Array, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
  ): void;
}

/** Elements per block of adamwInt8's 8-bit moments (one fp32 scale per block and moment). */
export const ADAMW_INT8_BLOCK = 256;
