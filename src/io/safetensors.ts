// The safetensors format (8-byte LE header length, JSON header, one flat data buffer): a strict
// lazy reader that reads one tensor's bytes at a time, a unified view over a Hugging Face model
// directory (single file or shards + index), and a streaming atomic writer including HF sharding.
// Assumes a little-endian host (every platform Node runs on). Model naming is left to models/.
import * as fs from "node:fs";
import * as path from "node:path";
import { CheckpointError, ShapeError, fmtShape } from "../errors.js";
import { withAtomicFile, writeAll, writeFileAtomic } from "./atomic.js";
import { f32ToBf16Bits, f32ToF16Bits, halfToF32 } from "./dtypes.js";

/** Byte size of every safetensors dtype this reader accepts. */
export const DTYPE_BYTES = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  F64: 8, I64: 8, U64: 8,
} as const;
export type Dtype = keyof typeof DTYPE_BYTES;
/** The dtypes writeSafetensors produces. */
export type WriteDtype = "F32" | "F16" | "BF16" | "I32" | "I64" | "I8" | "U8";

/** One tensor's header entry; begin/end are byte offsets into the data buffer (after the header). */
export interface TensorInfo {
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  readonly path: string;
  /** Entries in header order. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Record<string, string> | undefined;
  /** Absolute file offset where the data buffer starts (8 + header length). */
  readonly dataStart: number;
  /** A float tensor (F32/F16/BF16/F64) as float32, read from disk now. */
  read(name: string): Float32Array;
  /** A tensor's bytes exactly as stored. */
  readRaw(name: string): Uint8Array;
  /** An integer/bool tensor: I64/U64 as BigInt64Array, the narrower ones widened to Int32Array. */
  readInt(name: string): Int32Array | BigInt64Array;
  close(): void;
}

const MAX_HEADER_BYTES = 100_000_000;
const HINT = "the file is corrupt, truncated or not safetensors; re-download or re-save it";

function fail(file: string, msg: string): never {
  throw new CheckpointError(`${file}: ${msg}`, HINT);
}

/** Keys of the top-level object of an already-valid JSON text, in order, duplicates kept. */
function topLevelKeys(s: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      while (s.charCodeAt(j) !== 0x22) j += s.charCodeAt(j) === 0x5c ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(s.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      expectKey = depth === 1;
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x2c && depth === 1) expectKey = true;
  }
  return keys;
}

const isUint = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const show = (v: unknown) => JSON.stringify(v) ?? String(v);

/** Validate a header against the data buffer size; returns entries in header order. */
function parseHeader(file: string, text: string, dataSize: number) {
  if (text.charCodeAt(0) !== 0x7b) fail(file, `header must be a JSON object starting with "{", got ${show(text.slice(0, 20))}`);
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    fail(file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) fail(file, "header is not a JSON object");
  const rec = obj as Record<string, unknown>;
  const seen = new Set<string>();
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> | undefined;
  for (const name of topLevelKeys(text)) {
    if (seen.has(name)) fail(file, `tensor "${name}" appears more than once in the header`);
    seen.add(name);
    const v = rec[name];
    if (name === "__metadata__") {
      if (typeof v !== "object" || v === null || Array.isArray(v)) fail(file, "__metadata__ must be an object of strings");
      for (const [k, x] of Object.entries(v)) {
        if (typeof x !== "string") fail(file, `__metadata__ key "${k}" must be a string, got ${show(x)}`);
      }
      metadata = v as Record<string, string>;
      continue;
    }
    const t = `tensor "${name}"`;
    if (typeof v !== "object" || v === null || Array.isArray(v)) fail(file, `${t} entry must be an object, got ${show(v)}`);
    const { dtype, shape, data_offsets: off } = v as Record<string, unknown>;
    if (typeof dtype !== "string" || !Object.hasOwn(DTYPE_BYTES, dtype)) {
      fail(file, `${t} has unknown dtype ${show(dtype)} (known: ${Object.keys(DTYPE_BYTES).join(", ")})`);
    }
    if (!Array.isArray(shape) || !shape.every(isUint)) {
      fail(file, `${t} shape must be an array of non-negative integers, got ${show(shape)}`);
    }
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isUint)) {
      fail(file, `${t} data_offsets must be [begin, end] non-negative integers, got ${show(off)}`);
    }
    const [begin, end] = off as number[];
    if (end < begin) fail(file, `${t} data_offsets [${begin},${end}] are out of order (end before begin)`);
    const elems = (shape as number[]).reduce((a, b) => a * b, 1);
    const need = elems * DTYPE_BYTES[dtype as Dtype];
    if (!Number.isSafeInteger(need)) fail(file, `${t} shape ${fmtShape(shape as number[])} is too large`);
    if (need !== end - begin) {
      fail(file, `${t} data_offsets [${begin},${end}] hold ${end - begin} bytes but ${dtype} ${fmtShape(shape as number[])} needs ${need}`);
    }
    if (end > dataSize) fail(file, `${t} data_offsets [${begin},${end}] run past the end of the data (${dataSize} bytes)`);
    tensors.set(name, { dtype: dtype as Dtype, shape: [...(shape as number[])], begin, end });
  }
  // The data buffer must be covered exactly: no overlaps, no gaps, nothing trailing.
  const sorted = [...tensors].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let pos = 0;
  let prev: [string, TensorInfo] | undefined;
  for (const cur of sorted) {
    const [name, e] = cur;
    if (e.begin < pos && prev) {
      fail(file, `tensors "${prev[0]}" [${prev[1].begin},${prev[1].end}] and "${name}" [${e.begin},${e.end}] overlap`);
    }
    if (e.begin > pos) {
      fail(file, `data bytes [${pos},${e.begin}) belong to no tensor (gap before "${name}"); the data must be fully covered`);
    }
    pos = e.end;
    prev = cur;
  }
  if (pos !== dataSize) fail(file, `data bytes [${pos},${dataSize}) at the end of the file belong to no tensor`);
  return { tensors, metadata };
}

