// One conformance suite for every backend (Hono's shared router tests, candle's test_device!):
// each op, forward and backward, is run on the backend under test and on the float64 reference
// with the same float32-representable random inputs, over awkward shapes; then determinism
// (bit-identical repeats at 1 and 2 threads) and thread-count independence up to tolerance.
// To add a backend (a GPU one later), add a factory to BACKENDS; nothing else changes.
// Tolerances are stated per op below with their reasoning; each was also checked once against a
// throwaway naive float32 emulation (sequential float32 accumulation, the worst ordering a fast kernel is
// likely to use), which stays at ≤10% of every tolerance except AdamW's m/v (≤20%).
// CONFORMANCE_REPORT=1 prints each check's max |diff| as a fraction of its tolerance.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Backend, FloatBuf } from "../../src/backend/backend.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from "../../src/io/dtypes.js";
import { fractionOutside, randn, rng, type Tol } from "../helpers.js";

type AnyBackend = Backend<FloatBuf>;

interface BackendFactory {
  name: string;
  /** Returns the backend, or throws with the reason it is unavailable on this machine. */
  load(): Promise<AnyBackend>;
  /**
   * Variants of one loaded backend to run the whole suite against (e.g. every kernel table the
   * CPU can run): a title and a function that switches the backend to it. Default: one, as loaded.
   */
  variants?(be: AnyBackend): Array<{ title: string; activate(): void }>;
}

type NativeLike = AnyBackend & { isa: string; bf16: string; availableIsas(): string[]; useIsa(isa: string, bf16?: string): void };

const BACKENDS: BackendFactory[] = [
  {
    name: "native",
    load: async () => {
      const mod = await import("../../src/backend/native.js");
      return (await mod.loadNative()) as AnyBackend;
    },
    // Every kernel table this CPU can run (AVX-512, AVX2, generic), and on the avx512 table both
    // bf16 GEMMs and attentions where the CPU has AVX512-BF16. SMOL_ISA=… limits the suite to that one table.
    variants: (be) => {
      const nb = be as NativeLike;
      const isas = process.env.SMOL_ISA ? [nb.isa] : nb.availableIsas();
      const out: Array<{ title: string; activate(): void }> = [];
      for (const isa of isas) {
        nb.useIsa(isa, "auto");
        const bf16Modes = nb.bf16 === "avx512bf16" ? ["native", "emulated"] : ["emulated"];
        for (const mode of bf16Modes) {
          out.push({ title: `isa ${isa}, bf16 GEMM and attention ${mode === "native" ? "avx512bf16" : "emulated"}`, activate: () => nb.useIsa(isa, mode) });
        }
      }
      nb.useIsa(isas[0], "auto");
      return out;
    },
  },
  // The reference against itself: keeps the harness (uploads, aliasing cases, thread loops)
  // exercised on machines with no native build. Its comparisons are exact.
  { name: "reference (self-check)", load: async () => new ReferenceBackend() },
  // e.g. { name: "webgpu", load: async () => (await import("../../src/backend/webgpu.js")).loadWebGpu() },
];

const ref = new ReferenceBackend();

// ---------------------------------------------------------------------------------------------
// Float conversion and upload helpers

/** Float64 → Float32 (round to nearest). */
export function toF32(x: ArrayLike<number>): Float32Array {
  return Float32Array.from(x);
}

/** Any float buffer → Float64 (exact). */
export function toF64(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x);
}

/** n uniform values in [-scale, scale), rounded to float32 so both backends see identical inputs. */
function data(n: number, seed: number, scale = 1): Float64Array {
  return toF64(toF32(randn(n, seed, scale)));
}

/** A buffer owned by `be` holding the values of x (converted to its float width). */
function upload(be: AnyBackend, x: Float64Array): FloatBuf {
  const buf = be.alloc(x.length);
  buf.set(x);
  return buf;
}

/** cos/sin tables [maxT, HS/2], computed in float64 then rounded to float32. */
function ropeTables(maxT: number, HS: number, theta = 10000) {
  const half = HS / 2;
  const cos = new Float64Array(maxT * half);
  const sin = new Float64Array(maxT * half);
  for (let p = 0; p < maxT; p++) {
    for (let i = 0; i < half; i++) {
      const a = p * Math.pow(theta, (-2 * i) / HS);
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  }
  return { cos: toF64(toF32(cos)), sin: toF64(toF32(sin)) };
}

function randomIds(n: number, V: number, seed: number, ignoreEvery = 0): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, (_, i) =>
    ignoreEvery > 0 && i % ignoreEvery === ignoreEvery - 1 ? (i % 2 ? -1 : -100) : Math.floor(r() * V),
  );
}

// ---------------------------------------------------------------------------------------------
// Comparison

const REPORT = !!process.env.CONFORMANCE_REPORT;
/** Thread counts for the determinism cases; CONFORMANCE_THREADS="1,2,3,4" tries more. */
const THREAD_COUNTS = (process.env.CONFORMANCE_THREADS ?? "1,2").split(",").map(Number);

