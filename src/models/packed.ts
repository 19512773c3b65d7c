// Packed no-grad weights for decoding: a model's matrices kept as bf16 (half the bytes) or Q8_0
// (int8 codes + one scale per 32 weights, 0.28 of the bytes), multiplied by the backend's
// linearBf16 / linearQ8 (native/gemv_packed.inc widens them to float32 in registers). Decoding
// reads every weight once per token, so fewer bytes is the speed-up.
//
// The contract: a model with packed weights computes exactly what the float32 model computes
// with its weights replaced by the packed values. Packing rounds the float32 parameters in place
// to the values the packed copy stands for (LlamaModel.packWeights), and a packed product is only
// used where the float32 path takes the skinny GEMV (usePacked: ≤ 16 rows, K ≥ 16, fp32 engine),
// whose summation order the packed kernels reproduce, so the results are bit-identical and a
// bf16 or Q8_0 model decodes the same tokens either way, only faster. Larger products (prefill,
// scoring) are compute-bound and use the float32 GEMM on the same (rounded) values; the float32
// parameters therefore stay in memory beside the packed copies (and the embedding lookup and the
// norms read them). GGUF Q8_0 and BF16 files keep their own codes/bits (models/gguf.ts).
import type { FloatBuf } from "../backend/backend.js";
import { ShapeError } from "../errors.js";
import { f16BitsToF32, f32ToBf16Bits } from "../io/dtypes.js";
import { ggmlEncode } from "../io/ggml-quants.js";
import type { Engine } from "../tensor/engine.js";
import type { Tensor } from "../tensor/tensor.js";

/** Weight storage for no-grad forwards: fp32 (the parameters as they are), bf16 or Q8_0. */
export const WEIGHT_DTYPES = ["fp32", "bf16", "q8_0"] as const;
export type WeightDtype = (typeof WEIGHT_DTYPES)[number];

/** What `--weights` accepts: a storage, or "auto" (a checkpoint's own: models/hf.ts loadModel). */
export type WeightChoice = WeightDtype | "auto";

export type PackedWeight =
  | { kind: "bf16"; N: number; K: number; bits: Uint16Array }
  | { kind: "q8_0"; N: number; K: number; codes: Int8Array; scales: Float32Array };

/**
 * Rows up to which a product with a packed weight takes the packed kernel: the float32 path's
 * skinny GEMV bound (native/gemv.inc kSkinnyMaxM; models/batch-decode.ts DECODE_ROWS).
 */
export const PACKED_MAX_ROWS = 16;

/**
 * Whether x · Wᵀ should use the packed copy p: exactly where the float32 product takes the skinny
 * GEMV, whose per-output summation order the packed kernels share (so the two are bit-identical).
 */
export function usePacked<F extends FloatBuf>(e: Engine<F>, x: Tensor<F>, p: PackedWeight | undefined): p is PackedWeight {
  return packedEligible(e, p) && x.size / p.K <= PACKED_MAX_ROWS;
}

/**
 * Whether a product with p may use it at all: no gradients, a float32 engine (a bf16 engine
 * rounds the activations too), and K ≥ 16 (below that the float32 path is not the skinny GEMV).
 */
export function packedEligible<F extends FloatBuf>(e: Engine<F>, p: PackedWeight | undefined): p is PackedWeight {
  return !!p && !e.gradEnabled && e.precision !== "bf16" && p.K >= 16;
}

/** bf16 bits (round to nearest even) of a float32 matrix [N, K]. */
export function packBf16(w: ArrayLike<number>, N: number, K: number): PackedWeight {
  const bits = new Uint16Array(N * K);
  for (let i = 0; i < N * K; i++) bits[i] = f32ToBf16Bits(w[i]);
  return { kind: "bf16", N, K, bits };
}

/** A packed bf16 matrix [N, K] from little-endian bf16 bytes (a GGUF BF16 tensor), copied. */
export function bf16FromBytes(bytes: Uint8Array, N: number, K: number): PackedWeight {
  if (bytes.byteLength < N * K * 2) throw new ShapeError(`BF16: [${N},${K}] needs ${N * K * 2} bytes, got ${bytes.byteLength}`);
  const bits = new Uint16Array(N * K);
  new Uint8Array(bits.buffer).set(bytes.subarray(0, N * K * 2));
  return { kind: "bf16", N, K, bits };
}

