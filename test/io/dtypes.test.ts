// float32 ⇄ bfloat16 / float16 conversions: hand-picked rounding cases (ties, overflow, NaN, Inf,
// subnormals), exhaustive round trips over all 65536 patterns, and random values checked against
// a nearest-value oracle computed in float64 from the decoders.
import { test } from "node:test";
import assert from "node:assert/strict";
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, halfToF32 } from "../../src/io/dtypes.js";
import { rng } from "../helpers.js";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const fromBits = (b: number) => ((u32[0] = b >>> 0), f32[0]);
const hex = (h: number) => "0x" + h.toString(16).padStart(4, "0");

test("bf16: round to nearest even on hand-picked values", () => {
  const cases: Array<[number, number, string]> = [
    [1, 0x3f80, "one"],
    [-2, 0xc000, "minus two"],
    [0, 0x0000, "+0"],
    [-0, 0x8000, "-0 keeps its sign"],
    [1 + 2 ** -8, 0x3f80, "tie between 1 and 1+2^-7 goes to even (down)"],
    [1 + 3 * 2 ** -8, 0x3f82, "tie between 0x3f81 and 0x3f82 goes to even (up)"],
    [1 + 2 ** -8 + 2 ** -20, 0x3f81, "just above a tie rounds up"],
    [1 + 2 ** -8 - 2 ** -20, 0x3f80, "just below a tie rounds down"],
    [Infinity, 0x7f80, "+Inf"],
    [-Infinity, 0xff80, "-Inf"],
    [fromBits(0x7f7fffff), 0x7f80, "largest float32 overflows to Inf"],
    [fromBits(0x7f7f0000), 0x7f7f, "largest bf16 is exact"],
    [fromBits(0x00000001), 0x0000, "smallest float32 subnormal rounds to 0"],
    [fromBits(0x00008000), 0x0000, "subnormal tie to even (0)"],
    [fromBits(0x00018000), 0x0002, "subnormal tie to even (2)"],
    [fromBits(0x00010000), 0x0001, "smallest bf16 subnormal is exact"],
  ];
  for (const [x, want, why] of cases) assert.equal(hex(f32ToBf16Bits(x)), hex(want), `${why}: ${x}`);
  for (const nan of [NaN, fromBits(0x7f800001), fromBits(0xffc00000), fromBits(0x7fbfffff)]) {
    const h = f32ToBf16Bits(nan);
    assert.ok(Number.isNaN(bf16BitsToF32(h)), `NaN ${hex(h)} must stay NaN`);
  }
  assert.equal(f32ToBf16Bits(fromBits(0xffc00000)) & 0x8000, 0x8000, "NaN keeps its sign");
});

test("f16: round to nearest even on hand-picked values", () => {
  const cases: Array<[number, number, string]> = [
    [1, 0x3c00, "one"],
    [-2, 0xc000, "minus two"],
    [-0, 0x8000, "-0 keeps its sign"],
    [65504, 0x7bff, "largest f16"],
    [65519, 0x7bff, "below the overflow tie"],
    [65520, 0x7c00, "overflow tie rounds to even = Inf"],
    [1e6, 0x7c00, "too large → Inf"],
    [-Infinity, 0xfc00, "-Inf"],
    [1 + 2 ** -11, 0x3c00, "tie goes to even (down)"],
    [1 + 3 * 2 ** -11, 0x3c02, "tie goes to even (up)"],
    [1 + 2 ** -11 + 2 ** -20, 0x3c01, "above the tie rounds up"],
    [2 ** -24, 0x0001, "smallest subnormal"],
    [-(2 ** -24), 0x8001, "negative subnormal"],
    [2 ** -25, 0x0000, "half the smallest subnormal: tie to even (0)"],
    [2 ** -25 * (1 + 2 ** -20), 0x0001, "just above that tie"],
    [3 * 2 ** -25, 0x0002, "subnormal tie 1.5 units → 2"],
    [5 * 2 ** -25, 0x0002, "subnormal tie 2.5 units → 2"],
    [1023 * 2 ** -24, 0x03ff, "largest subnormal"],
    [1023.5 * 2 ** -24, 0x0400, "tie between largest subnormal and smallest normal → even"],
    [2 ** -14, 0x0400, "smallest normal"],
    [2 ** -26, 0x0000, "underflow to 0"],
    [fromBits(0x00000001), 0x0000, "float32 subnormal → 0"],
    [fromBits(0x80000001), 0x8000, "negative float32 subnormal → -0"],
  ];
  for (const [x, want, why] of cases) assert.equal(hex(f32ToF16Bits(x)), hex(want), `${why}: ${x}`);
  for (const bits of [0x7fc00000, 0x7f800001, 0xff800100]) {
    const h = f32ToF16Bits(fromBits(bits));
    assert.ok(Number.isNaN(f16BitsToF32(h)), `NaN ${hex(h)} must stay NaN`);
    assert.equal(h >>> 15, bits >>> 31, "NaN keeps its sign");
  }
});

