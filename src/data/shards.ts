// Tokenized shard files and the per-source manifest/index that describe them, plus the reader
// with random access to a source split's tokens (windowed fs.readSync, or all in memory when
// small). Writing shards from documents (encoding, dedup, splits, resume) is tokenize.ts's job.
//
// Shard file, little-endian:  [0,8) magic "SMOLTOK1" | [8,12) u32 version = 1 | [12,16) u32 bytes per
// token (2 = uint16, 4 = uint32) | [16,24) u64 token count N | [24,32) u64 document count D |
// [32,64) tokenizer fingerprint, 32 ASCII hex chars | N tokens | (D+1) u32 document offsets into the
// shard's tokens (offsets[0] = 0, offsets[D] = N). Each document's span ends with the EOS id.
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { DataError } from "../errors.js";

export const SHARD_MAGIC = "SMOLTOK1";
export const SHARD_VERSION = 1;
export const HEADER_BYTES = 64;
/** Largest shard, in tokens (document offsets are u32). */
export const MAX_SHARD_TOKENS = 2 ** 31;

export type Split = "train" | "val";
export type TokenBytes = 2 | 4;

/** uint16 when every id fits (vocab ≤ 65,536), else uint32. */
export function tokenBytesFor(vocabSize: number): TokenBytes {
  return vocabSize <= 65536 ? 2 : 4;
}

/** 32 hex chars (128 bits) of the SHA-256 of the bytes given: the tokenizer fingerprint. */
export function fingerprintBytes(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 32);
}

/** Fingerprint of a tokenizer directory: the hash of its tokenizer.json. */
export function tokenizerFingerprint(dir: string): string {
  const f = path.join(dir, "tokenizer.json");
  if (!fs.existsSync(f)) throw new DataError(`no tokenizer.json in ${dir}`, "pass the directory a tokenizer was saved to (train one with `smol tokenizer train`)");
  return fingerprintBytes(fs.readFileSync(f));
}

export interface ShardHeader {
  version: number;
  tokenBytes: TokenBytes;
  numTokens: number;
  numDocs: number;
  fingerprint: string;
}

/** Bytes a shard with this header must have. */
export function shardFileBytes(h: Pick<ShardHeader, "tokenBytes" | "numTokens" | "numDocs">): number {
  return HEADER_BYTES + h.numTokens * h.tokenBytes + (h.numDocs + 1) * 4;
}

/** Serialise a shard: tokens (values must fit tokenBytes) and D+1 document offsets. */
export function encodeShard(tokens: ArrayLike<number>, docOffsets: ArrayLike<number>, tokenBytes: TokenBytes, fingerprint: string): Uint8Array {
  const n = tokens.length;
  const d = docOffsets.length - 1;
  if (d < 0 || docOffsets[0] !== 0 || docOffsets[d] !== n) throw new DataError(`shard document offsets must run from 0 to ${n}`);
  if (!/^[0-9a-f]{32}$/.test(fingerprint)) throw new DataError(`tokenizer fingerprint must be 32 hex chars, got "${fingerprint}"`);
  const buf = Buffer.alloc(shardFileBytes({ tokenBytes, numTokens: n, numDocs: d }));
  buf.write(SHARD_MAGIC, 0, "latin1");
  buf.writeUInt32LE(SHARD_VERSION, 8);
  buf.writeUInt32LE(tokenBytes, 12);
  buf.writeBigUInt64LE(BigInt(n), 16);
  buf.writeBigUInt64LE(BigInt(d), 24);
  buf.write(fingerprint, 32, "latin1");
  let o = HEADER_BYTES;
  if (tokenBytes === 2) {
    for (let i = 0; i < n; i++, o += 2) buf.writeUInt16LE(tokens[i], o);
  } else {
    for (let i = 0; i < n; i++, o += 4) buf.writeUInt32LE(tokens[i], o);
  }
  for (let i = 0; i <= d; i++, o += 4) buf.writeUInt32LE(docOffsets[i], o);
  return buf;
}

