// The reference backend: every kernel of the Backend seam as plain loops in float64. It is the
// oracle every other backend is tested against (the "naive twin" of each fast kernel) and the
// fallback when the native addon cannot be built. Clarity beats speed here: no blocking, no
// threads, no cleverness. Shape validation is left to the callers in tensor/ (see backend.ts).
import { bf16BitsToF32, f32ToBf16Bits } from "../io/dtypes.js";
import { ADAMW_INT8_BLOCK, type Backend } from "./backend.js";

/** x rounded to float32, then to bfloat16 (nearest even), as a number. */
function bf16(x: number): number {
  return bf16BitsToF32(f32ToBf16Bits(x));
}

/** Keys per online-softmax block of the bf16 attention kernels (native/attention_bf16.inc's kKB). */
const ATT_BF16_KEYS = 64;

export class ReferenceBackend implements Backend<Float64Array> {
  readonly name = "reference";
  readonly bytesPerElement = 8;

  alloc(n: number): Float64Array {
    return new Float64Array(n);
  }

  free(_buf: Float64Array): void {
    // JavaScript memory: the garbage collector owns it.
  }

  nativeBytes(): number {
    return 0;
  }

  setThreads(_n: number): void {
    // Single-threaded by design; the setting is accepted and ignored.
  }

  getThreads(): number {
    return 1;
  }

  // ---- dense linear algebra ----