/** Like helpers.assertClose, naming the case; with CONFORMANCE_REPORT=1 prints the margin used. */
function expectClose(got: Float64Array, want: Float64Array, tol: Tol, label: string) {
  assert.equal(got.length, want.length, `${label}: length ${got.length} != ${want.length}`);
  const atol = tol.atol ?? 0;
  const rtol = tol.rtol ?? 0;
  let maxDiff = 0, worst = -1, bad = -1, ratio = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    const allowed = atol + rtol * Math.abs(want[i]);
    if (!(d <= maxDiff)) {
      maxDiff = d;
      worst = i;
    }
    if (!(d <= allowed) && bad < 0) bad = i;
    const r = allowed > 0 ? d / allowed : d > 0 ? Infinity : 0;
    if (!(r <= ratio)) ratio = r;
  }
  const m = tol.mostly;
  const outside = m ? fractionOutside(got, want, m.atol, m.rtol) : 0;
  if (REPORT) {
    const note = m ? `; ${(100 * outside).toFixed(2)}% outside the tight bound (${(100 * outside / m.fraction).toFixed(1)}% of the allowed)` : "";
    console.log(`  ${label}: max|diff| ${maxDiff.toExponential(2)} = ${(ratio * 100).toFixed(1)}% of tolerance${note}`);
  }
  if (m && !(outside <= m.fraction)) {
    assert.fail(`${label}: ${(100 * outside).toFixed(2)}% of elements differ by more than atol ${m.atol}, rtol ${m.rtol} (at most ${100 * m.fraction}% may; max |diff| ${maxDiff.toExponential(3)})`);
  }
  if (bad >= 0) {
    assert.fail(
      `${label}: mismatch at [${bad}] got ${got[bad]} want ${want[bad]}; max |diff| ` +
        `${maxDiff.toExponential(3)} at [${worst}] (atol ${atol}, rtol ${rtol})`,
    );
  }
}

