// The GGUF container (version 3, little-endian): magic, key/value metadata with typed values,
// tensor infos (name, dims in ggml order — fastest-varying first —, ggml type, offset) and the
// aligned tensor data. A strict reader (tensor bytes read on request) and a streaming atomic
// writer. What the keys and tensor names mean for a Llama is left to models/gguf.ts.
import * as fs from "node:fs";
import { CheckpointError } from "../errors.js";
import { withAtomicFile, writeAll } from "./atomic.js";
import { ggmlBytes, ggmlTypeName, GGML_TYPE, type GgmlTypeName } from "./ggml-quants.js";

const MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** gguf_type ids of metadata values. */
const T = { UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12 } as const;
type ScalarKind = Exclude<keyof typeof T, "ARRAY">;

/** A typed metadata value (the type is kept so a file can be written back exactly). */
export type GgufValue =
  | { type: ScalarKind; value: number | bigint | boolean | string }
  | { type: "ARRAY"; itemType: ScalarKind; value: Array<number | bigint | boolean | string> };

export const gv = {
  u32: (v: number): GgufValue => ({ type: "UINT32", value: v }),
  i32: (v: number): GgufValue => ({ type: "INT32", value: v }),
  f32: (v: number): GgufValue => ({ type: "FLOAT32", value: v }),
  bool: (v: boolean): GgufValue => ({ type: "BOOL", value: v }),
  str: (v: string): GgufValue => ({ type: "STRING", value: v }),
  strs: (v: string[]): GgufValue => ({ type: "ARRAY", itemType: "STRING", value: v }),
  i32s: (v: number[]): GgufValue => ({ type: "ARRAY", itemType: "INT32", value: v }),
};

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the row length (a torch [out, in] weight has dims [in, out]). */
  dims: number[];
  type: GgmlTypeName;
  /** Offset from the start of the data section. */
  offset: number;
  bytes: number;
}

export interface GgufFile {
  readonly path: string;
  readonly version: number;
  readonly metadata: ReadonlyMap<string, GgufValue>;
  readonly tensors: ReadonlyMap<string, GgufTensorInfo>;
  readonly dataStart: number;
  /** A metadata value (scalar or array contents), or undefined. */
  get(key: string): GgufValue["value"] | undefined;
  readTensorBytes(name: string): Uint8Array;
  close(): void;
}

const HINT = "the file is corrupt, truncated or not GGUF; re-export it";

/** Sequential little-endian reads over a file descriptor with a buffer. */
class FileCursor {
  private buf = Buffer.alloc(1 << 16);
  private bufStart = 0;
  private bufLen = 0;
  pos = 0;
  constructor(private readonly fd: number, private readonly file: string, readonly size: number) {}

  private ensure(n: number): number {
    const rel = this.pos - this.bufStart;
    if (rel >= 0 && rel + n <= this.bufLen) return rel;
    if (this.pos + n > this.size) throw new CheckpointError(`${this.file}: unexpected end of file at byte ${this.pos} (needs ${n} more)`, HINT);
    if (n > this.buf.length) this.buf = Buffer.alloc(n * 2);
    this.bufStart = this.pos;
    this.bufLen = fs.readSync(this.fd, this.buf, 0, Math.min(this.buf.length, this.size - this.pos), this.pos);
    return 0;
  }
  u8() { const r = this.ensure(1); this.pos += 1; return this.buf.readUInt8(r); }
  i8() { const r = this.ensure(1); this.pos += 1; return this.buf.readInt8(r); }
  u16() { const r = this.ensure(2); this.pos += 2; return this.buf.readUInt16LE(r); }
  i16() { const r = this.ensure(2); this.pos += 2; return this.buf.readInt16LE(r); }
  u32() { const r = this.ensure(4); this.pos += 4; return this.buf.readUInt32LE(r); }
  i32() { const r = this.ensure(4); this.pos += 4; return this.buf.readInt32LE(r); }
  f32() { const r = this.ensure(4); this.pos += 4; return this.buf.readFloatLE(r); }
  f64() { const r = this.ensure(8); this.pos += 8; return this.buf.readDoubleLE(r); }
  u64() { const r = this.ensure(8); this.pos += 8; return this.buf.readBigUInt64LE(r); }
  i64() { const r = this.ensure(8); this.pos += 8; return this.buf.readBigInt64LE(r); }
  /** A u64 that must fit a safe integer (counts, lengths, offsets). */
  count(what: string, limit = this.size): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || Number(v) > limit) throw new CheckpointError(`${this.file}: ${what} ${v} is impossible for a ${this.size}-byte file`, HINT);
    return Number(v);
  }
  str(): string {
    const n = this.count("string length");
    const r = this.ensure(n);
    this.pos += n;
    return this.buf.toString("utf8", r, r + n);
  }
}