  matmul(
    c: Float64Array, a: Float64Array, b: Float64Array, M: number, N: number, K: number,
    transA: boolean, transB: boolean, accumulate: boolean,
    batch: number, strideA: number, strideB: number, strideC: number,
  ): void {
    for (let bi = 0; bi < batch; bi++) {
      const oa = bi * strideA;
      const ob = bi * strideB;
      const oc = bi * strideC;
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          let acc = 0;
          for (let k = 0; k < K; k++) {
            const aik = transA ? a[oa + k * M + i] : a[oa + i * K + k];
            const bkj = transB ? b[ob + j * K + k] : b[ob + k * N + j];
            acc += aik * bkj;
          }
          const idx = oc + i * N + j;
          c[idx] = accumulate ? c[idx] + acc : acc;
        }
      }
    }
  }

  matmulBf16(
    c: Float64Array, a: Float64Array, b: Float64Array, M: number, N: number, K: number,
    transA: boolean, transB: boolean, accumulate: boolean,
    batch: number, strideA: number, strideB: number, strideC: number,
  ): void {
    // Round every element the product reads (strides may overlap or broadcast), then the float64 loop.
    const ra = new Float64Array(batch === 0 ? 0 : (batch - 1) * strideA + M * K);
    const rb = new Float64Array(batch === 0 ? 0 : (batch - 1) * strideB + K * N);
    for (let i = 0; i < ra.length; i++) ra[i] = bf16(a[i]);
    for (let i = 0; i < rb.length; i++) rb[i] = bf16(b[i]);
    this.matmul(c, ra, rb, M, N, K, transA, transB, accumulate, batch, strideA, strideB, strideC);
  }

  // ---- elementwise and broadcast ----

  add(out: Float64Array, a: Float64Array, b: Float64Array, n: number): void {
    for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
  }

  mul(out: Float64Array, a: Float64Array, b: Float64Array, n: number): void {
    for (let i = 0; i < n; i++) out[i] = a[i] * b[i];
  }

  axpy(y: Float64Array, x: Float64Array, alpha: number, n: number): void {
    for (let i = 0; i < n; i++) y[i] += alpha * x[i];
  }

  scale(out: Float64Array, x: Float64Array, s: number, n: number): void {
    for (let i = 0; i < n; i++) out[i] = s * x[i];
  }

  fill(out: Float64Array, value: number, n: number): void {
    for (let i = 0; i < n; i++) out[i] = value;
  }

  mulRow(out: Float64Array, x: Float64Array, w: Float64Array, N: number, C: number): void {
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) out[n * C + c] = x[n * C + c] * w[c];
    }
  }

  addRow(out: Float64Array, x: Float64Array, b: Float64Array, N: number, C: number): void {
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) out[n * C + c] = x[n * C + c] + b[c];
    }
  }

  sumRows(out: Float64Array, x: Float64Array, N: number, C: number, accumulate: boolean): void {
    for (let c = 0; c < C; c++) {
      let acc = 0;
      for (let n = 0; n < N; n++) acc += x[n * C + c];
      out[c] = accumulate ? out[c] + acc : acc;
    }
  }

  sumCols(out: Float64Array, x: Float64Array, N: number, C: number): void {
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let c = 0; c < C; c++) acc += x[n * C + c];
      out[n] = acc;
    }
  }

  sum(x: Float64Array, n: number): number {
    let acc = 0;
    for (let i = 0; i < n; i++) acc += x[i];
    return acc;
  }

  sumSquares(x: Float64Array, n: number): number {
    let acc = 0;
    for (let i = 0; i < n; i++) acc += x[i] * x[i];
    return acc;
  }

  countNonFinite(x: Float64Array, n: number): number {
    let count = 0;
    for (let i = 0; i < n; i++) if (!Number.isFinite(x[i])) count++;
    return count;
  }

  // ---- Llama building blocks ----

  rmsnormForward(
    out: Float64Array, rstd: Float64Array, x: Float64Array, w: Float64Array,
    N: number, C: number, eps: number,
  ): void {
    for (let n = 0; n < N; n++) {
      const o = n * C;
      let ss = 0;
      for (let c = 0; c < C; c++) ss += x[o + c] * x[o + c];
      const r = 1 / Math.sqrt(ss / C + eps);
      rstd[n] = r;
      for (let c = 0; c < C; c++) out[o + c] = w[c] * x[o + c] * r;
    }
  }

  rmsnormBackward(
    dx: Float64Array, dw: Float64Array, dout: Float64Array, x: Float64Array, w: Float64Array,
    rstd: Float64Array, N: number, C: number,
  ): void {
    // y_c = w_c x_c r with r = (mean(x²) + eps)^(-1/2), so dr/dx_c = -r³ x_c / C and
    // dx_c = r w_c dout_c - (r³ / C) x_c Σ_j dout_j w_j x_j;  dw_c = Σ_n dout_c x_c r.
    for (let n = 0; n < N; n++) {
      const o = n * C;
      const r = rstd[n];
      let dot = 0;
      for (let c = 0; c < C; c++) dot += dout[o + c] * w[c] * x[o + c];
      const k = (r * r * r * dot) / C;
      for (let c = 0; c < C; c++) {
        dx[o + c] += r * w[c] * dout[o + c] - k * x[o + c];
        dw[c] += dout[o + c] * x[o + c] * r;
      }
    }
  }

  ropeForward(
    out: Float64Array, x: Float64Array, cos: Float64Array, sin: Float64Array,
    B: number, T: number, NH: number, HS: number, pos0: number,
  ): void {
    // Rotate-half: pair element i with i + HS/2 and rotate the pair by angle θ_i(pos):
    // out_i = x_i cos - x_{i+h} sin,  out_{i+h} = x_{i+h} cos + x_i sin.
    const half = HS / 2;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const row = (pos0 + t) * half;
        for (let h = 0; h < NH; h++) {
          const o = ((b * T + t) * NH + h) * HS;
          for (let i = 0; i < half; i++) {
            const x1 = x[o + i];
            const x2 = x[o + i + half];
            const cs = cos[row + i];
            const sn = sin[row + i];
            out[o + i] = x1 * cs - x2 * sn;
            out[o + i + half] = x2 * cs + x1 * sn;
          }
        }
      }
    }
  }

  ropeBackward(
    dx: Float64Array, dout: Float64Array, cos: Float64Array, sin: Float64Array,
    B: number, T: number, NH: number, HS: number, pos0: number,
  ): void {
    // The rotation is orthogonal, so its gradient is the inverse rotation R(-θ) applied to dout.
    const half = HS / 2;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const row = (pos0 + t) * half;
        for (let h = 0; h < NH; h++) {
          const o = ((b * T + t) * NH + h) * HS;
          for (let i = 0; i < half; i++) {
            const d1 = dout[o + i];
            const d2 = dout[o + i + half];
            const cs = cos[row + i];
            const sn = sin[row + i];
            dx[o + i] += d1 * cs + d2 * sn;
            dx[o + i + half] += d2 * cs - d1 * sn;
          }
        }
      }
    }
  }

  swigluForward(out: Float64Array, gate: Float64Array, up: Float64Array, n: number): void {
    for (let i = 0; i < n; i++) {
      const g = gate[i];
      out[i] = (g / (1 + Math.exp(-g))) * up[i];
    }
  }

  swigluBackward(
    dgate: Float64Array, dup: Float64Array, dout: Float64Array, gate: Float64Array, up: Float64Array,
    n: number,
  ): void {
    // silu(g) = g σ(g);  silu'(g) = σ(g) (1 + g (1 - σ(g))).
    for (let i = 0; i < n; i++) {
      const g = gate[i];
      const s = 1 / (1 + Math.exp(-g));
      dgate[i] += dout[i] * up[i] * s * (1 + g * (1 - s));
      dup[i] += dout[i] * g * s;
    }
  }

  attentionForward(
    out: Float64Array, lse: Float64Array, q: Float64Array, k: Float64Array, v: Float64Array,
    B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number, scale: number,
  ): void {
    const group = NH / NKV;
    const scores = new Float64Array(Tk);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < NH; h++) {
        const kvh = Math.floor(h / group);
        for (let t = 0; t < Tq; t++) {
          const pos = Tk - Tq + t; // this query sees keys 0..pos
          const qo = ((b * Tq + t) * NH + h) * HS;
          // scores and their max
          let mx = -Infinity;
          for (let j = 0; j <= pos; j++) {
            const ko = ((b * Tk + j) * NKV + kvh) * HS;
            let s = 0;
            for (let d = 0; d < HS; d++) s += q[qo + d] * k[ko + d];
            scores[j] = s * scale;
            if (scores[j] > mx) mx = scores[j];
          }
          // softmax denominator and logsumexp
          let den = 0;
          for (let j = 0; j <= pos; j++) den += Math.exp(scores[j] - mx);
          lse[(b * NH + h) * Tq + t] = mx + Math.log(den);
          // out = Σ_j p_j v_j
          for (let d = 0; d < HS; d++) out[qo + d] = 0;
          for (let j = 0; j <= pos; j++) {
            const p = Math.exp(scores[j] - mx) / den;
            const vo = ((b * Tk + j) * NKV + kvh) * HS;
            for (let d = 0; d < HS; d++) out[qo + d] += p * v[vo + d];
          }
        }
      }
    }
  }

  attentionDecodeRows(out: Float64Array, q: Float64Array, ks: readonly Float64Array[], vs: readonly Float64Array[], lens: Int32Array, NH: number, NKV: number, HS: number, scale: number): void {
    const lse = new Float64Array(NH), n = NH * HS;
    for (let b = 0; b < lens.length; b++) {
      this.attentionForward(out.subarray(b * n, (b + 1) * n), lse, q.subarray(b * n, (b + 1) * n), ks[b], vs[b], 1, 1, lens[b], NH, NKV, HS, scale);
    }
  }

  attentionBackward(
    dq: Float64Array, dk: Float64Array, dv: Float64Array, dout: Float64Array,
    q: Float64Array, k: Float64Array, v: Float64Array, _out: Float64Array, _lse: Float64Array,
    B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number, scale: number,
  ): void {
    // The oracle recomputes the probabilities from q and k (it does not trust the saved out/lse):
    //   p = softmax(s), s_j = scale q·k_j;  dv_j += p_j dout;  dp_j = dout·v_j;
    //   ds_j = p_j (dp_j - Σ_i p_i dp_i);  dq += scale Σ_j ds_j k_j;  dk_j += scale ds_j q.
    const group = NH / NKV;
    const p = new Float64Array(Tk);
    const dp = new Float64Array(Tk);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < NH; h++) {
        const kvh = Math.floor(h / group);
        for (let t = 0; t < Tq; t++) {
          const pos = Tk - Tq + t;
          const qo = ((b * Tq + t) * NH + h) * HS;
          let mx = -Infinity;
          for (let j = 0; j <= pos; j++) {
            const ko = ((b * Tk + j) * NKV + kvh) * HS;
            let s = 0;
            for (let d = 0; d < HS; d++) s += q[qo + d] * k[ko + d];
            p[j] = s * scale;
            if (p[j] > mx) mx = p[j];
          }
          let den = 0;
          for (let j = 0; j <= pos; j++) {
            p[j] = Math.exp(p[j] - mx);
            den += p[j];
          }
          for (let j = 0; j <= pos; j++) p[j] /= den;

          let pdp = 0;
          for (let j = 0; j <= pos; j++) {
            const vo = ((b * Tk + j) * NKV + kvh) * HS;
            let s = 0;
            for (let d = 0; d < HS; d++) s += dout[qo + d] * v[vo + d];
            dp[j] = s;
            pdp += p[j] * s;
          }
          for (let j = 0; j <= pos; j++) {
            const ko = ((b * Tk + j) * NKV + kvh) * HS;
            const ds = p[j] * (dp[j] - pdp);
            for (let d = 0; d < HS; d++) {
              dq[qo + d] += scale * ds * k[ko + d];
              dk[ko + d] += scale * ds * q[qo + d];
              dv[ko + d] += p[j] * dout[qo + d];
            }
          }
        }
      }
    }
  }
  // bf16 attention's naive twins. Rounding happens where the kernels round: every product input
  // (q, k, v, dout, P, dS) goes through bf16() (float32 then bfloat16, nearest even); sums,
  // scores, softmax and statistics are float64. The forward reproduces the kernels' online
  // softmax over blocks of ATT_BF16_KEYS keys, because P is rounded relative to the running max.
  attentionForwardBf16(
    out: Float64Array, lse: Float64Array, q: Float64Array, k: Float64Array, v: Float64Array,
    B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number, scale: number,
  ): void {
    const group = NH / NKV;
    const s = new Float64Array(ATT_BF16_KEYS);
    const acc = new Float64Array(HS);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < NH; h++) {
        const kvh = Math.floor(h / group);
        for (let t = 0; t < Tq; t++) {
          const pos = Tk - Tq + t;
          const qo = ((b * Tq + t) * NH + h) * HS;
          let m = -Infinity, l = 0;
          acc.fill(0);
          for (let j0 = 0; j0 <= pos; j0 += ATT_BF16_KEYS) {
            const nk = Math.min(ATT_BF16_KEYS, pos + 1 - j0);
            let mx = -Infinity;
            for (let j = 0; j < nk; j++) {
              const ko = ((b * Tk + j0 + j) * NKV + kvh) * HS;
              let dot = 0;
              for (let d = 0; d < HS; d++) dot += bf16(q[qo + d]) * bf16(k[ko + d]);
              s[j] = dot * scale;
              if (s[j] > mx) mx = s[j];
            }
            const mnew = Math.max(m, mx);
            const alpha = Math.exp(m - mnew);
            for (let d = 0; d < HS; d++) acc[d] *= alpha;
            let psum = 0;
            for (let j = 0; j < nk; j++) {
              const p = Math.exp(s[j] - mnew);
              psum += p;
              const pr = bf16(p);
              const vo = ((b * Tk + j0 + j) * NKV + kvh) * HS;
              for (let d = 0; d < HS; d++) acc[d] += pr * bf16(v[vo + d]);
            }
            l = l * alpha + psum;
            m = mnew;
          }
          for (let d = 0; d < HS; d++) out[qo + d] = acc[d] / l;
          lse[(b * NH + h) * Tq + t] = m + Math.log(l);
        }
      }
    }
  }

  attentionBackwardBf16(
    dq: Float64Array, dk: Float64Array, dv: Float64Array, dout: Float64Array,
    q: Float64Array, k: Float64Array, v: Float64Array, out: Float64Array, lse: Float64Array,
    B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number, scale: number,
  ): void {
    // Unlike attentionBackward this twin uses the saved out and lse, as the kernels do: the bf16
    // forward's out is not the exact softmax average, and D = Σ out·dout must be the one it gave.
    const group = NH / NKV;
    const dqi = new Float64Array(HS);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < NH; h++) {
        const kvh = Math.floor(h / group);
        for (let t = 0; t < Tq; t++) {
          const pos = Tk - Tq + t;
          const qo = ((b * Tq + t) * NH + h) * HS;
          const L = lse[(b * NH + h) * Tq + t];
          let D = 0;
          for (let d = 0; d < HS; d++) D += out[qo + d] * dout[qo + d];
          dqi.fill(0);
          for (let j = 0; j <= pos; j++) {
            const ko = ((b * Tk + j) * NKV + kvh) * HS;
            let sd = 0, dp = 0;
            for (let d = 0; d < HS; d++) {
              sd += bf16(q[qo + d]) * bf16(k[ko + d]);
              dp += bf16(dout[qo + d]) * bf16(v[ko + d]);
            }
            const p = Math.exp(sd * scale - L);
            const pr = bf16(p), dsr = bf16(p * (dp - D));
            for (let d = 0; d < HS; d++) {
              dv[ko + d] += pr * bf16(dout[qo + d]);
              dk[ko + d] += scale * dsr * bf16(q[qo + d]);
              dqi[d] += dsr * bf16(k[ko + d]);
            }
          }
          for (let d = 0; d < HS; d++) dq[qo + d] += scale * dqi[d];
        }
      }
    }
  }


  embeddingForward(out: Float64Array, ids: Int32Array, table: Float64Array, N: number, C: number, _V: number): void {
    for (let n = 0; n < N; n++) {
      const row = ids[n] * C;
      for (let c = 0; c < C; c++) out[n * C + c] = table[row + c];
    }
  }

  embeddingBackward(dtable: Float64Array, dout: Float64Array, ids: Int32Array, N: number, C: number, _V: number): void {
    for (let n = 0; n < N; n++) {
      const row = ids[n] * C;
      for (let c = 0; c < C; c++) dtable[row + c] += dout[n * C + c];
    }
  }

  crossEntropyForward(
    losses: Float64Array, lse: Float64Array, logits: Float64Array, targets: Int32Array, N: number, V: number,
  ): void {
    for (let n = 0; n < N; n++) {
      const o = n * V;
      let mx = -Infinity;
      for (let j = 0; j < V; j++) if (logits[o + j] > mx) mx = logits[o + j];
      let den = 0;
      for (let j = 0; j < V; j++) den += Math.exp(logits[o + j] - mx);
      const l = mx + Math.log(den);
      lse[n] = l;
      const tgt = targets[n];
      losses[n] = tgt < 0 ? 0 : l - logits[o + tgt];
    }
  }

  crossEntropyBackward(
    dlogits: Float64Array, logits: Float64Array, lse: Float64Array, targets: Int32Array,
    dlosses: Float64Array, N: number, V: number,
  ): void {
    // Written, not accumulated; each element is read before it is written, so dlogits may be logits.
    for (let n = 0; n < N; n++) {
      const o = n * V;
      const tgt = targets[n];
      if (tgt < 0) {
        for (let j = 0; j < V; j++) dlogits[o + j] = 0;
        continue;
      }
      const dl = dlosses[n];
      for (let j = 0; j < V; j++) {
        const p = Math.exp(logits[o + j] - lse[n]);
        dlogits[o + j] = dl * (p - (j === tgt ? 1 : 0));
      }
    }
  }

  // ---- optimizer ----

  adamw(
    param: Float64Array, grad: Float64Array, m: Float64Array, v: Float64Array, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
  ): void {
    const c1 = 1 - Math.pow(beta1, step);
    const c2 = 1 - Math.pow(beta2, step);
    for (let i = 0; i < n; i++) {
      const g = grad[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      const mhat = m[i] / c1;
      const vhat = v[i] / c2;
      param[i] = param[i] * (1 - lr * weightDecay) - (lr * mhat) / (Math.sqrt(vhat) + eps);
    }
  }

  // ---- packed no-grad weights: decode each weight exactly, then the float64 product ----

  linearBf16(y: Float64Array, x: Float64Array, w: Uint16Array, M: number, N: number, K: number): void {
    const u = new Uint32Array(1);
    const f = new Float32Array(u.buffer);
    const row = new Float64Array(K);
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) {
        u[0] = w[n * K + k] << 16;
        row[k] = f[0];
      }
      this.rowProducts(y, x, row, n, M, N, K);
    }
  }

  linearQ8(y: Float64Array, x: Float64Array, codes: Int8Array, scales: Float32Array, M: number, N: number, K: number): void {
    const row = new Float64Array(K);
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) row[k] = scales[(n * K + k) >> 5] * codes[n * K + k];
      this.rowProducts(y, x, row, n, M, N, K);
    }
  }

  /** y[i, n] = x[i,:] · row for every i < M. */
  private rowProducts(y: Float64Array, x: Float64Array, row: Float64Array, n: number, M: number, N: number, K: number): void {
    for (let i = 0; i < M; i++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += x[i * K + k] * row[k];
      y[i * N + n] = acc;
    }
  }

  adamwBf16(
    param: Float64Array, grad: Float64Array, m: Uint16Array, v: Uint16Array, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
  ): void {
    const c1 = 1 - Math.pow(beta1, step);
    const c2 = 1 - Math.pow(beta2, step);
    for (let i = 0; i < n; i++) {
      const g = grad[i];
      const mi = beta1 * bf16BitsToF32(m[i]) + (1 - beta1) * g;
      const vi = beta2 * bf16BitsToF32(v[i]) + (1 - beta2) * g * g;
      m[i] = f32ToBf16Bits(mi);
      v[i] = f32ToBf16Bits(vi);
      param[i] = param[i] * (1 - lr * weightDecay) - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
    }
  }

  adamwInt8(
    param: Float64Array, grad: Float64Array, m: Int8Array, v: Uint8Array, mScale: Float32Array, vScale: Float32Array, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
  ): void {
    const c1 = 1 - Math.pow(beta1, step);
    const c2 = 1 - Math.pow(beta2, step);
    const B = ADAMW_INT8_BLOCK;
    const mf = new Float64Array(B), vf = new Float64Array(B);
    for (let b = 0; b * B < n; b++) {
      const i0 = b * B, len = Math.min(B, n - i0);
      let amax = 0, vmax = 0;
      for (let j = 0; j < len; j++) {
        const i = i0 + j, q = m[i];
        const mOld = mScale[b] * Math.sign(q) * (q / 127) ** 2;
        const vOld = vScale[b] * (v[i] / 255) ** 4;
        const g = grad[i];
        mf[j] = beta1 * mOld + (1 - beta1) * g;
        vf[j] = beta2 * vOld + (1 - beta2) * g * g;
        amax = Math.max(amax, Math.abs(mf[j]));
        vmax = Math.max(vmax, vf[j]);
        param[i] = param[i] * (1 - lr * weightDecay) - (lr * (mf[j] / c1)) / (Math.sqrt(vf[j] / c2) + eps);
      }
      // Scales are stored as float32 (the state format); codes come from the exact values.
      mScale[b] = amax;
      vScale[b] = vmax;
      for (let j = 0; j < len; j++) {
        const i = i0 + j;
        const q = amax > 0 ? Math.min(127, Math.floor(127 * Math.sqrt(Math.abs(mf[j]) / amax) + 0.5)) : 0;
        m[i] = mf[j] < 0 ? -q : q;
        const u = vmax > 0 ? Math.min(255, Math.floor(255 * Math.sqrt(Math.sqrt(vf[j] / vmax)) + 0.5)) : 0;
        v[i] = vf[j] > 0 && u < 1 ? 1 : u;
      }
    }
  }
}
