// AdamW with reduced-precision moments (optimizer.moments bf16 / int8): the native kernels of every
// kernel table against the float64 reference (backend/reference.ts), one step from the same state;
// the int8 format against its stated resolution (codes vs the fp32-moment kernel's exact moments);
// a positive v never decodes to 0; results independent of the thread count.
//
// Tolerances. The native kernel computes in float32, the reference in float64, and both round the
// new moments to the storage format, so a value within ~1e-7 (relative) of a rounding boundary may
// land one code apart: codes may differ by at most 1, in at most 1% of elements. Scales (block
// maxima, stored as float32) agree to rtol 1e-6. The parameter moves by lr·m̂/(sqrt(v̂)+eps) ≤ ~lr·3
// with the fp32 new moments (not the rounded ones) in both, so params agree like fp32 adamw's:
// rtol 1e-6, atol 1e-7 (lr = 1e-3).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ADAMW_INT8_BLOCK } from "../../src/backend/backend.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { bf16BitsToF32, f32ToBf16Bits } from "../../src/io/dtypes.js";
import { assertClose, loadNativeOrSkip, randn } from "../helpers.js";

const { native, skip: why = "" } = await loadNativeOrSkip();
const ref = new ReferenceBackend();
const LR = 1e-3, B1 = 0.9, B2 = 0.95, EPS = 1e-8, WD = 0.01;

/** Gradients with a wide dynamic range (1e-6 .. 1) and a block of exact zeros. */
function grads(n: number, seed: number): Float64Array {
  const g = randn(n, seed);
  const e = randn(n, seed + 1);
  for (let i = 0; i < n; i++) g[i] = Math.fround(g[i] * 10 ** (-6 * Math.abs(e[i])));
  for (let i = 256; i < Math.min(n, 512); i++) g[i] = 0;
  return g;
}

function codesClose(label: string, a: ArrayLike<number>, b: ArrayLike<number>) {
  let off = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > 1) assert.fail(`${label}: code [${i}] ${a[i]} vs ${b[i]} (more than one code apart)`);
    if (d) off++;
  }
  assert.ok(off <= Math.max(1, a.length / 100), `${label}: ${off} of ${a.length} codes differ by one (limit 1%)`);
}

function stateAfter(n: number, seed: number, steps: number) {
  // A state reached by the reference itself (so the starting codes are a real trajectory).
  const p = Float64Array.from(randn(n, seed), Math.fround);
  const m16 = new Uint16Array(n), v16 = new Uint16Array(n);
  const m8 = new Int8Array(n), v8 = new Uint8Array(n);
  const nb = Math.ceil(n / ADAMW_INT8_BLOCK);
  const ms = new Float32Array(nb), vs = new Float32Array(nb);
  const p16 = Float64Array.from(p), p8 = Float64Array.from(p);
  for (let s = 1; s <= steps; s++) {
    const g = grads(n, seed + 10 * s);
    ref.adamwBf16(p16, g, m16, v16, n, LR, B1, B2, EPS, WD, s);
    ref.adamwInt8(p8, g, m8, v8, ms, vs, n, LR, B1, B2, EPS, WD, s);
  }
  return { p16: Float64Array.from(p16, Math.fround), m16, v16, p8: Float64Array.from(p8, Math.fround), m8, v8, ms, vs };
}

for (const [n, prior] of [[1, 0], [17, 0], [1000, 3], [256 * 5 + 77, 6], [40000, 2]] as const) {
  test(`adamwBf16 / adamwInt8 n=${n} after ${prior} steps: native tables vs the float64 reference`, { skip: native ? false : why }, () => {
    const be = native!;
    const step = prior + 1;
    const st = stateAfter(n, 100 + n, prior);
    const g = grads(n, 7 + n);
    // reference
    const rp16 = Float64Array.from(st.p16), rm16 = st.m16.slice(), rv16 = st.v16.slice();
    ref.adamwBf16(rp16, g, rm16, rv16, n, LR, B1, B2, EPS, WD, step);
    const rp8 = Float64Array.from(st.p8), rm8 = st.m8.slice(), rv8 = st.v8.slice(), rms = st.ms.slice(), rvs = st.vs.slice();
    ref.adamwInt8(rp8, g, rm8, rv8, rms, rvs, n, LR, B1, B2, EPS, WD, step);
    const start = be.isa;
    try {
      for (const isa of be.availableIsas()) {
        be.useIsa(isa);
        const up = (x: Float64Array) => { const b = be.alloc(x.length); b.set(x); return b; };
        const p16 = up(st.p16), m16 = st.m16.slice(), v16 = st.v16.slice();
        be.adamwBf16(p16, up(g), m16, v16, n, LR, B1, B2, EPS, WD, step);
        assertClose(p16, rp16, { rtol: 1e-6, atol: 1e-7 }, `${isa} bf16 param`);
        // bf16 codes: compare as ordered integers (finite, same sign handled by the value check below)
        assertClose(Array.from(m16, bf16BitsToF32), Array.from(rm16, bf16BitsToF32), { rtol: 2 ** -7 }, `${isa} bf16 m`);
        assertClose(Array.from(v16, bf16BitsToF32), Array.from(rv16, bf16BitsToF32), { rtol: 2 ** -7 }, `${isa} bf16 v`);
        let off = 0;
        for (let i = 0; i < n; i++) off += +(m16[i] !== rm16[i]) + +(v16[i] !== rv16[i]);
        assert.ok(off <= Math.max(1, n / 50), `${isa} bf16: ${off} of ${2 * n} moments differ`);

        const p8 = up(st.p8), m8 = st.m8.slice(), v8 = st.v8.slice(), ms = st.ms.slice(), vs = st.vs.slice();
        be.adamwInt8(p8, up(g), m8, v8, ms, vs, n, LR, B1, B2, EPS, WD, step);
        assertClose(p8, rp8, { rtol: 1e-6, atol: 1e-7 }, `${isa} int8 param`);
        assertClose(ms, rms, { rtol: 1e-6 }, `${isa} int8 m scales`);
        assertClose(vs, rvs, { rtol: 1e-6 }, `${isa} int8 v scales`);
        codesClose(`${isa} int8 m`, m8, rm8);
        codesClose(`${isa} int8 v`, v8, rv8);
        for (const b of [p16, p8]) be.free(b);
      }
    } finally {
      be.useIsa(start);
    }
  });
}