/** Parse and check a shard header; `fileBytes` (when given) must match what the header implies. */
export function parseShardHeader(head: Uint8Array, file: string, fileBytes?: number): ShardHeader {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length < HEADER_BYTES || b.toString("latin1", 0, 8) !== SHARD_MAGIC) {
    throw new DataError(`${file}: not a smol token shard (bad magic)`, "point at a directory written by `smol tokenize`");
  }
  const version = b.readUInt32LE(8);
  if (version !== SHARD_VERSION) throw new DataError(`${file}: shard version ${version} is not supported (this smol reads version ${SHARD_VERSION})`);
  const tb = b.readUInt32LE(12);
  if (tb !== 2 && tb !== 4) throw new DataError(`${file}: bad bytes-per-token ${tb} in header`);
  const h: ShardHeader = {
    version,
    tokenBytes: tb,
    numTokens: Number(b.readBigUInt64LE(16)),
    numDocs: Number(b.readBigUInt64LE(24)),
    fingerprint: b.toString("latin1", 32, 64),
  };
  if (fileBytes !== undefined && fileBytes !== shardFileBytes(h)) {
    throw new DataError(`${file}: shard is truncated or corrupt (${fileBytes} bytes, header implies ${shardFileBytes(h)})`, "rerun `smol tokenize` with the same options to rewrite it");
  }
  return h;
}

// ---- manifest and index ----------------------------------------------------------------------------

export interface ShardEntry {
  file: string;
  split: Split;
  tokens: number;
  docs: number;
}

/** The settings a source was tokenized with; a resume must use the same ones. */
export interface SourceSettings {
  paths: string[];
  format: string;
  textSplit: string;
  field?: string;
  template?: string;
  onBad: string;
  shardTokens: number;
  valFraction: number;
  minValDocs: number;
}

export interface ScanSummary {
  rawDocs: number;
  uniqueDocs: number;
  duplicates: number;
  empty: number;
  skipped: number;
  valDocs: number;
  /** Documents whose hash position u ∈ [0,1) is < this go to val. */
  valThreshold: number;
  textBytes: number;
}

/** `<out>/<source>/manifest.json`, rewritten atomically after every finished shard. */
export interface SourceManifest {
  format: "smol-shards";
  version: number;
  source: string;
  fingerprint: string;
  vocabSize: number;
  eosId: number;
  tokenBytes: TokenBytes;
  settings: SourceSettings;
  inputs: Array<{ path: string; bytes: number }>;
  scan: ScanSummary;
  shards: ShardEntry[];
  complete: boolean;
  problems: string[];
}

export interface SplitTotals {
  tokens: number;
  docs: number;
  shards: number;
}

/** One source in `<out>/index.json`. */
export interface IndexEntry {
  train: SplitTotals;
  val: SplitTotals;
  duplicates: number;
  empty: number;
  skipped: number;
  files: number;
  textBytes: number;
}

/** `<out>/index.json`: what a shard directory holds. */
export interface ShardIndex {
  format: "smol-shards";
  version: number;
  fingerprint: string;
  vocabSize: number;
  eosId: number;
  tokenBytes: TokenBytes;
  sources: Record<string, IndexEntry>;
}

export function splitTotals(m: SourceManifest, split: Split): SplitTotals {
  const s = m.shards.filter((e) => e.split === split);
  return { tokens: s.reduce((a, e) => a + e.tokens, 0), docs: s.reduce((a, e) => a + e.docs, 0), shards: s.length };
}

function readJson<T>(file: string, what: string): T {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new DataError(`no ${what} at ${file}`, "tokenize the data first with `smol tokenize ... --out DIR`");
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new DataError(`${file}: not valid JSON (${(e as Error).message})`, "rerun `smol tokenize` to rewrite it");
  }
}

export function readIndex(dir: string): ShardIndex {
  const idx = readJson<ShardIndex>(path.join(dir, "index.json"), "shard index (index.json)");
  if (idx.format !== "smol-shards" || typeof idx.sources !== "object") throw new DataError(`${path.join(dir, "index.json")}: not a smol shard index`);
  return idx;
}