function expectBitIdentical(a: Float64Array, b: Float64Array, label: string) {
  assert.equal(a.length, b.length, `${label}: length`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${label}: repeat differs at [${i}]: ${a[i]} vs ${b[i]}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Cases: each runs one op on a given backend with fixed inputs and returns its outputs.

type Outputs = Record<string, Float64Array>;

interface Case {
  name: string;
  run(be: AnyBackend): Outputs;
  /** Tolerance for each output, chosen where the case is built (see the comment there). */
  tol: Record<string, Tol>;
}

let seed = 1;

// matmul: each output is a float32 sum of K products of values ≤ 1. Rounding error of such a
// sum grows like u·sqrt(K)·|partial sums| ≈ u·K/3 in the typical (random-walk) case, u = 6e-8,
// i.e. ~2e-5 at K = 1000; atol 1e-5·sqrt(K) (3e-4 at K = 1000, 1e-5 at K = 1) keeps a >10x
// margin while a dropped or doubled term (~0.3) fails. rtol 1e-5 covers the accumulated C.
// matmulBf16 (bf16 = true): the reference rounds every input to bf16 and sums in float64; products
// of bf16 values are exact in float32, so the native error is the same float32 summation error as
// matmul's and the same tolerance applies, while a missed rounding (inputs used unrounded) is
// ~2^-9 relative per product, ~1e-3·sqrt(K) in total, far above it.
function matmulCase(
  M: number, N: number, K: number, tA: boolean, tB: boolean, acc: boolean,
  batch = 1, sA = M * K, sB = K * N, sC = M * N, bf16 = false,
): Case {
  const s = seed++;
  const A = data((batch - 1) * sA + M * K, s * 3);
  const B = data((batch - 1) * sB + K * N, s * 3 + 1);
  const C0 = data((batch - 1) * sC + M * N, s * 3 + 2);
  const strides = batch > 1 ? ` batch=${batch} strides=${sA},${sB},${sC}` : "";
  return {
    name: `${bf16 ? "matmulBf16" : "matmul"} M=${M} N=${N} K=${K} tA=${tA} tB=${tB} acc=${acc}${strides}`,
    run(be) {
      const c = upload(be, C0);
      (bf16 ? be.matmulBf16 : be.matmul).call(be, c, upload(be, A), upload(be, B), M, N, K, tA, tB, acc, batch, sA, sB, sC);
      return { c: toF64(c) };
    },
    tol: { c: { atol: 1e-5 * Math.sqrt(K), rtol: 1e-5 } },
  };
}

// linearBf16 / linearQ8 (packed no-grad weights, native/gemv_packed.inc): the reference decodes
// every weight exactly (bf16 bits << 16; fp16-representable scale × int8 code) and sums in
// float64. The decoded weights are float32 numbers ≤ 1 in magnitude and the native kernels widen
// them exactly and use fused multiply-adds, so the only error is float32 summation, as in matmul:
// the same tolerance. A misread weight (wrong block scale, wrong row, a missed sign extension) is
// O(0.01–1) per product, far above it. y is pre-filled with garbage: the ops write, not add.
function packedCase(kind: "bf16" | "q8_0", M: number, N: number, K: number): Case {
  const s = seed++;
  const x = data(M * K, s * 3);
  const y0 = data(M * N, s * 3 + 2);
  const r = rng(s * 3 + 1);
  let run: (be: AnyBackend, y: FloatBuf, xb: FloatBuf) => void;
  if (kind === "bf16") {
    const w = data(N * K, s * 3 + 1);
    const bits = Uint16Array.from(w, (v) => f32ToBf16Bits(v));
    run = (be, y, xb) => be.linearBf16(y, xb, bits, M, N, K);
  } else {
    const codes = Int8Array.from({ length: N * K }, () => Math.floor(r() * 255) - 127);
    // fp16-representable scales (as a Q8_0 block stores them), ≈ max|w|/127 for weights ≤ 1
    const scales = Float32Array.from({ length: (N * K) / 32 }, () => f16BitsToF32(f32ToF16Bits((0.2 + r()) / 127)));
    run = (be, y, xb) => be.linearQ8(y, xb, codes, scales, M, N, K);
  }
  return {
    name: `${kind === "bf16" ? "linearBf16" : "linearQ8"} M=${M} N=${N} K=${K}`,
    run(be) {
      const y = upload(be, y0);
      run(be, y, upload(be, x));
      return { y: toF64(y) };
    },
    tol: { y: { atol: 1e-5 * Math.sqrt(K), rtol: 1e-5 } },
  };
}

// countNonFinite: NaN, +Inf and -Inf planted at known places (first, last, across chunk edges)
// among ordinary, huge (3e38) and tiny (1e-45) finite values; the count is exact.
function countNonFiniteCase(n: number, planted: readonly number[]): Case {
  const x = data(n, seed++ * 3, 1);
  for (let i = 0; i < n; i += 97) x[i] = i % 2 ? 3e38 : -1e-45;
  const bad = [NaN, Infinity, -Infinity];
  planted.forEach((p, j) => (x[p] = bad[j % 3]));
  return {
    name: `countNonFinite n=${n} planted=${planted.length}`,
    run(be) {
      return { count: Float64Array.of(be.countNonFinite(upload(be, x), n)) };
    },
    tol: { count: { atol: 0 } },
  };
}

// Elementwise ops: one or two float32 roundings (u = 6e-8) of O(1) values, and alpha/s are
// passed to the kernel as float32: rtol 1e-6 / atol 1e-6 is ~10 ulp while any wrong element is O(1).
const ELEM: Tol = { rtol: 1e-6, atol: 1e-6 };

function elementwiseCases(n: number): Case[] {
  const s = seed++;
  const a = data(n, s * 5);
  const b = data(n, s * 5 + 1);
  const y = data(n, s * 5 + 2);
  return [
    {
      name: `add n=${n}`,
      run(be) {
        const o = be.alloc(n);
        be.add(o, upload(be, a), upload(be, b), n);
        return { out: toF64(o) };
      },
      tol: { out: ELEM },
    },
    {
      name: `add in place (out = a) n=${n}`,
      run(be) {
        const o = upload(be, a);
        be.add(o, o, upload(be, b), n);
        return { out: toF64(o) };
      },
      tol: { out: ELEM },
    },
    {
      name: `mul n=${n}`,
      run(be) {
        const o = be.alloc(n);
        be.mul(o, upload(be, a), upload(be, b), n);
        return { out: toF64(o) };
      },
      tol: { out: ELEM },
    },
    {
      name: `mul in place (out = b) n=${n}`,
      run(be) {
        const o = upload(be, b);
        be.mul(o, upload(be, a), o, n);
        return { out: toF64(o) };
      },
      tol: { out: ELEM },
    },
    {
      name: `axpy n=${n}`,
      run(be) {
        const o = upload(be, y);
        be.axpy(o, upload(be, a), -0.37, n);
        return { y: toF64(o) };
      },
      tol: { y: ELEM },
    },
    {
      name: `scale in place n=${n}`,
      run(be) {
        const o = upload(be, a);
        be.scale(o, o, 1.7, n);
        return { out: toF64(o) };
      },
      tol: { out: ELEM },
    },
    {
      name: `fill (only n of n+3 elements) n=${n}`,
      run(be) {
        const o = upload(be, data(n + 3, 99));
        be.fill(o, 0.25, n);
        return { out: toF64(o) };
      },
      tol: { out: { atol: 0 } }, // a copy of an exactly representable value: exact
    },
    {
      name: `sum n=${n}`,
      run: (be) => ({ s: Float64Array.of(be.sum(upload(be, a), n)) }),
      // float64 accumulation of float32 values: ~n·1e-16 whatever the order
      tol: { s: { atol: 1e-11 * n, rtol: 1e-12 } },
    },
    {
      name: `sumSquares n=${n}`,
      run: (be) => ({ s: Float64Array.of(be.sumSquares(upload(be, a), n)) }),
      tol: { s: { atol: 1e-11 * n, rtol: 1e-12 } },
    },
  ];
}

// Row ops: mulRow/addRow are single roundings (ELEM); sumRows/sumCols are float32 reductions of
// N (resp. C) values ≤ 1 in magnitude, so the same sqrt-length rule as matmul applies.
function rowCases(N: number, C: number): Case[] {
  const s = seed++;
  const x = data(N * C, s * 5);
  const w = data(C, s * 5 + 1);
  const o0 = data(Math.max(N, C), s * 5 + 2);
  return [
    {
      name: `mulRow N=${N} C=${C}`,
      run(be) {
        const o = be.alloc(N * C);
        be.mulRow(o, upload(be, x), upload(be, w), N, C);
        return { out: toF64(o) };
      },
      tol: { out: ELEM },
    },
    {
      name: `mulRow in place N=${N} C=${C}`,
      run(be) {
        const o = upload(be, x);
        be.mulRow(o, o, upload(be, w), N, C);
        return { out: toF64(o) };
      },
      tol: { out: ELEM },
    },
    {
      name: `addRow in place N=${N} C=${C}`,
      run(be) {
        const o = upload(be, x);
        be.addRow(o, o, upload(be, w), N, C);
        return { out: toF64(o) };
      },
      tol: { out: ELEM },
    },
    ...[false, true].map((acc): Case => ({
      name: `sumRows acc=${acc} N=${N} C=${C}`,
      run(be) {
        const o = upload(be, o0.subarray(0, C));
        be.sumRows(o, upload(be, x), N, C, acc);
        return { out: toF64(o) };
      },
      tol: { out: { atol: 1e-5 * Math.sqrt(N), rtol: 1e-5 } },
    })),
    {
      name: `sumCols N=${N} C=${C}`,
      run(be) {
        const o = upload(be, o0.subarray(0, N));
        be.sumCols(o, upload(be, x), N, C);
        return { out: toF64(o) };
      },
      tol: { out: { atol: 1e-5 * Math.sqrt(C), rtol: 1e-5 } },
    },
  ];
}

// rmsnorm: the mean square is a float32 reduction over C (relative error ~u·sqrt(C)), then a
// few roundings per element: out and rstd agree to ~1e-6 relative; 1e-5 leaves a 10x margin.
// Backward: dx subtracts a C-length dot product (cancellation, O(1) values) and dw sums N rows,
// so their absolute tolerances scale with sqrt(C) and sqrt(N) as for matmul.
function rmsnormCases(N: number, C: number): Case[] {
  const s = seed++;
  const eps = 1e-5;
  const x = data(N * C, s * 7, 2);
  const w = data(C, s * 7 + 1);
  const dout = data(N * C, s * 7 + 2);
  const dx0 = data(N * C, s * 7 + 3);
  const dw0 = data(C, s * 7 + 4);
  // rstd for the backward comes from the reference forward, rounded to float32, so both
  // backends differentiate at exactly the same point.
  const rstd = new Float64Array(N);
  ref.rmsnormForward(new Float64Array(N * C), rstd, x, w, N, C, eps);
  const rstd32 = toF64(toF32(rstd));
  return [
    {
      name: `rmsnormForward N=${N} C=${C}`,
      run(be) {
        const out = be.alloc(N * C);
        const r = be.alloc(N);
        be.rmsnormForward(out, r, upload(be, x), upload(be, w), N, C, eps);
        return { out: toF64(out), rstd: toF64(r) };
      },
      tol: { out: { rtol: 1e-5, atol: 1e-5 }, rstd: { rtol: 1e-5 } },
    },
    ...[false, true].map((acc): Case => ({
      name: `rmsnormBackward ${acc ? "onto non-zero d-buffers" : "from zero"} N=${N} C=${C}`,
      run(be) {
        const dx = acc ? upload(be, dx0) : be.alloc(N * C);
        const dw = acc ? upload(be, dw0) : be.alloc(C);
        be.rmsnormBackward(dx, dw, upload(be, dout), upload(be, x), upload(be, w), upload(be, rstd32), N, C);
        return { dx: toF64(dx), dw: toF64(dw) };
      },
      tol: {
        dx: { rtol: 1e-5, atol: 2e-6 * Math.sqrt(C) },
        dw: { rtol: 1e-5, atol: 1e-5 * Math.sqrt(N) },
      },
    })),
  ];
}

// rope: two products and a sum of O(1) values per element (tables shared as float32): 1e-6.
function ropeCases(B: number, T: number, NH: number, HS: number, pos0: number): Case[] {
  const s = seed++;
  const n = B * T * NH * HS;
  const { cos, sin } = ropeTables(pos0 + T, HS);
  const x = data(n, s * 3);
  const dout = data(n, s * 3 + 1);
  const dx0 = data(n, s * 3 + 2);
  const shape = `B=${B} T=${T} NH=${NH} HS=${HS} pos0=${pos0}`;
  const tol = { rtol: 1e-6, atol: 1e-6 };
  return [
    {
      name: `ropeForward ${shape}`,
      run(be) {
        const out = be.alloc(n);
        be.ropeForward(out, upload(be, x), upload(be, cos), upload(be, sin), B, T, NH, HS, pos0);
        return { out: toF64(out) };
      },
      tol: { out: tol },
    },
    {
      name: `ropeForward in place ${shape}`,
      run(be) {
        const buf = upload(be, x);
        be.ropeForward(buf, buf, upload(be, cos), upload(be, sin), B, T, NH, HS, pos0);
        return { out: toF64(buf) };
      },
      tol: { out: tol },
    },
    {
      name: `ropeBackward onto non-zero dx ${shape}`,
      run(be) {
        const dx = upload(be, dx0);
        be.ropeBackward(dx, upload(be, dout), upload(be, cos), upload(be, sin), B, T, NH, HS, pos0);
        return { dx: toF64(dx) };
      },
      tol: { dx: tol },
    },
  ];
}

// swiglu: exp (possibly a SIMD polynomial, a few ulp) plus a division and products: rtol 1e-5
// allows ~100 ulp; atol 1e-6 covers results near 0 (silu(g) → 0 for very negative g).
function swigluCases(n: number): Case[] {
  const s = seed++;
  const gate = data(n, s * 5, 8);
  const up = data(n, s * 5 + 1, 2);
  const dout = data(n, s * 5 + 2);
  const dg0 = data(n, s * 5 + 3);
  const du0 = data(n, s * 5 + 4);
  const tol = { rtol: 1e-5, atol: 1e-6 };
  return [
    {
      name: `swigluForward n=${n}`,
      run(be) {
        const out = be.alloc(n);
        be.swigluForward(out, upload(be, gate), upload(be, up), n);
        return { out: toF64(out) };
      },
      tol: { out: tol },
    },
    {
      name: `swigluBackward onto non-zero d-buffers n=${n}`,
      run(be) {
        const dg = upload(be, dg0);
        const du = upload(be, du0);
        be.swigluBackward(dg, du, upload(be, dout), upload(be, gate), upload(be, up), n);
        return { dgate: toF64(dg), dup: toF64(du) };
      },
      tol: { dgate: tol, dup: tol },
    },
  ];
}

// attention: scores are float32 dot products over HS, softmax over ≤ Tk keys, then a weighted
// sum over keys: error ~u·(sqrt(HS) + sqrt(Tk))·O(1) ≈ 1e-6 (measured ≤ 9e-7): out and lse get
// atol 1e-5 (>10x margin). Backward sums over Tq·(NH/NKV) queries per key and over keys per
// query, with the softmax derivative's cancellation (dp - D) on O(1) gradients (measured
// ≤ 2.3e-6): atol 3e-5. A mask, offset or GQA-mapping error is O(0.1).
function attentionCases(
  B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number, qkScale = 2, bf16 = false,
): Case[] {
  const s = seed++;
  const scale = 1 / Math.sqrt(HS);
  const nq = B * Tq * NH * HS;
  const nk = B * Tk * NKV * HS;
  const m = bf16 ? 13 : 11;
  const q = data(nq, s * m, qkScale);
  const k = data(nk, s * m + 1, qkScale);
  // With large q, k (scores past exp's float32 range, ~88) the case checks max-subtraction, not
  // precision: a score's float32 error ~u·scale·Σ|q k| (≈2e-5 at qkScale 10, HS 64) shifts
  // probabilities by that much relatively, so tolerances widen in proportion.
  const widen = Math.max(1, (qkScale / 2) ** 2);
  const v = data(nk, s * m + 2);
  const dout = data(nq, s * m + 3);
  const dq0 = data(nq, s * m + 4);
  const dk0 = data(nk, s * m + 5);
  const dv0 = data(nk, s * m + 6);
  // out and lse for the backward come from the reference, rounded to float32 (same point for both).
  const out = new Float64Array(nq);
  const lse = new Float64Array(B * NH * Tq);
  (bf16 ? ref.attentionForwardBf16 : ref.attentionForward).call(ref, out, lse, q, k, v, B, Tq, Tk, NH, NKV, HS, scale);
  const out32 = toF64(toF32(out));
  const lse32 = toF64(toF32(lse));
  const shape = `B=${B} Tq=${Tq} Tk=${Tk} NH=${NH} NKV=${NKV} HS=${HS}${qkScale !== 2 ? ` |q|,|k|<${qkScale}` : ""}`;
  const tight = { rtol: 1e-5, atol: 1e-5 * widen };
  const fwd: Tol = bf16 ? { atol: 4e-3 * widen, mostly: { atol: 1e-5 * widen, rtol: 1e-5, fraction: 0.05 } } : tight;
  const bwd: Tol = bf16
    ? { atol: 4e-3 * widen, mostly: { atol: 3e-5 * widen, rtol: 1e-5, fraction: 0.05 } }
    : { rtol: 1e-5, atol: 3e-5 * widen };
  const sfx = bf16 ? "Bf16" : "";
  return [
    {
      name: `attentionForward${sfx} ${shape}`,
      run(be) {
        const o = be.alloc(nq);
        const l = be.alloc(B * NH * Tq);
        (bf16 ? be.attentionForwardBf16 : be.attentionForward).call(be, o, l, upload(be, q), upload(be, k), upload(be, v), B, Tq, Tk, NH, NKV, HS, scale);
        return { out: toF64(o), lse: toF64(l) };
      },
      tol: { out: fwd, lse: tight },
    },
    ...[false, true].map((acc): Case => ({
      name: `attentionBackward${sfx} ${acc ? "onto non-zero d-buffers" : "from zero"} ${shape}`,
      run(be) {
        const dq = acc ? upload(be, dq0) : be.alloc(nq);
        const dk = acc ? upload(be, dk0) : be.alloc(nk);
        const dv = acc ? upload(be, dv0) : be.alloc(nk);
        (bf16 ? be.attentionBackwardBf16 : be.attentionBackward).call(
          be, dq, dk, dv, upload(be, dout), upload(be, q), upload(be, k), upload(be, v),
          upload(be, out32), upload(be, lse32), B, Tq, Tk, NH, NKV, HS, scale,
        );
        return { dq: toF64(dq), dk: toF64(dk), dv: toF64(dv) };
      },
      tol: { dq: bwd, dk: bwd, dv: bwd },
    })),
  ];
}

// attentionForwardBf16 / attentionBackwardBf16: the reference rounds exactly where the kernels
// round (q, k, v, dout, and P and dS after the softmax, P relative to the running max of each
// 64-key block), so kernel and reference differ by float32 arithmetic, as for fp32 attention
// (measured ≤ 1e-6; fp32 attention's bounds 1e-5 / 3e-5 apply) — except where a P or dS value
// lies within that float32 error of a bf16 rounding boundary and the two round it to neighbouring
// bf16 values. Such a flip moves one term by a bf16 ulp (2^-8 of it) in a whole output row (HS
// elements): at most 2^-8·max|v| ≈ 4e-3 with |v|, |dout| < 1 (measured up to 2.4e-4), and rare
// (~1e-4 of the rounded values), so it touches a few rows. Bounds: every element within 4e-3
// (a mask, offset or GQA error is O(0.1)), and at least 95% of the elements within the fp32
// bounds (measured: at most 1.4% outside, a flipped row of the smallest case; one wrong query
// row of a Tq 17–33 case is 3–6% of its elements); skipping any one
// rounding moves nearly every element by ~2^-9 relative (bf16.test.ts), far past the fp32
// bounds, so a kernel that rounds less (or otherwise) than the reference fails. lse involves no
// rounded product beyond the inputs: fp32's 1e-5.
function attentionBf16Cases(
  B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number, qkScale = 2,
): Case[] {
  return attentionCases(B, Tq, Tk, NH, NKV, HS, qkScale, true);
}

// embedding: forward is a copy (exact); backward sums up to N float32 rows into one row (repeated
// ids), so the sqrt-length rule again: atol 2e-6·sqrt(N) on O(1) values.
function embeddingCases(N: number, C: number, V: number): Case[] {
  const s = seed++;
  const ids = randomIds(N, V, s * 3);
  const table = data(V * C, s * 3 + 1);
  const dout = data(N * C, s * 3 + 2);
  const dt0 = data(V * C, s * 3 + 3);
  return [
    {
      name: `embeddingForward N=${N} C=${C} V=${V}`,
      run(be) {
        const o = be.alloc(N * C);
        be.embeddingForward(o, ids, upload(be, table), N, C, V);
        return { out: toF64(o) };
      },
      tol: { out: { atol: 0 } },
    },
    {
      name: `embeddingBackward onto non-zero dtable N=${N} C=${C} V=${V}`,
      run(be) {
        const dt = upload(be, dt0);
        be.embeddingBackward(dt, upload(be, dout), ids, N, C, V);
        return { dtable: toF64(dt) };
      },
      tol: { dtable: { rtol: 1e-5, atol: 2e-6 * Math.sqrt(N) } },
    },
  ];
}

// cross-entropy: lse is a float32 sum of V exponentials (relative error ~u·sqrt(V) plus the exp
// approximation), so losses agree to ~1e-6 absolute at these logit scales: atol 2e-5. The
// backward's probabilities are exp(logit - lse) ≤ 1: atol 1e-6 (relative 1e-4 of a typical 1/V
// probability at V = 257 would be too tight to state; absolute is the honest measure).
function crossEntropyCases(N: number, V: number, logitScale = 5): Case[] {
  const s = seed++;
  const shape = `N=${N} V=${V}${logitScale !== 5 ? ` |logits|<${logitScale}` : ""}`;
  const targets = randomIds(N, V, s * 5, 4); // every 4th row ignored (-1 or -100)
  const logits = data(N * V, s * 5 + 1, logitScale);
  const dlosses = data(N, s * 5 + 2);
  const losses = new Float64Array(N);
  const lse = new Float64Array(N);
  ref.crossEntropyForward(losses, lse, logits, targets, N, V);
  const lse32 = toF64(toF32(lse));
  const tolD = { rtol: 1e-4, atol: 1e-6 };
  return [
    {
      name: `crossEntropyForward ${shape}`,
      run(be) {
        const l = upload(be, data(N, 1234)); // garbage: must be overwritten (ignored rows → 0)
        const ls = be.alloc(N);
        be.crossEntropyForward(l, ls, upload(be, logits), targets, N, V);
        return { losses: toF64(l), lse: toF64(ls) };
      },
      tol: { losses: { rtol: 1e-5, atol: 2e-5 }, lse: { rtol: 1e-5, atol: 2e-5 } },
    },
    {
      name: `crossEntropyBackward writes over garbage ${shape}`,
      run(be) {
        const d = upload(be, data(N * V, 4321, 100));
        be.crossEntropyBackward(d, upload(be, logits), upload(be, lse32), targets, upload(be, dlosses), N, V);
        return { dlogits: toF64(d) };
      },
      tol: { dlogits: tolD },
    },
    {
      name: `crossEntropyBackward in place (dlogits = logits) ${shape}`,
      run(be) {
        const buf = upload(be, logits);
        be.crossEntropyBackward(buf, buf, upload(be, lse32), targets, upload(be, dlosses), N, V);
        return { dlogits: toF64(buf) };
      },
      tol: { dlogits: tolD },
    },
  ];
}

// AdamW: the kernel takes float32 betas, and 1 - fround(0.9) = 0.10000002 is off by 2.4e-7
// relative, so m = b1·m + (1-b1)·g (which may cancel to ~0) differs by up to ~3e-8 absolute for
// |g| ≤ 1 in a float32 emulation: m, v get atol 2e-7 (6x margin), rtol 1e-6. The parameter moves
// by ~lr, so its error is ~u·|p| plus lr times the relative error of m̂/sqrt(v̂) (bias corrections
// from float32 betas can be off ~1e-5 relative at step 1000): rtol 1e-6, atol 1e-7.
function adamwCase(n: number, step: number, beta2 = 0.95): Case {
  const s = seed++;
  const p0 = data(n, s * 5);
  const g = data(n, s * 5 + 1);
  const m0 = data(n, s * 5 + 2, 0.1);
  const v0 = toF64(toF32(data(n, s * 5 + 3, 0.1).map((x) => x * x)));
  if (n > 2) {
    g[1] = 0; // zero gradient on a zero-moment element: update is decay only
    m0[1] = 0;
    v0[1] = 0;
  }
  return {
    name: `adamw n=${n} step=${step} beta2=${beta2}`,
    run(be) {
      const p = upload(be, p0);
      const m = upload(be, m0);
      const v = upload(be, v0);
      be.adamw(p, upload(be, g), m, v, n, 1e-3, 0.9, beta2, 1e-8, 0.01, step);
      return { param: toF64(p), m: toF64(m), v: toF64(v) };
    },
    tol: { param: { rtol: 1e-6, atol: 1e-7 }, m: { rtol: 1e-6, atol: 2e-7 }, v: { rtol: 1e-6, atol: 2e-7 } },
  };
}

// ---------------------------------------------------------------------------------------------
// The case list: awkward sizes (1, odd, 17/33/63/65/127 around SIMD widths, 1000, 4097).

const SIZES = [1, 7, 17, 33, 63, 65, 127, 1000, 4097];
const TRANSPOSES = [[false, false], [true, false], [false, true], [true, true]] as const;

function allCases(): Case[] {
  const cases: Case[] = [];
  const mm: [number, number, number][] = [
    [1, 1, 1], [1, 17, 33], [17, 1, 63], [33, 65, 17], [63, 127, 65], [65, 33, 1000], [127, 127, 127], [7, 9, 1000],
  ];
  for (const [M, N, K] of mm) {
    for (const [tA, tB] of TRANSPOSES) {
      for (const acc of [false, true]) cases.push(matmulCase(M, N, K, tA, tB, acc));
    }
  }
  for (const [tA, tB] of TRANSPOSES) {
    // batched, contiguous; B broadcast (stride 0); A broadcast; padded strides (gaps untouched)
    cases.push(matmulCase(17, 33, 65, tA, tB, false, 3));
    cases.push(matmulCase(17, 33, 65, tA, tB, true, 3, 17 * 65, 0, 17 * 33));
    cases.push(matmulCase(9, 5, 63, tA, tB, false, 4, 0, 5 * 63, 9 * 5));
    cases.push(matmulCase(7, 5, 3, tA, tB, true, 2, 7 * 3 + 5, 3 * 5 + 1, 7 * 5 + 3));
  }
  for (const [M, N, K] of [[1, 1, 1], [3, 17, 31], [17, 97, 100], [65, 130, 17], [31, 65, 300], [100, 70, 1027]]) {
    for (const [tA, tB] of TRANSPOSES) cases.push(matmulCase(M, N, K, tA, tB, tA, 1, M * K, K * N, M * N, true));
  }
  cases.push(matmulCase(17, 33, 65, false, true, true, 3, 17 * 65, 0, 17 * 33, true));
  // packed weights: M across the 4-row blocks and past 16, K with vector tails (bf16) and whole
  // Q8_0 blocks of 32, N across the chunk and prefetch boundaries
  for (const [M, N, K] of [[1, 1, 1], [1, 17, 33], [3, 9, 16], [4, 65, 63], [5, 127, 1000], [16, 33, 129], [17, 7, 48], [33, 2049, 576]]) {
    cases.push(packedCase("bf16", M, N, K));
  }
  for (const [M, N, K] of [[1, 1, 32], [1, 17, 64], [3, 9, 96], [4, 65, 160], [5, 127, 1024], [16, 33, 576], [17, 7, 32], [33, 2049, 576]]) {
    cases.push(packedCase("q8_0", M, N, K));
  }
  for (const n of SIZES) cases.push(...elementwiseCases(n));
  cases.push(countNonFiniteCase(1, []), countNonFiniteCase(1, [0]), countNonFiniteCase(17, [0, 16]), countNonFiniteCase(4097, [5, 4096]));
  cases.push(countNonFiniteCase(100003, [0, 16383, 16384, 65536, 100002]));
  for (const [N, C] of [[1, 1], [1, 17], [17, 1], [7, 33], [63, 65], [1000, 7], [9, 1000]]) {
    cases.push(...rowCases(N, C));
  }
  for (const [N, C] of [[1, 1], [3, 17], [17, 33], [5, 63], [7, 64], [4, 65], [2, 127], [33, 576], [1, 1000]]) {
    cases.push(...rmsnormCases(N, C));
  }
  for (const [B, T, NH, HS, pos0] of [
    [1, 1, 1, 8, 0], [1, 1, 3, 8, 1], [2, 17, 3, 16, 5], [1, 33, 9, 64, 0],
    [1, 65, 3, 64, 63], [3, 7, 5, 16, 0], [1, 3, 2, 2, 1],
  ]) {
    cases.push(...ropeCases(B, T, NH, HS, pos0));
  }
  for (const n of SIZES) cases.push(...swigluCases(n));
  for (const [B, Tq, Tk, NH, NKV, HS] of [
    [1, 1, 1, 1, 1, 8], // everything 1
    [2, 17, 17, 4, 4, 16], // GQA ratio 1
    [1, 33, 33, 4, 2, 16], // ratio 2
    [2, 17, 17, 6, 2, 8], // ratio 3
    [1, 33, 33, 9, 3, 64], // ratio 3, SmolLM2-135M heads
    [1, 5, 65, 9, 1, 64], // ratio 9, Tq < Tk
    [2, 1, 63, 3, 3, 8], // single query over a cache
    [3, 1, 801, 9, 3, 64], // single query (decoding path), SmolLM2-135M heads, long cache
    [2, 1, 5, 8, 4, 32], // single query, a few keys
    [2, 1, 1100, 8, 4, 32], // single query, HS 32: three key chunks of the decode kernel, a partial 16-key block
    [1, 1, 513, 8, 1, 64], // single query, 8 heads per group (two passes of 4), one key past a chunk
    [1, 1, 40, 5, 1, 128], // single query, HS 128: passes of 2 heads, the last one a single head
    [1, 1, 37, 4, 4, 128], // single query, HS 128, no grouping
    [1, 1, 1, 3, 1, 64], // single query over one key
    [1, 17, 127, 2, 1, 64], // Tq < Tk, ratio 2
    [1, 65, 65, 3, 1, 16], // odd T past SIMD widths
    [2, 40, 70, 8, 4, 32], // HS 32 (research-7m heads): a narrow tile block, scale 1/sqrt(32)
    [1, 40, 50, 4, 2, 48], // HS 48: one full tile block plus a 3-vector block on AVX-512
    [1, 20, 30, 2, 1, 7], // HS 7: a 3-column tail block on the generic table, ops.inc's kernel elsewhere
    [1, 70, 90, 4, 2, 128], // HS 128: two register tiles per row, scale 1/sqrt(128) not a power of two
  ]) {
    cases.push(...attentionCases(B, Tq, Tk, NH, NKV, HS));
  }
  cases.push(...attentionCases(1, 17, 33, 4, 2, 64, 10)); // scores beyond exp's float32 range
  cases.push(...attentionCases(2, 1, 40, 4, 2, 64, 10)); // the same on the single-query path
  // bf16 attention: the same shapes plus several 64-key blocks (the running max changes between
  // blocks), odd query counts (a half-filled last query pair) and Tq < Tk with an odd offset
  // (pass A packs each query block itself; pass B recomputes dS).
  for (const [B, Tq, Tk, NH, NKV, HS] of [
    [1, 1, 1, 1, 1, 8],
    [2, 17, 17, 4, 4, 16],
    [2, 17, 17, 6, 2, 8],
    [1, 33, 33, 9, 3, 64],
    [1, 5, 65, 9, 1, 64],
    [2, 1, 63, 3, 3, 8],
    [3, 1, 200, 9, 3, 64],
    [1, 17, 127, 2, 1, 64],
    [1, 65, 65, 3, 1, 16],
    [1, 70, 90, 4, 2, 128],
    [1, 70, 90, 4, 2, 96], // HS 96: not a multiple of 64 (the AVX512-BF16 kernel hands it to the emulated one)
    [2, 40, 70, 8, 4, 32], // HS 32 (research-7m): the emulated kernel's panels with a narrow column block
    [2, 131, 131, 6, 2, 64],
    [1, 100, 161, 4, 2, 64],
  ]) {
    cases.push(...attentionBf16Cases(B, Tq, Tk, NH, NKV, HS));
  }
  cases.push(...attentionBf16Cases(1, 17, 33, 4, 2, 64, 10)); // scores beyond exp's float32 range
  for (const [N, C, V] of [[1, 1, 1], [17, 33, 5], [65, 64, 257], [1000, 17, 3]]) {
    cases.push(...embeddingCases(N, C, V));
  }
  for (const [N, V] of [[1, 1], [1, 2], [4, 17], [17, 257], [33, 1000], [5, 4097]]) {
    cases.push(...crossEntropyCases(N, V));
  }
  cases.push(...crossEntropyCases(9, 257, 200)); // logits past exp's float32 range: needs max-subtraction
  for (const n of [1, 17, 1000, 4097]) {
    for (const step of [1, 10, 1000]) cases.push(adamwCase(n, step));
  }
  cases.push(adamwCase(1000, 1000, 0.999));
  return cases;
}

// Larger instances, big enough that a threaded kernel actually splits its work (reductions over
// rows, scatter-adds with colliding ids, attention over many heads).
function threadCases(): Case[] {
  return [
    matmulCase(127, 65, 1000, false, false, false),
    matmulCase(127, 65, 1000, true, true, true),
    matmulCase(33, 65, 129, false, true, true, 6, 33 * 129, 0, 33 * 65),
    matmulCase(127, 130, 1000, false, true, false, 1, 127 * 1000, 1000 * 130, 127 * 130, true),
    packedCase("bf16", 16, 4099, 576),
    packedCase("q8_0", 16, 4099, 576),
    ...elementwiseCases(100003),
    countNonFiniteCase(1000003, [3, 500000, 1000002]),
    ...rowCases(1000, 127),
    ...rowCases(127, 1000),
    ...rmsnormCases(257, 576),
    ...ropeCases(2, 65, 9, 64, 3),
    ...swigluCases(100003),
    ...attentionCases(2, 65, 65, 9, 3, 64),
    ...attentionCases(1, 17, 129, 6, 2, 64),
    ...attentionCases(2, 100, 300, 8, 4, 32),
    ...attentionCases(2, 1, 1500, 9, 3, 64), // decode kernel split into key chunks across threads
    ...attentionBf16Cases(2, 200, 200, 9, 3, 64),
    ...attentionBf16Cases(1, 17, 129, 6, 2, 64),
    ...embeddingCases(4096, 64, 17),
    ...crossEntropyCases(65, 1000),
    adamwCase(100003, 10),
  ];
}

// ---------------------------------------------------------------------------------------------
// The suite: one loop over backends.

const CASES = allCases();
const THREAD_CASES = threadCases();
// Expected outputs are computed once, lazily, from the reference.
const expected = new Map<Case, Outputs>();
function want(c: Case): Outputs {
  let w = expected.get(c);
  if (!w) {
    w = c.run(ref);
    expected.set(c, w);
  }
  return w;
}

function checkAgainstReference(c: Case, got: Outputs, suffix = "") {
  const w = want(c);
  for (const key of Object.keys(w)) {
    assert.ok(got[key], `${c.name}: missing output ${key}`);
    expectClose(got[key], w[key], c.tol[key], `${c.name}${suffix} [${key}]`);
  }
}

const loaded = (
  await Promise.all(
    BACKENDS.map(async (f) => {
      try {
        const be = await f.load();
        const variants = f.variants?.(be) ?? [{ title: "", activate: () => {} }];
        return variants.map((v) => ({ name: v.title ? `${f.name} (${v.title})` : f.name, be, activate: v.activate, reason: "" }));
      } catch (e) {
        const reason = `${f.name} backend unavailable: ${e instanceof Error ? e.message : String(e)}`;
        console.log(`conformance: skipping ${f.name} cases (${reason})`);
        return [{ name: f.name, be: undefined, activate: () => {}, reason }];
      }
    }),
  )
).flat();

for (const { name, be, activate, reason } of loaded) {
  // Every case is still registered when the backend is missing, so each shows as skipped with the reason.
  const test = (title: string, fn: (b: AnyBackend) => void) =>
    it(title, reason ? { skip: reason } : {}, () => fn(be!));

  describe(`conformance: ${name}`, () => {
    before(() => activate()); // switch to this variant (kernel table) before its cases run
    describe("ops against the reference", () => {
      for (const c of CASES) test(c.name, (b) => checkAgainstReference(c, c.run(b)));
    });

    describe("determinism and threads", () => {
      for (const c of THREAD_CASES) {
        test(c.name, (b) => {
          const prev = b.getThreads();
          try {
            let base: Record<string, Float64Array> | undefined;
            for (const threads of THREAD_COUNTS) {
              b.setThreads(threads);
              const first = c.run(b);
              const second = c.run(b);
              base ??= first;
              for (const key of Object.keys(first)) {
                expectBitIdentical(first[key], second[key], `${c.name} threads=${threads} [${key}]`);
                // Every kernel's split depends on the sizes only: any thread count gives the same bits.
                expectBitIdentical(base[key], first[key], `${c.name} threads=${THREAD_COUNTS[0]} vs ${threads} [${key}]`);
              }
              checkAgainstReference(c, first, ` threads=${threads}`);
            }
          } finally {
            b.setThreads(prev);
          }
        });
      }
    });

    test("bookkeeping: name, element width, alloc zero-filled, free", (b) => {
      assert.ok(b.bytesPerElement === 4 || b.bytesPerElement === 8, "bytesPerElement is 4 or 8");
      const buf = b.alloc(17);
      assert.equal(buf.length, 17);
      assert.equal(buf.BYTES_PER_ELEMENT, b.bytesPerElement);
      assert.ok(buf.every((x) => x === 0), "alloc is zero-filled");
      b.free(buf);
      assert.ok(b.nativeBytes() >= 0);
      const prev = b.getThreads();
      assert.ok(prev >= 1);
      b.setThreads(prev);
    });
  });
}
