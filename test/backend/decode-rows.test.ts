// attentionDecodeRows (native/attention_decode.inc): one query per sequence against sequences of
// different lengths, each with its own K/V buffers — what a batched decode step calls once per
// layer. On every kernel table this CPU runs: equal to the float64 reference within the attention
// conformance tolerance, and bit-identical to one attentionForward(Tq = 1) call per sequence at 1
// and 2 threads (so batched decoding keeps one-sequence decoding's tokens). Head sizes cover the
// AVX-512 decode kernel (32, 64, 128) and the fallback (16, 48); lengths cover one key, a chunk
// boundary (512, 513) and several chunks. Bad arguments are ShapeErrors.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { ShapeError } from "../../src/errors.js";
import { assertClose, loadNativeOrSkip, randn } from "../helpers.js";

const ref = new ReferenceBackend();
const { native, skip } = await loadNativeOrSkip();
const initialIsa = native?.isa;
const isas = () => (native ? (process.env.SMOL_ISA ? [native.isa] : native.availableIsas()) : []);

interface Case { NH: number; NKV: number; HS: number; lens: number[] }
const CASES: Case[] = [
  { NH: 9, NKV: 3, HS: 64, lens: [1, 100, 513, 7, 1200] },
  { NH: 8, NKV: 4, HS: 32, lens: [512, 33, 2] },
  { NH: 4, NKV: 2, HS: 128, lens: [17, 700] },
  { NH: 4, NKV: 4, HS: 16, lens: [5, 40] },
  { NH: 6, NKV: 2, HS: 48, lens: [3, 600, 1] },
  { NH: 9, NKV: 3, HS: 64, lens: [130] },
];

function inputs(c: Case, seed: number) {
  const B = c.lens.length, row = c.NKV * c.HS;
  const q = Float32Array.from(randn(B * c.NH * c.HS, seed));
  // Each sequence's cache has room past its length (as a batched cache does); only lens[b] rows count.
  const ks = c.lens.map((T, b) => Float32Array.from(randn((T + 3) * row, seed + 1 + 2 * b)));
  const vs = c.lens.map((T, b) => Float32Array.from(randn((T + 3) * row, seed + 2 + 2 * b)));
  return { q, ks, vs, scale: 1 / Math.sqrt(c.HS) };
}

describe("attentionDecodeRows (batched decode attention)", { skip }, () => {
  for (const isa of isas()) {
    it(`isa ${isa}: matches the reference and is bit-identical to one attentionForward per sequence, at 1 and 2 threads`, () => {
      const be = native!;
      be.useIsa(isa, "auto");
      const threads = be.getThreads();
      try {
        let seed = 5;
        for (const c of CASES) {
          const { NH, NKV, HS, lens } = c;
          const B = lens.length, n = NH * HS, { q, ks, vs, scale } = inputs(c, (seed += 20));
          const want = new Float64Array(B * n);
          ref.attentionDecodeRows(want, Float64Array.from(q), ks.map((k) => Float64Array.from(k)), vs.map((v) => Float64Array.from(v)), Int32Array.from(lens), NH, NKV, HS, scale);
          for (const t of [1, 2]) {
            be.setThreads(t);
            const got = be.alloc(B * n);
            be.attentionDecodeRows(got, q, ks, vs, Int32Array.from(lens), NH, NKV, HS, scale);
            assertClose(got, want, { atol: 1e-5, rtol: 1e-4 }, `${isa} HS=${HS} threads=${t}`);
            for (let b = 0; b < B; b++) {
              const one = be.alloc(n), lse = be.alloc(NH);
              const span = lens[b] * NKV * HS;
              be.attentionForward(one, lse, q.subarray(b * n, (b + 1) * n), ks[b].subarray(0, span), vs[b].subarray(0, span), 1, 1, lens[b], NH, NKV, HS, scale);
              const j = one.findIndex((v, i) => !Object.is(v, got[b * n + i]));
              assert.equal(j, -1, `${isa} HS=${HS} threads=${t} sequence ${b} (${lens[b]} keys): element ${j} is ${got[b * n + j]}, alone ${one[j]}`);
            }
          }
        }
      } finally {
        be.setThreads(threads);
      }
    });
  }
  it("restores the table it started with", () => native!.useIsa(initialIsa!, "auto"));

  it("rejects a sequence without keys, a missing buffer and a short cache (ShapeError)", () => {
    const be = native!;
    const c: Case = { NH: 2, NKV: 1, HS: 32, lens: [4, 2] };
    const { q, ks, vs } = inputs(c, 1);
    const out = be.alloc(2 * 64);
    assert.throws(() => be.attentionDecodeRows(out, q, ks, vs, Int32Array.of(4, 0), 2, 1, 32, 1), (e: Error) => e instanceof ShapeError && /lens\[1\] = 0/.test(e.message));
    assert.throws(() => be.attentionDecodeRows(out, q, ks.slice(0, 1), vs, Int32Array.of(4, 2), 2, 1, 32, 1), (e: Error) => e instanceof ShapeError && /1 key and 2 value buffers for 2 sequences/.test(e.message));
    assert.throws(() => be.attentionDecodeRows(out, q, ks, vs, Int32Array.of(4, 9), 2, 1, 32, 1), (e: Error) => e instanceof ShapeError && /ks\[1\] \[9,1,32\]/.test(e.message));
  });
});