function kindOf(file: string, id: number): keyof typeof T {
  const k = (Object.keys(T) as Array<keyof typeof T>).find((x) => T[x] === id);
  if (!k) throw new CheckpointError(`${file}: unknown metadata value type ${id}`, HINT);
  return k;
}

function readScalar(c: FileCursor, kind: ScalarKind): number | bigint | boolean | string {
  switch (kind) {
    case "UINT8": return c.u8();
    case "INT8": return c.i8();
    case "UINT16": return c.u16();
    case "INT16": return c.i16();
    case "UINT32": return c.u32();
    case "INT32": return c.i32();
    case "FLOAT32": return c.f32();
    case "FLOAT64": return c.f64();
    case "BOOL": return c.u8() !== 0;
    case "STRING": return c.str();
    case "UINT64": return c.u64();
    case "INT64": return c.i64();
  }
}

/** Open a .gguf file and validate its header and tensor table; tensor data is read on request. */
export function openGguf(file: string): GgufFile {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (e) {
    throw new CheckpointError(`${file}: cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "check the path");
  }
  try {
    const size = fs.fstatSync(fd).size;
    const c = new FileCursor(fd, file, size);
    if (size < 24) throw new CheckpointError(`${file}: ${size} bytes is too short for a GGUF header`, HINT);
    if (c.u32() !== MAGIC) throw new CheckpointError(`${file}: not a GGUF file (no "GGUF" magic)`, "pass a .gguf file written by `smol export --format gguf` or llama.cpp's converter");
    const version = c.u32();
    if (version !== 2 && version !== 3) throw new CheckpointError(`${file}: GGUF version ${version} is not supported (2 or 3)`);
    const nTensors = c.count("tensor count");
    const nKv = c.count("metadata count");
    const metadata = new Map<string, GgufValue>();
    for (let i = 0; i < nKv; i++) {
      const key = c.str();
      const kind = kindOf(file, c.u32());
      if (kind === "ARRAY") {
        const itemType = kindOf(file, c.u32());
        if (itemType === "ARRAY") throw new CheckpointError(`${file}: key ${key}: nested arrays are not supported`);
        const n = c.count(`array length of ${key}`);
        const value: Array<number | bigint | boolean | string> = [];
        for (let j = 0; j < n; j++) value.push(readScalar(c, itemType));
        metadata.set(key, { type: "ARRAY", itemType, value });
      } else metadata.set(key, { type: kind, value: readScalar(c, kind) });
    }
    const alignV = metadata.get("general.alignment")?.value;
    const align = typeof alignV === "number" ? alignV : GGUF_DEFAULT_ALIGNMENT;
    if (!(align > 0) || (align & (align - 1)) !== 0) throw new CheckpointError(`${file}: general.alignment ${align} is not a power of two`, HINT);
    const tensors = new Map<string, GgufTensorInfo>();
    for (let i = 0; i < nTensors; i++) {
      const name = c.str();
      const nd = c.u32();
      if (nd < 1 || nd > 4) throw new CheckpointError(`${file}: tensor ${name} has ${nd} dimensions (1-4 allowed)`, HINT);
      const dims: number[] = [];
      for (let d = 0; d < nd; d++) dims.push(c.count(`dimension of ${name}`, 4 * size));
      const typeId = c.u32();
      const type = ggmlTypeName(typeId);
      if (!type) throw new CheckpointError(`${file}: tensor ${name} has ggml type ${typeId}, which SmolLab cannot read`, "SmolLab reads F32, F16, BF16, Q8_0 and Q4_0 tensors");
      const offset = c.count(`offset of ${name}`);
      if (offset % align !== 0) throw new CheckpointError(`${file}: tensor ${name} offset ${offset} is not aligned to ${align}`, HINT);
      if (tensors.has(name)) throw new CheckpointError(`${file}: tensor ${name} appears twice`, HINT);
      tensors.set(name, { name, dims, type, offset, bytes: ggmlBytes(type, dims.reduce((a, b) => a * b, 1)) });
    }
    const dataStart = Math.ceil(c.pos / align) * align;
    for (const t of tensors.values()) {
      if (dataStart + t.offset + t.bytes > size) throw new CheckpointError(`${file}: tensor ${t.name} runs past the end of the file (truncated?)`, HINT);
    }
    let open = true;
    return {
      path: file, version, metadata, tensors, dataStart,
      get: (key) => metadata.get(key)?.value,
      readTensorBytes(name) {
        const t = tensors.get(name);
        if (!t) throw new CheckpointError(`${file}: no tensor "${name}"`, HINT);
        if (!open) throw new CheckpointError(`${file}: read after close()`);
        const out = new Uint8Array(t.bytes);
        let off = 0;
        while (off < t.bytes) {
          const n = fs.readSync(fd, out, off, t.bytes - off, dataStart + t.offset + off);
          if (n === 0) throw new CheckpointError(`${file}: unexpected end of file reading ${name}`, HINT);
          off += n;
        }
        return out;
      },
      close() {
        if (open) fs.closeSync(fd);
        open = false;
      },
    };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Writing.

export interface GgufTensorToWrite {
  name: string;
  dims: number[];
  type: GgmlTypeName;
  /** Produces the encoded bytes when the writer reaches this tensor (bounded memory). */
  bytes: () => Uint8Array;
}

class ByteSink {
  private parts: Buffer[] = [];
  length = 0;
  push(b: Buffer) { this.parts.push(b); this.length += b.length; }
  u32(v: number) { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.push(b); }
  u64(v: number | bigint) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(b); }
  str(s: string) { const b = Buffer.from(s, "utf8"); this.u64(b.length); this.push(b); }
  scalar(kind: ScalarKind, v: number | bigint | boolean | string) {
    const b = Buffer.alloc(8);
    switch (kind) {
      case "UINT8": b.writeUInt8(v as number); return this.push(b.subarray(0, 1));
      case "INT8": b.writeInt8(v as number); return this.push(b.subarray(0, 1));
      case "UINT16": b.writeUInt16LE(v as number); return this.push(b.subarray(0, 2));
      case "INT16": b.writeInt16LE(v as number); return this.push(b.subarray(0, 2));
      case "UINT32": b.writeUInt32LE(v as number); return this.push(b.subarray(0, 4));
      case "INT32": b.writeInt32LE(v as number); return this.push(b.subarray(0, 4));
      case "FLOAT32": b.writeFloatLE(v as number); return this.push(b.subarray(0, 4));
      case "FLOAT64": b.writeDoubleLE(v as number); return this.push(b);
      case "BOOL": b.writeUInt8(v ? 1 : 0); return this.push(b.subarray(0, 1));
      case "UINT64": b.writeBigUInt64LE(BigInt(v as number)); return this.push(b);
      case "INT64": b.writeBigInt64LE(BigInt(v as number)); return this.push(b);
      case "STRING": return this.str(v as string);
    }
  }
  concat() { return Buffer.concat(this.parts); }
}

/** Write a GGUF v3 file atomically: metadata in the given order, tensors in the given order. */
export function writeGguf(file: string, metadata: ReadonlyArray<readonly [string, GgufValue]>, tensors: readonly GgufTensorToWrite[], alignment = GGUF_DEFAULT_ALIGNMENT): void {
  const head = new ByteSink();
  head.u32(MAGIC);
  head.u32(GGUF_VERSION);
  head.u64(tensors.length);
  const kv = alignment === GGUF_DEFAULT_ALIGNMENT ? metadata : [...metadata, ["general.alignment", gv.u32(alignment)] as const];
  head.u64(kv.length);
  for (const [key, v] of kv) {
    head.str(key);
    head.u32(T[v.type]);
    if (v.type === "ARRAY") {
      head.u32(T[v.itemType]);
      head.u64(v.value.length);
      for (const x of v.value) head.scalar(v.itemType, x);
    } else head.scalar(v.type, v.value);
  }
  let offset = 0;
  const pad = (n: number) => (alignment - (n % alignment)) % alignment;
  for (const t of tensors) {
    head.str(t.name);
    head.u32(t.dims.length);
    for (const d of t.dims) head.u64(d);
    head.u32(GGML_TYPE[t.type]);
    head.u64(offset);
    offset += ggmlBytes(t.type, t.dims.reduce((a, b) => a * b, 1));
    offset += pad(offset);
  }
  const zeros = new Uint8Array(alignment);
  withAtomicFile(file, (fd) => {
    writeAll(fd, head.concat());
    writeAll(fd, zeros.subarray(0, pad(head.length)));
    for (const t of tensors) {
      const bytes = t.bytes();
      const expect = ggmlBytes(t.type, t.dims.reduce((a, b) => a * b, 1));
      if (bytes.byteLength !== expect) throw new CheckpointError(`GGUF writer: tensor ${t.name} produced ${bytes.byteLength} bytes, expected ${expect}`);
      writeAll(fd, bytes);
      writeAll(fd, zeros.subarray(0, pad(bytes.byteLength)));
    }
  });
}
