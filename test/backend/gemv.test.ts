// The decode-time skinny products (native/gemv.inc): C[M,N] (+)= A[M,K]·B[N,K]ᵀ for M ≤ 16 on
// every kernel table this CPU runs (SMOL_ISA=… limits it to one), against the float64 reference,
// and the property batched decoding relies on: row i of an M-row product is bit-identical to
// the same row computed alone (M = 1), for every M, with and without accumulation, at 1 and 2
// threads. Shapes cover the register blocks (4 activation rows × 2 weight rows; 4 × 4 split
// blocks from M = 8), their
// remainders (odd N, M = 5..15), K tails (K % 32 = 16, K % 16 ≠ 0) and the chunk/prefetch
// boundaries (N × K above the 96 KiB chunk, rows past the prefetch distance).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { NativeBackend } from "../../src/backend/native.js";
import type { Backend, FloatBuf } from "../../src/backend/backend.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { assertClose, loadNativeOrSkip, randn } from "../helpers.js";

const ref = new ReferenceBackend();

const { native, skip } = await loadNativeOrSkip();

const f32 = (n: number, seed: number) => Float32Array.from(randn(n, seed));

function product(be: Backend<FloatBuf>, A: ArrayLike<number>, B: ArrayLike<number>, C0: ArrayLike<number>, M: number, N: number, K: number, acc: boolean): FloatBuf {
  const up = (x: ArrayLike<number>) => {
    const b = be.alloc(x.length);
    b.set(x);
    return b;
  };
  const c = up(C0);
  be.matmul(c, up(A), up(B), M, N, K, false, true, acc, 1, 0, 0, 0);
  return c;
}

const SHAPES: Array<[number, number]> = [[1, 16], [3, 17], [17, 31], [33, 48], [130, 100], [257, 576], [64, 1536], [1000, 384]];
const ROWS = [1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 15, 16];
const initialIsa = native?.isa;
const isas = () => (native ? (process.env.SMOL_ISA ? [native.isa] : native.availableIsas()) : []);

describe("skinny GEMV (decode products, M ≤ 16)", { skip }, () => {
  for (const isa of isas()) {
    describe(`isa ${isa}`, () => {
      it("matches the float64 reference", () => {
        const be = native!;
        be.useIsa(isa, "auto");
        let seed = 11;
        for (const [N, K] of SHAPES) {
          for (const M of [1, 4, 5, 13, 16]) {
            for (const acc of [false, true]) {
              const A = f32(M * K, seed++), B = f32(N * K, seed++), C0 = f32(M * N, seed++);
              const got = product(be, A, B, C0, M, N, K, acc);
              const want = product(ref as Backend<FloatBuf>, A, B, C0, M, N, K, acc);
              // Same rule as the conformance suite's matmul: float32 sums of K products ≤ 1.
              assertClose(got, want, { atol: 1e-5 * Math.sqrt(K), rtol: 1e-5 }, `${isa} M=${M} N=${N} K=${K} acc=${acc}`);
            }
          }
        }
      });

      it("row i of an M-row product is bit-identical to row i alone, with and without accumulation, at 1 and 2 threads", () => {
        const be = native!;
        be.useIsa(isa, "auto");
        const threads = be.getThreads();
        try {
          let seed = 101;
          for (const [N, K] of SHAPES) {
            const B = f32(N * K, seed++);
            const A = f32(16 * K, seed++);
            const C0 = f32(16 * N, seed++);
            for (const acc of [true, false]) {
              const alone: Float32Array[] = [];
              be.setThreads(1);
              for (let i = 0; i < 16; i++) alone.push(product(be, A.subarray(i * K, (i + 1) * K), B, C0.subarray(i * N, (i + 1) * N), 1, N, K, acc) as Float32Array);
              for (const t of [1, 2]) {
                be.setThreads(t);
                for (const M of ROWS) {
                  const got = product(be, A.subarray(0, M * K), B, C0.subarray(0, M * N), M, N, K, acc);
                  for (let i = 0; i < M; i++) {
                    const row = got.subarray(i * N, (i + 1) * N);
                    const j = row.findIndex((v, n) => !Object.is(v, alone[i][n]));
                    assert.equal(j, -1, `${isa} M=${M} N=${N} K=${K} acc=${acc} threads=${t}: row ${i} col ${j} is ${row[j]}, alone ${alone[i][j]}`);
                  }
                }
              }
            }
          }
        } finally {
          be.setThreads(threads);
        }
      });
    });
  }
  it("restores the table it started with", () => native!.useIsa(initialIsa!, "auto"));
});
