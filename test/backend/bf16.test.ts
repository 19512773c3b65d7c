// The bf16 mixed-precision path: Backend.matmulBf16 (native vs the float64 reference on the same
// bf16-rounded inputs, exact round-to-nearest-even on ties, the size of the bf16 effect against
// fp32, determinism across repeats and thread counts), the bf16 attention kernels (the size of
// their effect; conformance.test.ts compares them with the reference on every table), the bf16
// Engine's linear and attention ops (all GEMMs go through matmulBf16, attention through
// attentionForwardBf16 / attentionBackwardBf16; gradients exact on the reference), and training:
// a tiny model's bf16 losses track fp32's at every step. The config key `precision` is validated
// and hashed.
import { describe, it, test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import type { Backend, FloatBuf } from "../../src/backend/backend.js";
import { defaultBackend } from "../../src/backend/index.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { ConfigError } from "../../src/errors.js";
import { bf16BitsToF32, f32ToBf16Bits } from "../../src/io/dtypes.js";
import { Engine } from "../../src/tensor/engine.js";
import { attention, linear, mean } from "../../src/tensor/ops.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { readMetrics } from "../../src/train/metrics.js";
import { configHash } from "../../src/train/rundir.js";
import { train } from "../../src/train/run.js";
import { makeShardDir, tinyConfig } from "../train/fixture.js";
import { randn } from "../helpers.js";

type AnyBackend = Backend<FloatBuf>;
const ref = new ReferenceBackend();

let native: AnyBackend | undefined;
let nativeSkip: string | undefined;
try {
  native = (await import("../../src/backend/native.js")).loadNative() as AnyBackend;
} catch (e) {
  nativeSkip = `native addon unavailable: ${(e as Error).message}`;
}

const bf16 = (x: number) => bf16BitsToF32(f32ToBf16Bits(x));
/** n uniform values in [-scale, scale), float32-representable (both backends see the same inputs). */
const data = (n: number, seed: number, scale = 1) => Float64Array.from(Float32Array.from(randn(n, seed, scale)));

function upload(be: AnyBackend, x: ArrayLike<number>): FloatBuf {
  const buf = be.alloc(x.length);
  buf.set(x);
  return buf;
}

interface Case {
  M: number; N: number; K: number; tA: boolean; tB: boolean; acc: boolean;
  batch?: number; sA?: number; sB?: number; sC?: number;
}

/** Run matmulBf16 on `be` and return C (float64) plus, per element, Σ_k |a_k b_k| + |c0| (rounded inputs). */
function runCase(be: AnyBackend, c: Case, seed: number) {
  const batch = c.batch ?? 1;
  const sA = c.sA ?? c.M * c.K, sB = c.sB ?? c.K * c.N, sC = c.sC ?? c.M * c.N;
  const a = data(Math.max(1, (batch - 1) * sA + c.M * c.K), seed);
  const b = data(Math.max(1, (batch - 1) * sB + c.K * c.N), seed + 1);
  const c0 = data((batch - 1) * sC + c.M * c.N, seed + 2);
  const C = upload(be, c0);
  be.matmulBf16(C, upload(be, a), upload(be, b), c.M, c.N, c.K, c.tA, c.tB, c.acc, batch, sA, sB, sC);
  const mag = new Float64Array(C.length);
  for (let bi = 0; bi < batch; bi++) {
    for (let i = 0; i < c.M; i++) {
      for (let j = 0; j < c.N; j++) {
        let s = c.acc ? Math.abs(c0[bi * sC + i * c.N + j]) : 0;
        for (let k = 0; k < c.K; k++) {
          const x = a[bi * sA + (c.tA ? k * c.M + i : i * c.K + k)];
          const y = b[bi * sB + (c.tB ? j * c.K + k : k * c.N + j)];
          s += Math.abs(bf16(x) * bf16(y));
        }
        mag[bi * sC + i * c.N + j] = s;
      }
    }
  }
  return { out: Float64Array.from(C), mag };
}

const label = (c: Case) => `M=${c.M} N=${c.N} K=${c.K} tA=${c.tA} tB=${c.tB} acc=${c.acc}${c.batch ? ` batch=${c.batch} sB=${c.sB}` : ""}`;

// Awkward shapes: 1, odd K (a zero-padded last k-pair), sizes that are not multiples of the
// 16-lane vectors or the micro-tile (6x64), K past one 1024-deep block, every transpose, accumulate.
const CASES: Case[] = [];
for (const [M, N, K] of [[1, 1, 1], [1, 7, 3], [5, 1, 2], [3, 17, 31], [7, 33, 33], [13, 64, 65], [17, 97, 100], [31, 65, 300], [100, 70, 1027], [65, 130, 17]]) {
  for (const tA of [false, true]) for (const tB of [false, true]) CASES.push({ M, N, K, tA, tB, acc: (M + N + K + Number(tA)) % 2 === 1 });
}
CASES.push({ M: 9, N: 20, K: 35, tA: false, tB: true, acc: true, batch: 3 });
CASES.push({ M: 9, N: 20, K: 35, tA: true, tB: false, acc: false, batch: 3, sB: 0 }); // broadcast B

describe("matmulBf16: native vs reference", { skip: nativeSkip }, () => {
  // Both backends round every input to bf16 identically, and products of two bf16 values are
  // exact in fp32, so the only difference is the native kernel's fp32 summation (the reference
  // sums in float64). fp32 summation of K terms in any blocked order errs by about
  // u·√K·Σ|a_k b_k| (u = 2^-24) for random signs; we allow 16·u·√(K+1)·(Σ|a_k b_k| + |c0|),
  // i.e. ~1e-6·√K relative to the magnitude. Measured worst over these cases: ~0.05 of it.
  // A kernel that truncated instead of rounding would miss by ~2^-9·√K·|ab|, ~10x this tolerance
  // at K=1027 — and the exact-ties test below pins the rounding mode at K=1 anyway.
  for (const c of CASES) {
    it(label(c), () => {
      const got = runCase(native!, c, 11 + c.M * 7 + c.K);
      const want = runCase(ref, c, 11 + c.M * 7 + c.K);
      let worst = 0, where = -1;
      for (let i = 0; i < want.out.length; i++) {
        const tol = 16 * 2 ** -24 * Math.sqrt(c.K + 1) * want.mag[i] + 1e-30;
        const r = Math.abs(got.out[i] - want.out[i]) / tol;
        if (!(r <= worst)) { worst = r; where = i; }
      }
      if (process.env.BF16_REPORT) console.log(`${label(c)}: max diff / tol = ${worst.toFixed(4)}`);
      assert.ok(worst <= 1, `${label(c)}: at [${where}] got ${got.out[where]} want ${want.out[where]} (${worst.toFixed(2)}x the tolerance)`);
    });
  }
});

describe("matmulBf16: rounding, size of the effect, determinism", () => {
  const backends: Array<[string, AnyBackend | undefined, string | undefined]> = [["native", native, nativeSkip], ["reference", ref, undefined]];
  for (const [name, be, skip] of backends) {
    it(`${name}: inputs round to nearest even, ties included (exact at K=1, every layout)`, { skip }, () => {
      // bf16 keeps 8 significant bits: 1 + 2^-7 is the next value after 1. Ties (halfway) go to
      // the even neighbour; just past a tie rounds away. Values built from exact float32 bits.
      const xs = [1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, 1 + 2 ** -8 - 2 ** -20, -(1 + 3 * 2 ** -8), 3.0039062, 1e-3, -7.77e5, 0.1];
      const want = [1, 1 + 2 ** -6, 1 + 2 ** -7, 1, -(1 + 2 ** -6)];
      for (const tA of [false, true]) {
        for (const tB of [false, true]) {
          // C[M=xs.length, N=1] = A[:,0] * 1 (K=1): each output is bf16(a_i) exactly.
          const M = xs.length;
          const C = be!.alloc(M);
          be!.matmulBf16(C, upload(be!, xs), upload(be!, [1]), M, 1, 1, tA, tB, false, 1, 0, 0, 0);
          for (let i = 0; i < want.length; i++) assert.equal(C[i], want[i], `${name} tA=${tA} tB=${tB}: bf16(${xs[i]})`);
          for (let i = 0; i < M; i++) assert.equal(C[i], bf16(xs[i]), `${name}: bf16(${xs[i]}) matches io/dtypes`);
          // and the B side: C[1, N] = 1 * B[0, :]
          const C2 = be!.alloc(M);
          be!.matmulBf16(C2, upload(be!, [1]), upload(be!, xs), 1, M, 1, tA, tB, false, 1, 0, 0, 0);
          for (let i = 0; i < M; i++) assert.equal(C2[i], bf16(xs[i]), `${name} B side: bf16(${xs[i]})`);
        }
      }
    });

    it(`${name}: differs from fp32 matmul by about 2^-8 relative (rounding really happens)`, { skip }, () => {
      // Rounding an input to 8 significant bits errs by up to 2^-8 relative (RMS ~2^-9.3 for these
      // uniform values); a product of two rounded inputs by RMS ~2^-8.8, and so does a sum of K
      // such products relative to its own RMS. Measured: 2^-8.89 (native and reference). Accept
      // [2^-10, 2^-8]: fp32 arithmetic alone (~2^-24) or a blown-up error fall outside.
      const M = 24, N = 40, K = 256;
      const a = upload(be!, data(M * K, 5)), b = upload(be!, data(K * N, 6));
      const c32 = be!.alloc(M * N), c16 = be!.alloc(M * N);
      be!.matmul(c32, a, b, M, N, K, false, false, false, 1, 0, 0, 0);
      be!.matmulBf16(c16, a, b, M, N, K, false, false, false, 1, 0, 0, 0);
      let d2 = 0, r2 = 0;
      for (let i = 0; i < M * N; i++) { d2 += (c16[i] - c32[i]) ** 2; r2 += c32[i] ** 2; }
      const rel = Math.sqrt(d2 / r2);
      if (process.env.BF16_REPORT) console.log(`${name}: RMS relative bf16-vs-fp32 difference 2^${Math.log2(rel).toFixed(2)}`);
      assert.ok(rel > 2 ** -10 && rel < 2 ** -8, `${name}: RMS relative bf16-vs-fp32 difference ${rel.toExponential(3)} (2^${Math.log2(rel).toFixed(2)}) outside [2^-10, 2^-8]`);
    });
  }

  it("native: bit-identical on repeats and at 1 and 2 threads", { skip: nativeSkip }, () => {
    const be = native!;
    const before = be.getThreads();
    try {
      for (const c of [{ M: 200, N: 300, K: 515, tA: false, tB: true }, { M: 130, N: 70, K: 1100, tA: true, tB: false }, { M: 64, N: 129, K: 64, tA: true, tB: true }]) {
        const a = upload(be, data(c.M * c.K, 1)), b = upload(be, data(c.K * c.N, 2));
        const results: FloatBuf[] = [];
        for (const threads of [1, 1, 2, 2]) {
          be.setThreads(threads);
          const C = upload(be, data(c.M * c.N, 3));
          be.matmulBf16(C, a, b, c.M, c.N, c.K, c.tA, c.tB, true, 1, 0, 0, 0);
          results.push(C);
        }
        for (let r = 1; r < results.length; r++) {
          const i = results[r].findIndex((v, j) => !Object.is(v, results[0][j]));
          assert.equal(i, -1, `M=${c.M} N=${c.N} K=${c.K}: run ${r} differs at [${i}]`);
        }
      }
    } finally {
      be.setThreads(before);
    }
  });
});

describe("attentionForwardBf16 / attentionBackwardBf16: the size of the effect", () => {
  const backends: Array<[string, AnyBackend | undefined, string | undefined]> = [["native", native, nativeSkip], ["reference", ref, undefined]];
  for (const [name, be, skip] of backends) {
    it(`${name}: differs from fp32 attention by about 2^-9 relative (rounding really happens)`, { skip }, () => {
      // q, k, v, dout in [-1, 1) (scores O(1)), 130 queries over three 64-key blocks. Rounding the
      // inputs and P/dS to 8 significant bits perturbs out and the gradients by RMS ~2^-9 of
      // their own RMS (measured 2^-9.0 to 2^-8.2, native and reference alike). Accept
      // [2^-11, 2^-7]: float32 arithmetic alone (~2^-22) or a blown-up error fall outside.
      const B = 1, T = 130, NH = 4, NKV = 2, HS = 64, scale = 1 / 8;
      const nq = B * T * NH * HS, nk = B * T * NKV * HS;
      const q = upload(be!, data(nq, 31)), k = upload(be!, data(nk, 32)), v = upload(be!, data(nk, 33)), dout = upload(be!, data(nq, 34));
      const run = (bf: boolean) => {
        const out = be!.alloc(nq), lse = be!.alloc(B * NH * T);
        const dq = be!.alloc(nq), dk = be!.alloc(nk), dv = be!.alloc(nk);
        (bf ? be!.attentionForwardBf16 : be!.attentionForward).call(be, out, lse, q, k, v, B, T, T, NH, NKV, HS, scale);
        (bf ? be!.attentionBackwardBf16 : be!.attentionBackward).call(be, dq, dk, dv, dout, q, k, v, out, lse, B, T, T, NH, NKV, HS, scale);
        return { out, dq, dk, dv };
      };
      const f32 = run(false), b16 = run(true);
      for (const key of ["out", "dq", "dk", "dv"] as const) {
        let d2 = 0, r2 = 0;
        for (let i = 0; i < f32[key].length; i++) { d2 += (b16[key][i] - f32[key][i]) ** 2; r2 += f32[key][i] ** 2; }
        const rel = Math.sqrt(d2 / r2);
        if (process.env.BF16_REPORT) console.log(`${name} attention ${key}: RMS relative bf16-vs-fp32 difference 2^${Math.log2(rel).toFixed(2)}`);
        assert.ok(rel > 2 ** -11 && rel < 2 ** -7, `${name} ${key}: RMS relative difference 2^${Math.log2(rel).toFixed(2)} outside [2^-11, 2^-7]`);
      }
    });
  }
});

describe("bf16 engine: linear", () => {
  /** A backend that counts calls to matmul and matmulBf16. */
  function counting(be: AnyBackend) {
    const calls = { matmul: 0, matmulBf16: 0 };
    const wrapped = new Proxy(be, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (prop === "matmul" || prop === "matmulBf16") {
          return (...args: unknown[]) => { calls[prop]++; return (v as (...a: unknown[]) => void).apply(target, args); };
        }
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    return { be: wrapped, calls };
  }

  for (const precision of ["fp32", "bf16"] as const) {
    it(`${precision}: forward and both backward GEMMs use ${precision === "bf16" ? "matmulBf16" : "matmul"}; gradients exact on the reference`, () => {
      const { be, calls } = counting(ref as AnyBackend);
      const e = new Engine(be, undefined, { precision });
      assert.equal(e.precision, precision);
      const N = 5, inF = 7, outF = 3;
      const xv = data(N * inF, 21), wv = data(outF * inF, 22);
      const x = new Tensor([N, inF], upload(be, xv), true);
      const w = new Tensor([outF, inF], upload(be, wv), true);
      const y = linear(e, x, w);
      assert.deepEqual(calls, precision === "bf16" ? { matmul: 0, matmulBf16: 1 } : { matmul: 1, matmulBf16: 0 });
      e.backward(mean(e, y), N * outF); // dy = 1 everywhere; mean's backward uses no matmul
      assert.deepEqual(calls, precision === "bf16" ? { matmul: 0, matmulBf16: 3 } : { matmul: 3, matmulBf16: 0 });
      // dy = 1 everywhere: dx[n,i] = Σ_o r(w[o,i]), dw[o,i] = Σ_n r(x[n,i]); r = bf16 rounding or identity.
      const r = precision === "bf16" ? bf16 : (v: number) => v;
      for (let n = 0; n < N; n++) {
        for (let i = 0; i < inF; i++) {
          let s = 0;
          for (let o = 0; o < outF; o++) s += r(wv[o * inF + i]);
          assert.ok(Math.abs(x.grad![n * inF + i] - s) < 1e-12, `dx[${n},${i}]`);
        }
      }
      for (let o = 0; o < outF; o++) {
        for (let i = 0; i < inF; i++) {
          let s = 0;
          for (let n = 0; n < N; n++) s += r(xv[n * inF + i]);
          assert.ok(Math.abs(w.grad![o * inF + i] - s) < 1e-12, `dw[${o},${i}]`);
        }
      }
      let y00 = 0;
      for (let i = 0; i < inF; i++) y00 += r(xv[i]) * r(wv[i]);
      assert.ok(Math.abs(y.data[0] - y00) < 1e-12, "y[0,0]");
    });
  }

  it("the default precision is fp32", () => {
    assert.equal(new Engine(ref).precision, "fp32");
  });
});

describe("bf16 engine: attention", () => {
  const OPS = ["attentionForward", "attentionBackward", "attentionForwardBf16", "attentionBackwardBf16"] as const;
  for (const precision of ["fp32", "bf16"] as const) {
    it(`${precision}: forward and backward use the ${precision} kernels; gradients match them on the reference`, () => {
      const calls: Record<string, number> = Object.fromEntries(OPS.map((o) => [o, 0]));
      const be = new Proxy(ref as AnyBackend, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver);
          if ((OPS as readonly string[]).includes(prop as string)) {
            return (...args: unknown[]) => { calls[prop as string]++; return (v as (...a: unknown[]) => void).apply(target, args); };
          }
          return typeof v === "function" ? v.bind(target) : v;
        },
      });
      const e = new Engine(be, undefined, { precision });
      const B = 1, T = 5, NH = 2, NKV = 1, HS = 4;
      const qv = data(B * T * NH * HS, 41), kv = data(B * T * NKV * HS, 42), vv = data(B * T * NKV * HS, 43);
      const q = new Tensor([B, T, NH, HS], upload(be, qv), true);
      const k = new Tensor([B, T, NKV, HS], upload(be, kv), true);
      const v = new Tensor([B, T, NKV, HS], upload(be, vv), true);
      const y = attention(e, q, k, v);
      e.backward(mean(e, y), y.size);
      const want = precision === "bf16"
        ? { attentionForward: 0, attentionBackward: 0, attentionForwardBf16: 1, attentionBackwardBf16: 1 }
        : { attentionForward: 1, attentionBackward: 1, attentionForwardBf16: 0, attentionBackwardBf16: 0 };
      assert.deepEqual(calls, want);
      // The same kernels called directly give the engine's outputs and gradients.
      const fwd = precision === "bf16" ? ref.attentionForwardBf16.bind(ref) : ref.attentionForward.bind(ref);
      const bwd = precision === "bf16" ? ref.attentionBackwardBf16.bind(ref) : ref.attentionBackward.bind(ref);
      const out = new Float64Array(qv.length), lse = new Float64Array(B * NH * T);
      fwd(out, lse, qv, kv, vv, B, T, T, NH, NKV, HS, 1 / 2);
      const dout = new Float64Array(qv.length).fill(1); // backward seeds y.size · d(mean) = 1 per element
      const dq = new Float64Array(qv.length), dk = new Float64Array(kv.length), dv = new Float64Array(vv.length);
      bwd(dq, dk, dv, dout, qv, kv, vv, out, lse, B, T, T, NH, NKV, HS, 1 / 2);
      for (const [got, exp, what] of [[y.data, out, "out"], [q.grad!, dq, "dq"], [k.grad!, dk, "dk"], [v.grad!, dv, "dv"]] as const) {
        for (let i = 0; i < exp.length; i++) assert.ok(Math.abs(got[i] - exp[i]) < 1e-12, `${what}[${i}]: ${got[i]} vs ${exp[i]}`);
      }
    });
  }
});