test("the int8 codes keep the stated resolution of the exact (fp32-moment) step; positive v never decodes to 0", () => {
  const n = 256 * 8 + 31;
  const g = grads(n, 5);
  // Exact moments after one step from zero state, via the fp32-moment kernel.
  const m = new Float64Array(n), v = new Float64Array(n);
  ref.adamw(new Float64Array(n), g, m, v, n, LR, B1, B2, EPS, WD, 1);
  const mq = new Int8Array(n), vq = new Uint8Array(n);
  const nb = Math.ceil(n / ADAMW_INT8_BLOCK);
  const ms = new Float32Array(nb), vs = new Float32Array(nb);
  ref.adamwInt8(new Float64Array(n), g, mq, vq, ms, vs, n, LR, B1, B2, EPS, WD, 1);
  for (let i = 0; i < n; i++) {
    const b = Math.floor(i / ADAMW_INT8_BLOCK);
    if (ms[b] > 0) {
      // m: sqrt(|m|/scale) is quantised linearly in steps of 1/127 (round to nearest).
      const err = Math.abs(Math.sqrt(Math.abs(m[i]) / ms[b]) - Math.abs(mq[i]) / 127);
      assert.ok(err <= 0.5 / 127 + 1e-6, `m[${i}]: sqrt-domain error ${err}`);
      assert.ok(mq[i] === 0 || Math.sign(mq[i]) === Math.sign(m[i]), `m[${i}]: sign flipped`);
    }
    if (vs[b] > 0) {
      const err = Math.abs((v[i] / vs[b]) ** 0.25 - vq[i] / 255);
      assert.ok(err <= 0.5 / 255 + 1e-6 || vq[i] === 1, `v[${i}]: fourth-root-domain error ${err}`);
    }
    if (v[i] > 0) assert.ok(vq[i] >= 1, `v[${i}] = ${v[i]} > 0 stored as code 0`);
    if (v[i] === 0) assert.equal(vq[i], 0);
  }
  // The zero-gradient block (elements 256..511) has zero scales and codes.
  assert.equal(ms[1], 0);
  assert.equal(vs[1], 0);
});

test("bf16 moments are the round-to-nearest-even bf16 of the fp32-moment kernel's moments (one step from zero)", () => {
  const n = 1000;
  const g = grads(n, 9);
  const m = new Float64Array(n), v = new Float64Array(n);
  ref.adamw(new Float64Array(n), g, m, v, n, LR, B1, B2, EPS, WD, 1);
  const m16 = new Uint16Array(n), v16 = new Uint16Array(n);
  ref.adamwBf16(new Float64Array(n), g, m16, v16, n, LR, B1, B2, EPS, WD, 1);
  for (let i = 0; i < n; i++) {
    assert.equal(m16[i], f32ToBf16Bits(m[i]), `m[${i}]`);
    assert.equal(v16[i], f32ToBf16Bits(v[i]), `v[${i}]`);
  }
});

test("adamwInt8 / adamwBf16 are bit-identical for 1 and 2 threads", { skip: native ? false : why }, () => {
  const be = native!;
  const n = 256 * 300 + 5;
  const g = Float32Array.from(grads(n, 3));
  const run = (threads: number) => {
    const before = be.getThreads();
    be.setThreads(threads);
    try {
      const p = be.alloc(n), m = new Int8Array(n), v = new Uint8Array(n);
      const nb = Math.ceil(n / ADAMW_INT8_BLOCK);
      const ms = new Float32Array(nb), vs = new Float32Array(nb);
      const p2 = be.alloc(n), m2 = new Uint16Array(n), v2 = new Uint16Array(n);
      for (let s = 1; s <= 3; s++) {
        be.adamwInt8(p, g, m, v, ms, vs, n, LR, B1, B2, EPS, WD, s);
        be.adamwBf16(p2, g, m2, v2, n, LR, B1, B2, EPS, WD, s);
      }
      return [Float32Array.from(p), m, v, ms, vs, Float32Array.from(p2), m2, v2];
    } finally {
      be.setThreads(before);
    }
  };
  const a = run(1), b = run(2);
  a.forEach((x, k) => assert.deepEqual(Buffer.from(x.buffer, x.byteOffset, x.byteLength), Buffer.from(b[k].buffer, b[k].byteOffset, b[k].byteLength), `buffer ${k}`));
});