export function readManifest(dir: string, source: string): SourceManifest {
  const file = path.join(dir, source, "manifest.json");
  const m = readJson<SourceManifest>(file, `manifest for source "${source}"`);
  if (m.format !== "smol-shards" || !Array.isArray(m.shards)) throw new DataError(`${file}: not a smol shard manifest`);
  return m;
}

// ---- reader ---------------------------------------------------------------------------------------

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function decodeLE(raw: Uint8Array, tb: TokenBytes): Uint16Array | Uint32Array {
  const b = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = raw.byteLength / tb;
  const out = tb === 2 ? new Uint16Array(n) : new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = tb === 2 ? b.readUInt16LE(2 * i) : b.readUInt32LE(4 * i);
  return out;
}

function readFully(fd: number, into: Uint8Array, pos: number, file: string): void {
  let got = 0;
  while (got < into.byteLength) {
    const n = fs.readSync(fd, into, got, into.byteLength - got, pos + got);
    if (n === 0) throw new DataError(`${file}: short read (file truncated or changed while open?)`, "rerun `smol tokenize` to rewrite it");
    got += n;
  }
}

/** Random access to a stream of token ids. */
export interface TokenStream {
  readonly name: string;
  readonly numTokens: number;
  /** Copy tokens [start, start+len) into `out` (allocated when absent) and return it. */
  read(start: number, len: number, out?: Int32Array): Int32Array;
}

interface OpenShard {
  file: string;
  start: number;
  numTokens: number;
  docOffsets: Uint32Array;
  fd: number | undefined;
  mem: Uint16Array | Uint32Array | undefined;
}

export interface OpenShardsOptions {
  /** Load the split into memory when its token bytes are at most this (default 256 MiB); else windowed reads. */
  inMemoryBelowBytes?: number;
}

/** The shards of one source split read as one token stream, with its document index. */
export class ShardSet implements TokenStream {
  readonly name: string;
  readonly numTokens: number;
  readonly numDocs: number;
  readonly tokenBytes: TokenBytes;
  readonly fingerprint: string;
  readonly eosId: number;
  readonly inMemory: boolean;
  private readonly shards: OpenShard[];
  private readonly docStarts: Float64Array;
  private scratch = new Uint8Array(0);

  constructor(readonly dir: string, readonly source: string, readonly split: Split, opts: OpenShardsOptions = {}) {
    const m = readManifest(dir, source);
    if (!m.complete) throw new DataError(`source "${source}" in ${dir} is not completely tokenized`, "rerun the same `smol tokenize` command to finish it");
    this.name = source;
    this.tokenBytes = m.tokenBytes;
    this.fingerprint = m.fingerprint;
    this.eosId = m.eosId;
    const entries = m.shards.filter((s) => s.split === split);
    const total = entries.reduce((a, e) => a + e.tokens, 0);
    this.inMemory = total * m.tokenBytes <= (opts.inMemoryBelowBytes ?? 256 * 2 ** 20);
    this.shards = [];
    let start = 0;
    let docs = 0;
    for (const e of entries) {
      const file = path.join(dir, source, e.file);
      let fd: number;
      try {
        fd = fs.openSync(file, "r");
      } catch {
        throw new DataError(`missing shard ${file}`, "rerun the same `smol tokenize` command to rewrite it");
      }
      const head = Buffer.alloc(HEADER_BYTES);
      fs.readSync(fd, head, 0, HEADER_BYTES, 0);
      const h = parseShardHeader(head, file, fs.fstatSync(fd).size);
      if (h.fingerprint !== m.fingerprint || h.numTokens !== e.tokens || h.numDocs !== e.docs || h.tokenBytes !== m.tokenBytes) {
        fs.closeSync(fd);
        throw new DataError(`${file}: header does not match ${source}/manifest.json`, "rerun `smol tokenize` with --force for this source");
      }
      const idx = Buffer.alloc((h.numDocs + 1) * 4);
      fs.readSync(fd, idx, 0, idx.length, HEADER_BYTES + h.numTokens * h.tokenBytes);
      const docOffsets = new Uint32Array(h.numDocs + 1);
      for (let i = 0; i <= h.numDocs; i++) docOffsets[i] = idx.readUInt32LE(i * 4);
      let mem: Uint16Array | Uint32Array | undefined;
      if (this.inMemory) {
        const raw = new Uint8Array(h.numTokens * h.tokenBytes);
        readFully(fd, raw, HEADER_BYTES, file);
        mem = LITTLE_ENDIAN ? (h.tokenBytes === 2 ? new Uint16Array(raw.buffer) : new Uint32Array(raw.buffer)) : decodeLE(raw, h.tokenBytes);
        fs.closeSync(fd);
      }
      this.shards.push({ file, start, numTokens: h.numTokens, docOffsets, fd: mem ? undefined : fd, mem });
      start += h.numTokens;
      docs += h.numDocs;
    }
    this.numTokens = start;
    this.numDocs = docs;
    // Documents are contiguous across shards, so one table of global starts (plus the end) indexes them.
    this.docStarts = new Float64Array(docs + 1);
    let d = 0;
    for (const s of this.shards) for (let i = 0; i + 1 < s.docOffsets.length; i++) this.docStarts[d++] = s.start + s.docOffsets[i];
    this.docStarts[docs] = start;
  }