test("f16/bf16 decoders: known values", () => {
  assert.equal(f16BitsToF32(0x3c00), 1);
  assert.equal(f16BitsToF32(0x7bff), 65504);
  assert.equal(f16BitsToF32(0x0001), 2 ** -24);
  assert.equal(f16BitsToF32(0x8400), -(2 ** -14));
  assert.equal(f16BitsToF32(0x7c00), Infinity);
  assert.ok(Number.isNaN(f16BitsToF32(0x7e00)));
  assert.ok(Object.is(f16BitsToF32(0x8000), -0));
  assert.equal(bf16BitsToF32(0x3f80), 1);
  assert.equal(bf16BitsToF32(0xc0a0), -5);
});

test("all 65536 patterns round-trip exactly (non-NaN), array decoders agree with scalar ones", () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const asF16 = halfToF32(all, "F16");
  const asBf16 = halfToF32(all, "BF16");
  for (let h = 0; h < 65536; h++) {
    const a = f16BitsToF32(h);
    const b = bf16BitsToF32(h);
    assert.ok(Object.is(asF16[h], a) || (Number.isNaN(a) && Number.isNaN(asF16[h])), `F16 array ${hex(h)}`);
    assert.ok(Object.is(asBf16[h], b) || (Number.isNaN(b) && Number.isNaN(asBf16[h])), `BF16 array ${hex(h)}`);
    if (!Number.isNaN(a)) assert.equal(f32ToF16Bits(a), h, `f16 ${hex(h)} = ${a}`);
    else assert.ok(Number.isNaN(f16BitsToF32(f32ToF16Bits(a))));
    if (!Number.isNaN(b)) assert.equal(f32ToBf16Bits(b), h, `bf16 ${hex(h)} = ${b}`);
  }
});

/** Oracle: nearest representable value by float64 distance over sorted positive patterns, ties to even. */
function oracle(x: number, decode: (h: number) => number, maxFinite: number, overflowValue: number, inf: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  let lo = 0;
  let hi = maxFinite; // largest h with decode(h) <= a
  if (decode(hi) <= a) lo = hi;
  else {
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (decode(mid) <= a) lo = mid;
      else hi = mid;
    }
  }
  const vLo = decode(lo);
  const vHi = lo === maxFinite ? overflowValue : decode(lo + 1);
  const dLo = a - vLo;
  const dHi = vHi - a;
  const pick = dLo < dHi || (dLo === dHi && (lo & 1) === 0) ? lo : lo + 1;
  return sign | (pick > maxFinite ? inf : pick);
}

test("random float32 values match a nearest-value oracle (ties to even)", () => {
  const r = rng(7);
  for (let i = 0; i < 20000; i++) {
    // Random bit patterns, biased toward the f16 exponent range so subnormals/overflow are hit.
    const exp = i % 2 ? Math.floor(r() * 256) : 97 + Math.floor(r() * 48);
    const bits = ((r() < 0.5 ? 0x80000000 : 0) | (exp << 23) | Math.floor(r() * 0x800000)) >>> 0;
    const x = fromBits(bits);
    if (!Number.isFinite(x)) continue;
    assert.equal(hex(f32ToF16Bits(x)), hex(oracle(x, f16BitsToF32, 0x7bff, 65536, 0x7c00)), `f16 of ${x} (bits ${bits.toString(16)})`);
    assert.equal(hex(f32ToBf16Bits(x)), hex(oracle(x, bf16BitsToF32, 0x7f7f, 2 ** 128, 0x7f80)), `bf16 of ${x} (bits ${bits.toString(16)})`);
    // Ties are rare in random data: also test the exact midpoint between two neighbours.
    const h = f32ToBf16Bits(x) & 0x7fff;
    if (h < 0x7f7f) {
      const mid = (bf16BitsToF32(h) + bf16BitsToF32(h + 1)) / 2; // exact in float32
      assert.equal(f32ToBf16Bits(mid), h & 1 ? h + 1 : h, `bf16 tie above ${hex(h)}`);
    }
  }
});
