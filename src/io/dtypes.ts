// Half-precision conversions for checkpoint files: float32 ⇄ bfloat16 and float32 ⇄ IEEE float16,
// as 16-bit patterns. Narrowing rounds to nearest, ties to even; NaN stays a (quiet) NaN with its
// sign, overflow goes to ±Inf, float16 subnormals are produced and read exactly.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → bfloat16 bits, round to nearest even. */
export function f32ToBf16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x0040) & 0xffff; // NaN: keep sign, force quiet
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bfloat16 bits → float32 value (exact). */
export function bf16BitsToF32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

/** float32 → IEEE binary16 bits, round to nearest even (subnormals included). */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return mant ? sign | 0x7e00 | (mant >>> 13) : sign | 0x7c00; // NaN (quiet) or Inf
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00; // too large: Inf
  if (e <= 0) {
    // Result is a float16 subnormal (or rounds up to the smallest normal): units of 2^-24.
    const shift = 14 - e;
    if (shift > 24) return sign; // below half the smallest subnormal
    const full = mant | 0x800000;
    let m = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && m & 1)) m++;
    return sign | m;
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry may roll into the exponent / to Inf
  return h;
}

function f16BitsToF32Slow(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) {
    if (mant === 0) return sign * Infinity;
    u32[0] = ((h & 0x8000) << 16) | 0x7f800000 | (mant << 13); // keep payload
    return f32[0];
  }
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

let f16Table: Float32Array | undefined;

/** IEEE binary16 bits → float32 value (exact; a 256 KiB table is built on first use). */
export function f16BitsToF32(h: number): number {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = f16BitsToF32Slow(i);
  }
  return f16Table[h & 0xffff];
}

/** Convert a whole array of 16-bit patterns to float32 (`out` may be given to reuse memory). */
export function halfToF32(bits: Uint16Array, kind: "F16" | "BF16", out = new Float32Array(bits.length)): Float32Array {
  if (kind === "BF16") {
    const o = new Uint32Array(out.buffer, out.byteOffset, out.length);
    for (let i = 0; i < bits.length; i++) o[i] = bits[i] << 16;
  } else {
    f16BitsToF32(0);
    const t = f16Table as Float32Array;
    for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]];
  }
  return out;
}
