// Products with packed weights (native/gemv_packed.inc: linearBf16, linearQ8) on every kernel
// table this CPU runs (SMOL_ISA=… limits it to one). Closeness to the float64 reference is in the
// conformance suite; this file checks the property models/packed.ts relies on: for M ≤ 16 and
// K ≥ 16 the packed product is bit-identical to the float32 skinny GEMV (matmul, native/gemv.inc)
// of the decoded weights, at 1 and 2 threads, and row i of any M-row packed product (M > 16 too)
// is bit-identical to row i alone. Shapes cover the 4-row blocks and their remainders, K tails
// (K % 32 = 16, K % 16 ≠ 0 for bf16), and the chunk/prefetch boundaries. Then the argument checks.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { NativeBackend } from "../../src/backend/native.js";
import { ShapeError } from "../../src/errors.js";
import { packBf16, packQ8, unpack, type PackedWeight } from "../../src/models/packed.js";
import { loadNativeOrSkip, randn } from "../helpers.js";


const { native, skip } = await loadNativeOrSkip();

const f32 = (n: number, seed: number) => Float32Array.from(randn(n, seed));

function packedProduct(be: NativeBackend, x: Float32Array, p: PackedWeight, M: number): Float32Array {
  const y = be.alloc(M * p.N);
  y.fill(NaN); // written, not accumulated
  const xb = be.alloc(M * p.K);
  xb.set(x.subarray(0, M * p.K));
  if (p.kind === "bf16") be.linearBf16(y, xb, p.bits, M, p.N, p.K);
  else be.linearQ8(y, xb, p.codes, p.scales, M, p.N, p.K);
  return y;
}

function fp32Product(be: NativeBackend, x: Float32Array, w: Float32Array, M: number, N: number, K: number): Float32Array {
  const y = be.alloc(M * N);
  const xb = be.alloc(M * K);
  xb.set(x.subarray(0, M * K));
  const wb = be.alloc(N * K);
  wb.set(w);
  be.matmul(y, xb, wb, M, N, K, false, true, false, 1, 0, 0, 0);
  return y;
}

function firstDiff(a: Float32Array, b: Float32Array): number {
  return a.findIndex((v, i) => !Object.is(v, b[i]));
}

// [N, K]: K multiple of 32 for Q8_0; bf16 also gets K % 32 = 16 and K % 16 ≠ 0.
const Q8_SHAPES: Array<[number, number]> = [[1, 32], [3, 64], [17, 96], [130, 576], [257, 1536], [1000, 384]];
const BF16_SHAPES: Array<[number, number]> = [...Q8_SHAPES, [5, 16], [9, 48], [33, 17], [65, 1000]];
const ROWS = [1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 15, 16];
const initialIsa = native?.isa;
const isas = () => (native ? (process.env.SMOL_ISA ? [native.isa] : native.availableIsas()) : []);

describe("packed-weight products (linearBf16, linearQ8)", { skip }, () => {
  for (const isa of isas()) {
    for (const kind of ["bf16", "q8_0"] as const) {
      describe(`isa ${isa}, ${kind}`, () => {
        const shapes = kind === "bf16" ? BF16_SHAPES : Q8_SHAPES;
        const pack = (w: Float32Array, N: number, K: number) => (kind === "bf16" ? packBf16(w, N, K) : packQ8(w, N, K));

        it("equals the float32 skinny GEMV of the decoded weights bit for bit (M ≤ 16), at 1 and 2 threads", () => {
          const be = native!;
          be.useIsa(isa, "auto");
          const threads = be.getThreads();
          try {
            let seed = 7;
            for (const [N, K] of shapes) {
              const p = pack(f32(N * K, seed++), N, K);
              const w = unpack(p);
              const x = f32(16 * K, seed++);
              for (const t of [1, 2]) {
                be.setThreads(t);
                for (const M of ROWS) {
                  const got = packedProduct(be, x, p, M);
                  const want = fp32Product(be, x, w, M, N, K);
                  const j = firstDiff(got, want);
                  assert.equal(j, -1, `${isa} ${kind} M=${M} N=${N} K=${K} threads=${t}: y[${j}] = ${got[j]}, fp32 GEMV ${want[j]}`);
                }
              }
            }
          } finally {
            be.setThreads(threads);
          }
        });

        it("row i of an M-row product equals row i alone, also past 16 rows", () => {
          const be = native!;
          be.useIsa(isa, "auto");
          let seed = 301;
          for (const [N, K] of shapes) {
            const p = pack(f32(N * K, seed++), N, K);
            const x = f32(37 * K, seed++);
            const alone = Array.from({ length: 37 }, (_, i) => packedProduct(be, x.subarray(i * K), p, 1));
            for (const M of [17, 20, 37]) {
              const got = packedProduct(be, x, p, M);
              for (let i = 0; i < M; i++) {
                const j = firstDiff(got.subarray(i * N, (i + 1) * N), alone[i]);
                assert.equal(j, -1, `${isa} ${kind} M=${M} N=${N} K=${K}: row ${i} col ${j}`);
              }
            }
          }
        });
      });
    }
  }
  it("restores the table it started with", () => native!.useIsa(initialIsa!, "auto"));

  it("checks shapes and lengths before the kernel runs", () => {
    const be = native!;
    const y = be.alloc(2 * 3), x = be.alloc(2 * 32);
    assert.throws(() => be.linearBf16(y, x, new Uint16Array(3 * 32 - 1), 2, 3, 32), ShapeError);
    assert.throws(() => be.linearBf16(be.alloc(5), x, new Uint16Array(3 * 32), 2, 3, 32), ShapeError);
    assert.throws(() => be.linearQ8(y, x, new Int8Array(3 * 32), new Float32Array(2), 2, 3, 32), /scales/);
    assert.throws(() => be.linearQ8(be.alloc(2 * 3), be.alloc(2 * 24), new Int8Array(3 * 24), new Float32Array(3), 2, 3, 24), /multiple of 32/);
    assert.throws(() => be.linearBf16(y, x, new Uint16Array(3 * 32), -1, 3, 32), ShapeError);
    be.linearBf16(be.alloc(0), x, new Uint16Array(0), 0, 0, 32); // nothing to do
  });
});