  private shardAt(pos: number): number {
    let lo = 0;
    let hi = this.shards.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.shards[mid].start <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  read(start: number, len: number, out: Int32Array = new Int32Array(len)): Int32Array {
    if (!(start >= 0 && len >= 0 && start + len <= this.numTokens) || !Number.isInteger(start) || !Number.isInteger(len)) {
      throw new DataError(`${this.source}/${this.split}: read [${start}, ${start + len}) is outside [0, ${this.numTokens})`);
    }
    if (out.length < len) throw new DataError(`${this.source}/${this.split}: output buffer of ${out.length} for a read of ${len}`);
    let done = 0;
    let si = len > 0 ? this.shardAt(start) : 0;
    while (done < len) {
      const s = this.shards[si];
      const off = start + done - s.start;
      const n = Math.min(len - done, s.numTokens - off);
      if (s.mem) {
        out.set(s.mem.subarray(off, off + n), done);
      } else {
        const bytes = n * this.tokenBytes;
        if (this.scratch.length < bytes) this.scratch = new Uint8Array(Math.max(bytes, 1 << 16));
        const win = this.scratch.subarray(0, bytes);
        readFully(s.fd!, win, HEADER_BYTES + off * this.tokenBytes, s.file);
        const view = LITTLE_ENDIAN ? (this.tokenBytes === 2 ? new Uint16Array(win.buffer, 0, n) : new Uint32Array(win.buffer, 0, n)) : decodeLE(win, this.tokenBytes);
        out.set(view, done);
      }
      done += n;
      si++;
    }
    return out;
  }

  /** Token range [start, end) of document i (its last token is EOS). */
  docRange(i: number): [number, number] {
    if (!(Number.isInteger(i) && i >= 0 && i < this.numDocs)) throw new DataError(`${this.source}/${this.split}: no document ${i} (has ${this.numDocs})`);
    return [this.docStarts[i], this.docStarts[i + 1]];
  }

  /** The tokens of document i, EOS included. */
  doc(i: number): Int32Array {
    const [a, b] = this.docRange(i);
    return this.read(a, b - a);
  }

  close(): void {
    for (const s of this.shards) {
      if (s.fd !== undefined) fs.closeSync(s.fd);
      s.fd = undefined;
    }
  }
}

/** Open one split of one source of a shard directory written by `smol tokenize`. */
export function openShards(dir: string, source: string, split: Split, opts?: OpenShardsOptions): ShardSet {
  const idx = readIndex(dir);
  if (!(source in idx.sources)) {
    throw new DataError(`no source "${source}" in ${dir} (has: ${Object.keys(idx.sources).join(", ") || "none"})`, "check the source name, or tokenize it with `smol tokenize --source NAME=PATH`");
  }
  return new ShardSet(dir, source, split, opts);
}
