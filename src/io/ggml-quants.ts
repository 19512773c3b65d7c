// ggml tensor types used in GGUF files and the block layouts of the quantized ones (Q8_0, Q4_0),
// as ggml-quants defines them: rows of 32-value blocks, each an fp16 scale followed by the values.
// Quantize/dequantize work on whole rows (the row length must be a multiple of 32).
import { ShapeError } from "../errors.js";
import { f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from "./dtypes.js";

/** ggml_type ids (ggml.h) of the types SmolLab reads and writes. */
export const GGML_TYPE = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8, BF16: 30 } as const;
export type GgmlTypeName = keyof typeof GGML_TYPE;

/** Values per block and bytes per block of each type. */
export const GGML_BLOCK: Record<GgmlTypeName, { size: number; bytes: number }> = {
  F32: { size: 1, bytes: 4 },
  F16: { size: 1, bytes: 2 },
  BF16: { size: 1, bytes: 2 },
  Q8_0: { size: 32, bytes: 34 },
  Q4_0: { size: 32, bytes: 18 },
};

export function ggmlTypeName(id: number): GgmlTypeName | undefined {
  return (Object.keys(GGML_TYPE) as GgmlTypeName[]).find((k) => GGML_TYPE[k] === id);
}

/** Bytes of a tensor of `n` values (n a multiple of the block size). */
export function ggmlBytes(type: GgmlTypeName, n: number): number {
  const b = GGML_BLOCK[type];
  if (n % b.size !== 0) throw new ShapeError(`ggml ${type}: ${n} values is not a multiple of the block size ${b.size}`);
  return (n / b.size) * b.bytes;
}

/** Encode float values as a ggml tensor of the given type. */
export function ggmlEncode(type: GgmlTypeName, x: Float32Array): Uint8Array {
  const out = new Uint8Array(ggmlBytes(type, x.length));
  const dv = new DataView(out.buffer);
  switch (type) {
    case "F32":
      out.set(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
      break;
    case "F16": {
      const u = new Uint16Array(out.buffer); // little-endian host, as everywhere in io/
      for (let i = 0; i < x.length; i++) u[i] = f32ToF16Bits(x[i]);
      break;
    }
    case "BF16": {
      const u = new Uint16Array(out.buffer);
      for (let i = 0; i < x.length; i++) u[i] = f32ToBf16Bits(x[i]);
      break;
    }
    case "Q8_0":
      quantizeQ8_0(x, out);
      break;
    case "Q4_0":
      quantizeQ4_0(x, out);
      break;
  }
  return out;
}

/** Decode a ggml tensor of `n` values to float32. */
export function ggmlDecode(type: GgmlTypeName, bytes: Uint8Array, n: number): Float32Array {
  const need = ggmlBytes(type, n);
  if (bytes.byteLength < need) throw new ShapeError(`ggml ${type}: ${n} values need ${need} bytes, got ${bytes.byteLength}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  switch (type) {
    case "F32":
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
      break;
    case "F16":
      for (let i = 0; i < n; i++) out[i] = f16BitsToF32(dv.getUint16(2 * i, true));
      break;
    case "BF16": {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = dv.getUint16(2 * i, true) << 16;
      break;
    }
    case "Q8_0":
      for (let b = 0; b < n / 32; b++) {
        const d = f16BitsToF32(dv.getUint16(b * 34, true));
        for (let j = 0; j < 32; j++) out[b * 32 + j] = d * dv.getInt8(b * 34 + 2 + j);
      }
      break;
    case "Q4_0":
      for (let b = 0; b < n / 32; b++) {
        const d = f16BitsToF32(dv.getUint16(b * 18, true));
        for (let j = 0; j < 16; j++) {
          const q = bytes[b * 18 + 2 + j];
          out[b * 32 + j] = ((q & 0x0f) - 8) * d;
          out[b * 32 + j + 16] = ((q >> 4) - 8) * d;
        }
      }
      break;
  }
  return out;
}

/** Q8_0: d = max|x| / 127 (stored fp16), q = round(x / d) as int8. */
function quantizeQ8_0(x: Float32Array, out: Uint8Array): void {
  const i8 = new Int8Array(out.buffer, out.byteOffset, out.byteLength);
  const f = Math.fround;
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) {
      const a = Math.abs(x[b * 32 + j]);
      if (a > amax) amax = a;
    }
    const d = f(amax / 127);
    const id = d ? f(1 / d) : 0;
    const h = f32ToF16Bits(d);
    out[b * 34] = h & 0xff;
    out[b * 34 + 1] = h >>> 8;
    for (let j = 0; j < 32; j++) i8[b * 34 + 2 + j] = roundHalfAway(f(x[b * 32 + j] * id));
  }
}

/** Q4_0: d = (the value of largest magnitude) / -8, q = min(15, trunc(x / d + 8.5)), two per byte. */
function quantizeQ4_0(x: Float32Array, out: Uint8Array): void {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const f = Math.fround;
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[b * 32 + j];
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = f(max / -8);
    const id = d ? f(1 / d) : 0;
    dv.setUint16(b * 18, f32ToF16Bits(d), true);
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(15, Math.trunc(f(f(x[b * 32 + j] * id) + 8.5)));
      const q1 = Math.min(15, Math.trunc(f(f(x[b * 32 + j + 16] * id) + 8.5)));
      out[b * 18 + 2 + j] = q0 | (q1 << 4);
    }
  }
}

/** C's roundf: halves away from zero. */
function roundHalfAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}
