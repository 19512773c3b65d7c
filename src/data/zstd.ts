// Streaming Zstandard decoding with the frame checks fzstd leaves out. fzstd decodes blocks but
// skips each frame's content checksum; this file walks the frame structure of RFC 8878 over the
// compressed bytes (frame header, block headers, checksum, skippable frames), gives every frame
// its own fzstd decoder, and checks what comes out against the frame's declared content size and
// its checksum (the low 32 bits of XXH64, seed 0, computed with xxhash-wasm). Errors are
// DataErrors naming the file; fileChunks (jsonl.ts) reads ".zst" files through zstdDecode.
import { Decompress } from "fzstd";
import xxhash from "xxhash-wasm";
import { DataError } from "../errors.js";

interface Hasher {
  update(input: Uint8Array): unknown;
  digest(): bigint;
}
interface HashApi {
  create64(seed?: bigint): Hasher;
}
let hashApi: Promise<HashApi> | undefined;

const ZSTD_MAGIC = 0xfd2fb528;
const HINT = "the file is corrupt or truncated; re-download or recompress it (`zstd -t FILE` tests it)";

const u32 = (h: readonly number[], i = 0) => (h[i] | (h[i + 1] << 8) | (h[i + 2] << 16) | (h[i + 3] << 24)) >>> 0;
const hex = (x: number) => "0x" + x.toString(16).padStart(8, "0");

interface Frame {
  dec: Decompress;
  hasher?: Hasher;
  contentSize?: bigint;
  produced: number;
  index: number;
  offset: number;
}

/** A push parser over the compressed bytes: write() chunks, then end(); output lands in `out`. */
class ZstdReader {
  readonly out: Buffer[] = [];
  private state: "magic" | "fhd" | "header" | "skipSize" | "skip" | "block" | "body" | "checksum" = "magic";
  private need = 4;
  private hdr: number[] = [];
  private left = 0;
  private lastBlock = false;
  private hasChecksum = false;
  private frame: Frame | undefined;
  private frames = 0;
  private offset = 0;

  constructor(private readonly file: string, private readonly api: HashApi) {}

  private fail(msg: string): never {
    throw new DataError(`${this.file}: ${msg}`, HINT);
  }

  private push(bytes: Uint8Array, final = false): void {
    const f = this.frame!;
    try {
      f.dec.push(bytes, final);
    } catch (e) {
      this.fail(`zstd frame ${f.index} (at byte ${f.offset}) does not decode: ${(e as Error).message}`);
    }
  }