describe("config: precision", () => {
  it("defaults to fp32, accepts bf16, rejects anything else by its path", () => {
    assert.equal(tinyConfig("/nowhere").precision, "fp32");
    assert.equal(tinyConfig("/nowhere", { precision: "bf16" }).precision, "bf16");
    assert.throws(() => tinyConfig("/nowhere", { precision: "fp16" }), (e: unknown) => e instanceof ConfigError && e.problems.some((p) => /^precision: must be one of fp32, bf16, got "fp16"/.test(p)));
  });

  it("fp32 keeps the hash of configs written before the key existed; bf16 changes it", () => {
    const cfg = tinyConfig("/nowhere");
    const { precision: _p, ...legacy } = cfg;
    assert.equal(configHash(cfg), configHash(legacy as typeof cfg));
    assert.notEqual(configHash({ ...cfg, precision: "bf16" }), configHash(cfg));
  });
});

test("training: bf16 losses track fp32's at every step of a tiny model (20 steps)", async () => {
  // bf16 training rounds the inputs of every linear layer's GEMMs and of attention's products
  // (P and dS included; the attention kernels are counted below, so the run must use them: with
  // the fixture's head size 16 that is the emulated bf16 kernel on every native table, since the
  // vdpbf16ps kernel takes multiples of 64 — conformance covers that one).
  // Measured on the fixture (debug preset, native avx512 with AVX512-BF16 and the reference
  // backend alike): at lr 3e-3 the per-step |Δloss| is ≤ 6e-4 with bf16 GEMMs only and ≤ 7e-4
  // with bf16 attention as well (mean ~3e-4; step 1, same weights, ~1e-4) on losses of ~5.5 → 3.
  // We allow 5e-3 at every step (7x margin). At the fixture's own lr 1e-2 the runs separate
  // further (up to 0.09 by step 12 over 5 seeds, mean 0.005–0.025) because that lr sits at the
  // edge of stability and amplifies the 2^-8 perturbation — while fp32 native vs float64
  // reference stays below 1e-5 there — so the tracking claim is made at the gentler lr.
  const dir = await makeShardDir();
  const root = path.dirname(dir);
  const inner = defaultBackend().backend;
  const calls: Record<string, number> = { attentionForward: 0, attentionBackward: 0, attentionForwardBf16: 0, attentionBackwardBf16: 0 };
  const be = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof prop === "string" && prop in calls) {
        return (...args: unknown[]) => { calls[prop]++; return (v as (...a: unknown[]) => void).apply(target, args); };
      }
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  const losses = async (precision: string) => {
    const cfg = tinyConfig(dir, { precision, optimizer: { lr: 0.003, weight_decay: 0.01 }, checkpoint: { every: 0, keep_last: 1 }, eval: { every: 0, tokens: 256 } });
    const runDir = path.join(root, `track-${precision}`);
    await train({ config: cfg, runDir, backend: be });
    return readMetrics(path.join(runDir, "metrics.jsonl")).filter((r) => r.type === "train").map((r) => r.loss as number);
  };
  const f32 = await losses("fp32");
  const fp32Calls = { ...calls };
  for (const key of Object.keys(calls)) calls[key] = 0;
  const b16 = await losses("bf16");
  assert.ok(fp32Calls.attentionForward > 0 && fp32Calls.attentionBackward > 0 && fp32Calls.attentionForwardBf16 === 0 && fp32Calls.attentionBackwardBf16 === 0, `fp32 run: ${JSON.stringify(fp32Calls)}`);
  assert.ok(calls.attentionForwardBf16 > 0 && calls.attentionBackwardBf16 > 0 && calls.attentionBackward === 0, `bf16 run: ${JSON.stringify(calls)}`);
  assert.equal(f32.length, 20);
  assert.equal(b16.length, 20);
  const diffs = f32.map((l, i) => Math.abs(l - b16[i]));
  const worst = Math.max(...diffs);
  const step = diffs.indexOf(worst) + 1;
  if (process.env.BF16_REPORT) console.log(`bf16 vs fp32 loss: worst ${worst.toExponential(3)} at step ${step}, mean ${(diffs.reduce((a, b) => a + b, 0) / diffs.length).toExponential(3)}`);
  assert.ok(worst <= 5e-3, `bf16 strays ${worst.toExponential(3)} from fp32 at step ${step} (fp32 ${f32[step - 1]}, bf16 ${b16[step - 1]})`);
  assert.ok(worst > 1e-6, "bf16 and fp32 losses are identical: the bf16 path was not taken");
  assert.ok(b16[19] < b16[0] - 0.5, `bf16 loss fell from ${b16[0]} to ${b16[19]}`);
});