/**
 * Q8_0 codes and scales from ggml Q8_0 blocks (34 bytes: fp16 scale, 32 int8 codes), rows of K
 * along the blocks. The fp16 scale times an int8 code is exact in float32.
 */
export function q8FromBlocks(blocks: Uint8Array, N: number, K: number): PackedWeight {
  if (K % 32 !== 0) throw new ShapeError(`Q8_0: rows of ${K} are not whole blocks of 32`);
  const nb = (N * K) / 32;
  if (blocks.byteLength < nb * 34) throw new ShapeError(`Q8_0: [${N},${K}] needs ${nb * 34} bytes, got ${blocks.byteLength}`);
  const codes = new Int8Array(N * K);
  const scales = new Float32Array(nb);
  const src = new Int8Array(blocks.buffer, blocks.byteOffset, blocks.byteLength);
  for (let b = 0; b < nb; b++) {
    scales[b] = f16BitsToF32(blocks[b * 34] | (blocks[b * 34 + 1] << 8));
    codes.set(src.subarray(b * 34 + 2, b * 34 + 34), b * 32);
  }
  return { kind: "q8_0", N, K, codes, scales };
}

/** Q8_0 of a float32 matrix [N, K] (llama.cpp's quantizer: d = max|x|/127, q = round(x/d)). */
export function packQ8(w: ArrayLike<number>, N: number, K: number): PackedWeight {
  return q8FromBlocks(ggmlEncode("Q8_0", Float32Array.from(w)), N, K);
}

/** Reorder the rows of a packed matrix: row r of the result is row from[r] of p. */
export function permuteRows(p: PackedWeight, from: (r: number) => number): PackedWeight {
  const { N, K } = p;
  if (p.kind === "bf16") {
    const bits = new Uint16Array(N * K);
    for (let r = 0; r < N; r++) bits.set(p.bits.subarray(from(r) * K, (from(r) + 1) * K), r * K);
    return { ...p, bits };
  }
  const codes = new Int8Array(N * K);
  const scales = new Float32Array((N * K) / 32);
  const nb = K / 32;
  for (let r = 0; r < N; r++) {
    codes.set(p.codes.subarray(from(r) * K, (from(r) + 1) * K), r * K);
    scales.set(p.scales.subarray(from(r) * nb, (from(r) + 1) * nb), r * nb);
  }
  return { ...p, codes, scales };
}

/** The float32 values a packed matrix stands for (tests, and checks against the parameters). */
export function unpack(p: PackedWeight): Float32Array {
  const out = new Float32Array(p.N * p.K);
  if (p.kind === "bf16") new Uint32Array(out.buffer).set(Uint32Array.from(p.bits, (b) => b << 16));
  else for (let i = 0; i < out.length; i++) out[i] = p.scales[i >> 5] * p.codes[i];
  return out;
}

/** Bytes a packed matrix occupies. */
export function packedBytes(p: PackedWeight): number {
  return p.kind === "bf16" ? p.bits.byteLength : p.codes.byteLength + p.scales.byteLength;
}

/** y = x · Wᵀ for x [..., K] with a packed W [N, K] (no gradient: the caller is in noGrad). */
export function packedLinear<F extends FloatBuf>(e: Engine<F>, x: Tensor<F>, p: PackedWeight): Tensor<F> {
  const K = x.shape[x.shape.length - 1];
  if (K !== p.K) throw new ShapeError(`linear: x's last dim ${K} != the packed weight's in-features ${p.K}`);
  const M = x.size / K;
  const y = e.empty([...x.shape.slice(0, -1), p.N]);
  if (p.kind === "bf16") e.be.linearBf16(y.data, x.data, p.bits, M, p.N, K);
  else e.be.linearQ8(y.data, x.data, p.codes, p.scales, M, p.N, K);
  return y;
}