  write(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.state === "body" || this.state === "skip") {
        const n = Math.min(this.left, chunk.length - pos);
        if (this.state === "body") this.push(chunk.subarray(pos, pos + n));
        pos += n;
        this.left -= n;
        if (this.left === 0) this.state === "body" ? this.afterBody() : this.expect("magic", 4);
        continue;
      }
      const take = Math.min(this.need - this.hdr.length, chunk.length - pos);
      for (let i = 0; i < take; i++) this.hdr.push(chunk[pos + i]);
      pos += take;
      if (this.hdr.length === this.need) this.header(this.offset + pos - this.hdr.length);
    }
    this.offset += chunk.length;
  }

  end(): void {
    if (this.state !== "magic" || this.hdr.length > 0) this.fail(`truncated: the file ends inside zstd frame ${this.frame?.index ?? this.frames + 1}`);
  }

  private expect(state: ZstdReader["state"], need: number): void {
    this.state = state;
    this.need = need;
  }

  /** A complete header piece is in `hdr`; `at` is its first byte's offset in the file. */
  private header(at: number): void {
    const h = this.hdr;
    switch (this.state) {
      case "magic": {
        const magic = u32(h);
        if (magic === ZSTD_MAGIC) return this.expect("fhd", 5); // keep the magic: the decoder gets the whole header
        this.hdr = [];
        if ((magic & 0xfffffff0) === 0x184d2a50) return this.expect("skipSize", 4);
        return this.fail(this.frames === 0 ? "not zstd data (bad magic number)" : `bad zstd magic number at byte ${at} after ${this.frames} frame(s)`);
      }
      case "fhd": {
        const fhd = h[4];
        if (fhd & 0x08) this.fail(`zstd frame ${this.frames + 1}: reserved header bit is set`);
        const single = (fhd >> 5) & 1, fcsFlag = fhd >> 6;
        this.hasChecksum = ((fhd >> 2) & 1) === 1;
        const rest = (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3] + (fcsFlag === 0 ? single : 1 << fcsFlag);
        this.expect("header", 5 + rest);
        if (rest === 0) this.header(at);
        return;
      }
      case "header": {
        this.startFrame(h, at);
        this.push(Uint8Array.from(h));
        this.hdr = [];
        return this.expect("block", 3);
      }
      case "skipSize":
        this.hdr = [];
        this.left = u32(h);
        return this.left > 0 ? this.expect("skip", 0) : this.expect("magic", 4);
      case "block": {
        const b = h[0] | (h[1] << 8) | (h[2] << 16);
        const type = (b >> 1) & 3;
        if (type === 3) this.fail(`zstd frame ${this.frame!.index}: reserved block type at byte ${at}`);
        this.lastBlock = (b & 1) === 1;
        this.push(Uint8Array.from(h));
        this.hdr = [];
        this.left = type === 1 ? 1 : b >>> 3;
        this.expect("body", 0);
        if (this.left === 0) this.afterBody();
        return;
      }
      case "checksum":
        this.push(Uint8Array.from(h));
        this.hdr = [];
        return this.endFrame(u32(h));
      default:
        return;
    }
  }

  private startFrame(h: readonly number[], at: number): void {
    const fhd = h[4];
    const single = (fhd >> 5) & 1, fcsFlag = fhd >> 6;
    const dictBytes = [0, 1, 2, 4][fhd & 3];
    const fcsBytes = fcsFlag === 0 ? single : 1 << fcsFlag;
    let p = 5 + (single ? 0 : 1);
    let dict = 0;
    for (let i = 0; i < dictBytes; i++) dict += h[p++] * 2 ** (8 * i);
    if (dict !== 0) this.fail(`zstd frame ${this.frames + 1} needs dictionary ${dict}; dictionaries are not supported`);
    let fcs: bigint | undefined;
    if (fcsBytes > 0) {
      fcs = 0n;
      for (let i = 0; i < fcsBytes; i++) fcs |= BigInt(h[p++]) << BigInt(8 * i);
      if (fcsBytes === 2) fcs += 256n;
    }
    const f: Frame = {
      dec: undefined as unknown as Decompress, hasher: this.hasChecksum ? this.api.create64(0n) : undefined,
      contentSize: fcs, produced: 0, index: ++this.frames, offset: at,
    };
    f.dec = new Decompress((data) => {
      if (!data.length) return;
      f.hasher?.update(data);
      f.produced += data.length;
      this.out.push(Buffer.from(data)); // copy: fzstd may reuse its window
    });
    this.frame = f;
  }

  private afterBody(): void {
    if (!this.lastBlock) this.expect("block", 3);
    else if (this.hasChecksum) this.expect("checksum", 4);
    else this.endFrame(undefined);
  }

  private endFrame(stored: number | undefined): void {
    const f = this.frame!;
    this.push(new Uint8Array(0), true);
    if (f.contentSize !== undefined && BigInt(f.produced) !== f.contentSize) {
      this.fail(`zstd frame ${f.index} decodes to ${f.produced} bytes but its header says ${f.contentSize}`);
    }
    if (f.hasher && stored !== undefined) {
      const got = Number(f.hasher.digest() & 0xffffffffn);
      if (got !== stored) this.fail(`zstd frame ${f.index} (at byte ${f.offset}) fails its content checksum (stored ${hex(stored)}, computed ${hex(got)})`);
    }
    this.frame = undefined;
    this.expect("magic", 4);
  }
}

/**
 * Decode a .zst byte stream frame by frame, yielding decompressed chunks (copies, safe to keep).
 * Throws DataError(`${file}: …`) for a bad magic number, a reserved bit or block type, a frame that
 * does not decode, a truncated file, a content size that differs from the header's, or a failed
 * content checksum. Frames written without a checksum (`zstd --no-check`) are decoded unchecked.
 */
export async function* zstdDecode(input: AsyncIterable<Uint8Array>, file: string): AsyncGenerator<Buffer> {
  const api = await (hashApi ??= xxhash() as Promise<HashApi>);
  const r = new ZstdReader(file, api);
  for await (const chunk of input) {
    r.write(chunk);
    while (r.out.length) yield r.out.shift()!;
  }
  r.end();
  while (r.out.length) yield r.out.shift()!;
}