function readAt(file: string, fd: number, out: Uint8Array, position: number): void {
  let off = 0;
  while (off < out.byteLength) {
    const n = fs.readSync(fd, out, off, out.byteLength - off, position + off);
    if (n === 0) fail(file, `unexpected end of file at byte ${position + off} (was it truncated while open?)`);
    off += n;
  }
}

/** Open a .safetensors file and validate its header; tensor data is read only on request. */
export function openSafetensors(file: string): SafetensorsFile {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (e) {
    throw new CheckpointError(`${file}: cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "check the path");
  }
  try {
    return new Reader(file, fd);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

class Reader implements SafetensorsFile {
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Record<string, string> | undefined;
  readonly dataStart: number;
  private fd: number | undefined;

  constructor(readonly path: string, fd: number) {
    this.fd = fd;
    const size = fs.fstatSync(fd).size;
    if (size < 8) fail(path, `file is ${size} bytes, too short for a safetensors header (needs at least 8)`);
    const lenBuf = new Uint8Array(8);
    readAt(path, fd, lenBuf, 0);
    const len = Number(new DataView(lenBuf.buffer).getBigUint64(0, true));
    if (len > MAX_HEADER_BYTES) fail(path, `header length ${len} bytes exceeds the ${MAX_HEADER_BYTES / 1e6} MB limit`);
    if (8 + len > size) fail(path, `header length ${len} runs past the end of the file (${size} bytes)`);
    const hdr = new Uint8Array(len);
    readAt(path, fd, hdr, 8);
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(hdr);
    } catch {
      fail(path, "header is not valid UTF-8");
    }
    const { tensors, metadata } = parseHeader(path, text, size - 8 - len);
    this.tensors = tensors;
    this.metadata = metadata;
    this.dataStart = 8 + len;
  }

  private entry(name: string): TensorInfo {
    const e = this.tensors.get(name);
    if (!e) fail(this.path, `no tensor "${name}" (the file holds ${this.tensors.size} tensors)`);
    return e;
  }

  private bytes(e: TensorInfo, align: number): Uint8Array {
    if (this.fd === undefined) fail(this.path, "read after close()");
    const buf = new ArrayBuffer(Math.ceil((e.end - e.begin) / align) * align);
    const out = new Uint8Array(buf, 0, e.end - e.begin);
    readAt(this.path, this.fd, out, this.dataStart + e.begin);
    return out;
  }

  readRaw(name: string): Uint8Array {
    return this.bytes(this.entry(name), 1);
  }

  read(name: string): Float32Array {
    const e = this.entry(name);
    const n = (e.end - e.begin) / DTYPE_BYTES[e.dtype];
    switch (e.dtype) {
      case "F32":
        return new Float32Array(this.bytes(e, 4).buffer, 0, n);
      case "F16":
      case "BF16":
        return halfToF32(new Uint16Array(this.bytes(e, 2).buffer, 0, n), e.dtype);
      case "F64":
        return Float32Array.from(new Float64Array(this.bytes(e, 8).buffer, 0, n));
      default:
        throw new CheckpointError(`${this.path}: tensor "${name}" is ${e.dtype}, not a float dtype`, "use readInt() for integer tensors");
    }
  }

  readInt(name: string): Int32Array | BigInt64Array {
    const e = this.entry(name);
    const n = (e.end - e.begin) / DTYPE_BYTES[e.dtype];
    const b = (k: number) => this.bytes(e, k).buffer;
    switch (e.dtype) {
      case "I64":
        return new BigInt64Array(b(8), 0, n);
      case "U64": {
        const v = new BigInt64Array(b(8), 0, n);
        if (v.some((x) => x < 0n)) fail(this.path, `tensor "${name}" (U64) holds values above 2^63-1`);
        return v;
      }
      case "I32":
        return new Int32Array(b(4), 0, n);
      case "U32": {
        const u = new Uint32Array(b(4), 0, n);
        if (u.some((x) => x > 0x7fffffff)) fail(this.path, `tensor "${name}" (U32) holds values above 2^31-1`);
        return new Int32Array(u.buffer, 0, n);
      }
      case "I16":
        return Int32Array.from(new Int16Array(b(2), 0, n));
      case "U16":
        return Int32Array.from(new Uint16Array(b(2), 0, n));
      case "I8":
        return Int32Array.from(new Int8Array(b(1), 0, n));
      case "U8":
      case "BOOL":
        return Int32Array.from(new Uint8Array(b(1), 0, n));
      default:
        throw new CheckpointError(`${this.path}: tensor "${name}" is ${e.dtype}, not an integer dtype`, "use read() for float tensors");
    }
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Hugging Face model directories: model.safetensors, or shards + model.safetensors.index.json.

export const SINGLE_FILE = "model.safetensors";
export const INDEX_FILE = "model.safetensors.index.json";
const SHARD_RE = /^model-\d{5}-of-\d{5}\.safetensors$/;

export interface Checkpoint {
  readonly dir: string;
  /** The files opened, in order (one, or the shards). */
  readonly files: string[];
  /** The single file's __metadata__, or the index's "metadata" object. */
  readonly metadata: Record<string, unknown> | undefined;
  names(): string[];
  has(name: string): boolean;
  shape(name: string): number[];
  dtype(name: string): Dtype;
  read(name: string): Float32Array;
  readRaw(name: string): Uint8Array;
  readInt(name: string): Int32Array | BigInt64Array;
  close(): void;
}

function readIndex(file: string): { weightMap: Map<string, string>; metadata: Record<string, unknown> | undefined } {
  let obj: unknown;
  try {
    obj = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    fail(file, `not valid JSON (${(e as Error).message})`);
  }
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObj(obj)) fail(file, "must be a JSON object");
  if (!isObj(obj.weight_map)) fail(file, `"weight_map" must be an object of tensor name → shard file`);
  if (obj.metadata !== undefined && !isObj(obj.metadata)) fail(file, `"metadata" must be an object`);
  const weightMap = new Map<string, string>();
  for (const [name, shard] of Object.entries(obj.weight_map)) {
    if (typeof shard !== "string" || shard === "" || shard !== path.basename(shard) || shard === "..") {
      fail(file, `weight_map["${name}"] must be a file name in the same directory, got ${show(shard)}`);
    }
    weightMap.set(name, shard);
  }
  return { weightMap, metadata: obj.metadata as Record<string, unknown> | undefined };
}

/** Open a model directory (prefers model.safetensors over an index, as transformers does). */
export function openCheckpoint(dir: string): Checkpoint {
  const single = path.join(dir, SINGLE_FILE);
  const indexPath = path.join(dir, INDEX_FILE);
  const owner = new Map<string, SafetensorsFile>();
  const opened: SafetensorsFile[] = [];
  let metadata: Record<string, unknown> | undefined;
  try {
    if (fs.existsSync(single)) {
      const f = openSafetensors(single);
      opened.push(f);
      for (const name of f.tensors.keys()) owner.set(name, f);
      metadata = f.metadata;
    } else if (fs.existsSync(indexPath)) {
      const idx = readIndex(indexPath);
      metadata = idx.metadata;
      const shards = new Map<string, SafetensorsFile>();
      for (const shard of new Set(idx.weightMap.values())) {
        const p = path.join(dir, shard);
        if (!fs.existsSync(p)) fail(indexPath, `shard "${shard}" named in the weight_map does not exist`);
        const f = openSafetensors(p);
        opened.push(f);
        shards.set(shard, f);
      }
      for (const [name, shard] of idx.weightMap) {
        const f = shards.get(shard) as SafetensorsFile;
        if (!f.tensors.has(name)) fail(indexPath, `tensor "${name}" is mapped to "${shard}" but that shard does not hold it`);
        owner.set(name, f);
      }
    } else {
      throw new CheckpointError(
        `${dir}: no ${SINGLE_FILE} or ${INDEX_FILE}`,
        "point at a Hugging Face model directory (config.json + safetensors weights)",
      );
    }
  } catch (e) {
    for (const f of opened) f.close();
    throw e;
  }
  const get = (name: string): SafetensorsFile => {
    const f = owner.get(name);
    if (!f) throw new CheckpointError(`${dir}: no tensor "${name}" in the checkpoint (${owner.size} tensors)`, HINT);
    return f;
  };
  return {
    dir,
    files: opened.map((f) => f.path),
    metadata,
    names: () => [...owner.keys()],
    has: (name) => owner.has(name),
    shape: (name) => [...(get(name).tensors.get(name) as TensorInfo).shape],
    dtype: (name) => (get(name).tensors.get(name) as TensorInfo).dtype,
    read: (name) => get(name).read(name),
    readRaw: (name) => get(name).readRaw(name),
    readInt: (name) => get(name).readInt(name),
    close: () => opened.forEach((f) => f.close()),
  };
}

// ---------------------------------------------------------------------------------------------
// Writing.

export interface TensorToWrite {
  name: string;
  dtype: WriteDtype;
  shape: readonly number[];
  /**
   * F32: Float32Array | Float64Array. F16/BF16: Float32Array | Float64Array (rounded to nearest
   * even; float64 goes through float32 first) or Uint16Array of ready 16-bit patterns.
   * I32: Int32Array. I64: BigInt64Array | Int32Array. I8: Int8Array. U8: Uint8Array.
   */
  data: Float32Array | Float64Array | Uint16Array | Int32Array | BigInt64Array | Int8Array | Uint8Array;
}

const CHUNK = 1 << 20; // elements converted per write, bounding extra memory to a few MiB

function checkTensor(where: string, t: TensorToWrite): number {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (!t.shape.every(isUint)) throw new ShapeError(`${where}: tensor "${t.name}" shape ${fmtShape(t.shape)} must be non-negative integers`);
  if (n !== t.data.length) {
    throw new ShapeError(`${where}: tensor "${t.name}" shape ${fmtShape(t.shape)} needs ${n} values, data has ${t.data.length}`);
  }
  const d = t.data;
  const ok =
    t.dtype === "F32" ? d instanceof Float32Array || d instanceof Float64Array
    : t.dtype === "F16" || t.dtype === "BF16" ? d instanceof Float32Array || d instanceof Float64Array || d instanceof Uint16Array
    : t.dtype === "I32" ? d instanceof Int32Array
    : t.dtype === "I64" ? d instanceof BigInt64Array || d instanceof Int32Array
    : t.dtype === "I8" ? d instanceof Int8Array
    : t.dtype === "U8" ? d instanceof Uint8Array
    : false;
  if (!ok) throw new ShapeError(`${where}: tensor "${t.name}" cannot be written as ${String(t.dtype)} from a ${d.constructor.name}`);
  return n * DTYPE_BYTES[t.dtype];
}

const asBytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function writeTensorData(fd: number, t: TensorToWrite): void {
  const d = t.data;
  const direct =
    (t.dtype === "F32" && d instanceof Float32Array) || t.dtype === "I32" ||
    (t.dtype === "I64" && d instanceof BigInt64Array) || d instanceof Uint16Array || t.dtype === "I8" || t.dtype === "U8";
  if (direct) {
    writeAll(fd, asBytes(d));
    return;
  }
  for (let s = 0; s < d.length; s += CHUNK) {
    const m = Math.min(CHUNK, d.length - s);
    if (t.dtype === "I64") {
      const src = d as Int32Array;
      const out = new BigInt64Array(m);
      for (let i = 0; i < m; i++) out[i] = BigInt(src[s + i]);
      writeAll(fd, asBytes(out));
    } else if (t.dtype === "F32") {
      writeAll(fd, asBytes(Float32Array.from((d as Float64Array).subarray(s, s + m))));
    } else {
      const src = d as Float32Array | Float64Array;
      const conv = t.dtype === "BF16" ? f32ToBf16Bits : f32ToF16Bits;
      const out = new Uint16Array(m);
      for (let i = 0; i < m; i++) out[i] = conv(src[s + i]);
      writeAll(fd, asBytes(out));
    }
  }
}

/**
 * Write tensors (in the given order, contiguous) to a .safetensors file atomically, streaming one
 * tensor at a time. Pass metadata {format: "pt"} for files that transformers will load.
 */
export function writeSafetensors(file: string, tensors: readonly TensorToWrite[], metadata?: Record<string, string>): void {
  const where = `writeSafetensors(${file})`;
  const header = Object.create(null) as Record<string, unknown>; // a tensor may be named "__proto__"
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new CheckpointError(`${where}: metadata "${k}" must be a string`);
    }
    header.__metadata__ = metadata;
  }
  let off = 0;
  for (const t of tensors) {
    if (t.name === "__metadata__" || Object.hasOwn(header, t.name)) {
      throw new CheckpointError(`${where}: tensor name "${t.name}" is ${t.name === "__metadata__" ? "reserved" : "duplicated"}`);
    }
    const size = checkTensor(where, t);
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [off, off + size] };
    off += size;
  }
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const padded = Math.ceil(json.length / 8) * 8;
  const head = Buffer.alloc(8 + padded, 0x20);
  head.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(head, 8);
  withAtomicFile(file, (fd) => {
    writeAll(fd, head);
    for (const t of tensors) writeTensorData(fd, t);
  });
}

export interface ShardOptions {
  /** Largest shard's tensor bytes before a new shard starts (HF default "5GB" = 5e9). */
  maxShardBytes?: number;
  /** Extra __metadata__ for every file; {format: "pt"} is always set, as transformers expects. */
  metadata?: Record<string, string>;
}

/**
 * Write weights as Hugging Face does: one `model.safetensors` when everything fits in one shard,
 * else `model-0000k-of-0000n.safetensors` + `model.safetensors.index.json` (sorted keys, total_size
 * = tensor bytes). Tensors are packed in order; a new shard starts when the next tensor would push
 * the current one past maxShardBytes; a tensor larger than the limit gets a shard of its own,
 * numbered before the shard being filled (huggingface_hub's split_state_dict_into_shards rule).
 * Weight files left from an earlier save in the other layout are removed afterwards. Each file
 * is atomic; for an atomic directory, write into makeTempDirBeside() and use replaceDirAtomic().
 */
export function writeShardedCheckpoint(
  dir: string,
  tensors: readonly TensorToWrite[],
  opts: ShardOptions = {},
): { files: string[]; totalSize: number } {
  const max = opts.maxShardBytes ?? 5e9;
  if (!(max > 0)) throw new CheckpointError(`writeShardedCheckpoint: maxShardBytes must be positive, got ${max}`);
  const metadata = { ...opts.metadata, format: "pt" };
  const groups: TensorToWrite[][] = [];
  let cur: TensorToWrite[] = [];
  let curBytes = 0;
  let total = 0;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (seen.has(t.name)) throw new CheckpointError(`writeShardedCheckpoint(${dir}): tensor name "${t.name}" is duplicated`);
    seen.add(t.name);
    const size = checkTensor("writeShardedCheckpoint", t);
    total += size;
    if (size > max) {
      groups.push([t]); // its own shard, numbered before the one being filled (as huggingface_hub does)
      continue;
    }
    if (cur.length > 0 && curBytes + size > max) {
      groups.push(cur);
      cur = [];
      curBytes = 0;
    }
    cur.push(t);
    curBytes += size;
  }
  if (cur.length > 0 || groups.length === 0) groups.push(cur);
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const n = groups.length;
  if (n === 1) {
    writeSafetensors(path.join(dir, SINGLE_FILE), groups[0], metadata);
    files.push(SINGLE_FILE);
  } else {
    const weightMap = new Map<string, string>();
    groups.forEach((g, i) => {
      const name = `model-${String(i + 1).padStart(5, "0")}-of-${String(n).padStart(5, "0")}.safetensors`;
      writeSafetensors(path.join(dir, name), g, metadata);
      files.push(name);
      for (const t of g) weightMap.set(t.name, name);
    });
    const sorted = Object.create(null) as Record<string, string>;
    for (const k of [...weightMap.keys()].sort()) sorted[k] = weightMap.get(k) as string;
    const index = { metadata: { total_size: total }, weight_map: sorted };
    writeFileAtomic(path.join(dir, INDEX_FILE), JSON.stringify(index, null, 2) + "\n");
    files.push(INDEX_FILE);
  }
  for (const f of fs.readdirSync(dir)) {
    const stale = (f === SINGLE_FILE || f === INDEX_FILE || SHARD_RE.test(f)) && !files.includes(f);
    if (stale) fs.rmSync(path.join(dir, f), { force: true });
  }
  return { files, totalSize: total };
}
